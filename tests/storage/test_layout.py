"""swamp's on-disk layout (reference §2.4), byte for byte, in both directions."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from swampd.errors import InvalidInput, NotFound
from swampd.storage.layout import normalize_type
from swampd.storage.resolve import resolve_datastore

from .conftest import write_marker

pytestmark = pytest.mark.anyio
MODEL = "3f0c2a8e-aaaa-4bbb-8ccc-ddddeeeeffff"

METADATA_V1 = """id: "0b6f5a0e-1c1d-4a55-9b7e-111111111111"
name: "result"
version: 1
contentType: "application/json"
lifetime: "infinite"
garbageCollection: 10
streaming: false
tags:
  type: "resource"
  modelName: "hello"
  specName: "result"
ownerDefinition:
  ownerType: "model-method"
  ownerRef: "command/shell:run"
createdAt: "2026-08-22T10:00:00.000Z"
size: 27
checksum: "{checksum}"
"""


def _write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def _metadata(raw: bytes, *, name: str = "result", version: int = 1) -> str:
    """METADATA_V1 for `raw` as swamp's save writes it: its size and sha256 checksum."""
    import hashlib

    return (METADATA_V1.replace('"result"', f'"{name}"').replace("version: 1", f"version: {version}")
            .replace("size: 27", f"size: {len(raw)}").format(checksum=hashlib.sha256(raw).hexdigest()))


def build_swamp_repo(repo: Path) -> Path:
    """A repo as swamp writes it, from the spec (not by swampd)."""
    repo.mkdir(parents=True, exist_ok=True)
    write_marker(repo, None)
    _write(repo / "models" / "command" / "shell" / "hello.yaml", f'id: "{MODEL}"\nname: "hello"\n')
    name_dir = repo / ".swamp" / "data" / "command" / "shell" / MODEL / "result"
    for version, raw in ((1, b'{"stdout":"hi","exitCode":0}'), (2, b'{"stdout":"yo","exitCode":0}')):
        _write(name_dir / str(version) / "raw", raw)
        _write(name_dir / str(version) / "metadata.yaml", _metadata(raw, version=version))
    _write(name_dir / "latest", "2")
    _write(name_dir / "1" / ".0b6f5a0e-2222.tmp", b"partial")  # a writer's temp file: ignored
    _write(repo / ".swamp" / "data" / "command" / "shell" / MODEL / ".lock", '{"holder":"u@h"}')
    _write(repo / ".swamp" / "data" / "_catalog.db", b"SQLite format 3\0")
    # legacy symlink latest -> "1/"
    legacy = name_dir.parent / "legacy"
    _write(legacy / "1" / "raw", b"old")
    _write(legacy / "1" / "metadata.yaml", _metadata(b"old", name="legacy"))
    os.symlink("1/", legacy / "latest")
    # no latest at all: highest numeric version dir that has metadata.yaml
    nolatest = name_dir.parent / "nolatest"
    for version in (1, 3):
        _write(nolatest / str(version) / "raw", f"n{version}")
        _write(nolatest / str(version) / "metadata.yaml", _metadata(f"n{version}".encode()))
    (nolatest / "7").mkdir()  # a claimed dir without metadata.yaml is not a version
    # a rename tombstone: old name -> new name
    old = name_dir.parent / "oldname"
    _write(old / "1" / "raw", b'{"renamedTo":"result"}')
    tombstone = _metadata(b'{"renamedTo":"result"}') + 'lifecycle: "deleted"\nrenamedTo: "result"\n'
    _write(old / "1" / "metadata.yaml", tombstone)
    _write(old / "latest", "1")
    return repo


async def test_reads_a_repo_swamp_wrote(workdir: Path, service: Any) -> None:
    repo = build_swamp_repo(workdir / "swamp-repo")
    path = str(repo)
    got = await service.get(path, "command/shell", "hello", "result")  # model by name
    assert (got["model_id"], got["version"], got["content"]) == (MODEL, 2, '{"stdout":"yo","exitCode":0}')
    assert got["metadata"]["createdAt"] == "2026-08-22T10:00:00.000Z"
    assert got["metadata"]["ownerDefinition"]["ownerRef"] == "command/shell:run"
    pinned_one = await service.get(path, "command/shell", MODEL, "result", version=1)
    assert pinned_one["content"] == '{"stdout":"hi","exitCode":0}'
    assert (await service.get(path, "command/shell", MODEL, "legacy"))["content"] == "old"
    assert (await service.get(path, "command/shell", MODEL, "nolatest"))["version"] == 3
    assert (await service.versions(path, "command/shell", MODEL, "nolatest"))["versions"] == [1, 3]
    renamed = await service.get(path, "command/shell", MODEL, "oldname")
    assert (renamed["name"], renamed["version"]) == ("result", 2)
    pinned = await service.get(path, "command/shell", MODEL, "oldname", version=1)
    assert pinned["name"] == "oldname"  # pinned lookups do not follow renames
    listing = await service.list(path, "command/shell", MODEL)
    # swamp's findAllForModel: a renamed name resolves to its new name and is listed once, under it
    assert [d["name"] for d in listing["data"]] == ["legacy", "nolatest", "result"]
    assert (await service.versions(path, "command/shell", MODEL, "result"))["versions"] == [1, 2]


async def test_what_swampd_writes_matches_the_layout(workdir: Path, service: Any) -> None:
    repo = workdir / "r"
    repo.mkdir()
    write_marker(repo, None)
    content = b'{"stdout":"hi","exitCode":0}'
    put = await service.put(str(repo), "AWS::EC2::VPC", MODEL, "result", content,
                            content_type="application/json", tags={"modelName": "hello"})
    await service.put(str(repo), "AWS::EC2::VPC", MODEL, "result", b"second", content_type="text/plain")
    name_dir = repo / ".swamp" / "data" / "aws" / "ec2" / "vpc" / MODEL / "result"
    assert (name_dir / "1" / "raw").read_bytes() == content
    assert (name_dir / "latest").read_bytes() == b"2"
    assert not (name_dir / "latest").is_symlink()
    assert sorted(p.name for p in name_dir.iterdir()) == ["1", "2", "latest"]
    assert sorted(p.name for p in (name_dir / "1").iterdir()) == ["metadata.yaml", "raw"]  # no temp files
    assert not (name_dir.parent / ".lock").exists()  # the per-model lock is released
    text = (name_dir / "1" / "metadata.yaml").read_text()
    meta = yaml.load(text, Loader=yaml.BaseLoader)
    assert list(meta)[:8] == ["id", "name", "version", "contentType", "lifetime", "garbageCollection",
                              "streaming", "tags"]
    assert meta["name"] == "result" and meta["version"] == "1" and meta["streaming"] == "false"
    assert meta["tags"] == {"type": "resource", "modelName": "hello"}
    # the model's own owner, as swamp's method runs write it: the model can still write this name
    assert meta["ownerDefinition"] == {"ownerType": "model-method", "ownerRef": MODEL}
    assert meta["size"] == str(len(content)) and meta["checksum"] == put["checksum"]
    assert meta["createdAt"].endswith("Z") and len(meta["createdAt"]) == 24
    assert 'name: "result"' in text  # strings double-quoted as swamp writes them
    mode = (name_dir / "1" / "raw").stat().st_mode & 0o777
    assert mode == 0o644


def test_type_normalisation() -> None:
    assert normalize_type("AWS::EC2::VPC") == "aws/ec2/vpc"
    assert normalize_type("@org/foo") == "@org/foo"
    assert normalize_type("  a.b  c//d/ ") == "a/b/c/d"


def test_datastore_resolution_order(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    assert resolve_datastore(str(repo), env={}).path == str(repo / ".swamp")
    write_marker(repo, {"type": "filesystem", "path": "$STORE/ds", "namespace": "giga"})
    spec = resolve_datastore(str(repo), env={"STORE": "/srv"})
    assert (spec.path, spec.namespace, spec.source) == ("/srv/ds", "giga", "yaml")
    with pytest.raises(InvalidInput):
        resolve_datastore(str(repo), env={})  # unset $VAR is an error
    env_spec = resolve_datastore(str(repo), "filesystem:rel/dir", env={})
    assert (env_spec.path, env_spec.source) == (str(repo / "rel" / "dir"), "env")
    s3 = resolve_datastore(str(repo), "s3:bucket/some/prefix", env={})
    assert (s3.type, s3.config) == ("@swamp/s3-datastore", {"bucket": "bucket", "prefix": "some/prefix"})
    ext = resolve_datastore(str(repo), '@swamp/s3-datastore:{"bucket":"b","region":"eu-west-1"}', env={})
    assert ext.config == {"bucket": "b", "region": "eu-west-1"}
    with pytest.raises(InvalidInput):
        resolve_datastore(str(repo), "no-colon", env={})
    write_marker(repo, {"type": "s3", "bucket": "legacy", "prefix": "p"})
    legacy = resolve_datastore(str(repo), env={})
    assert (legacy.type, legacy.config) == ("@swamp/s3-datastore", {"bucket": "legacy", "prefix": "p"})


async def test_namespaced_filesystem_layout(workdir: Path, service: Any) -> None:
    repo = workdir / "ns"
    repo.mkdir()
    write_marker(repo, {"type": "filesystem", "path": "store", "namespace": "team-a"})
    await service.put(str(repo), "t", MODEL, "x", b"1")
    assert (repo / "store" / "team-a" / "data" / "t" / MODEL / "x" / "latest").read_bytes() == b"1"
    with pytest.raises(NotFound):
        await service.get(str(repo), "t", MODEL, "y")
