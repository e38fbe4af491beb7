"""Bad manifests, disallowed files and malicious archives are refused and install nothing."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path
from typing import Any

import pytest

from swampd.errors import InvalidInput, SwampdError, TooLarge
from swampd.extensions.settings import ExtensionSettings
from swampd.extensions.store import ExtensionStore

from .helpers import NAME, VERSION, make_archive, make_extension, manifest_bytes, member, model_source, raw_archive


def assert_nothing_installed(store: ExtensionStore) -> None:
    assert store.entries() == []
    root = Path(store.root)
    leftovers = [p for p in root.rglob("*") if p.is_file() and p.suffix != ".lock"] if root.exists() else []
    assert leftovers == []
    assert not (root / "staging").exists() or os.listdir(root / "staging") == []


GOOD: dict[str, Any] = {"manifestVersion": 1, "name": NAME, "version": VERSION, "models": ["server.ts"]}

BAD_MANIFESTS = [
    ({k: v for k, v in GOOD.items() if k != "manifestVersion"}, "manifestVersion must be 1"),
    ({**GOOD, "manifestVersion": 2}, "manifestVersion must be 1"),
    ({k: v for k, v in GOOD.items() if k != "name"}, "name is required"),
    ({k: v for k, v in GOOD.items() if k != "version"}, "version is required"),
    ({**GOOD, "name": "acme/tools"}, "@collective/name"),
    ({**GOOD, "name": "@acme/../tools"}, "@collective/name"),
    ({**GOOD, "version": "1.2.3"}, "not CalVer"),
    ({**GOOD, "version": "2026.1.15.1"}, "not CalVer"),
    ({**GOOD, "version": "2026.02.30.1"}, "real date"),
    ({**GOOD, "version": 2026.0115}, "must be a string"),
    ({k: v for k, v in GOOD.items() if k != "models"}, "at least one of"),
    ({**GOOD, "models": []}, "at least one of"),
    ({**GOOD, "models": ["/etc/passwd.ts"]}, "must be relative"),
    ({**GOOD, "models": ["../../outside.ts"]}, "must point downward"),
    ({**GOOD, "additionalFiles": ["files/../../x.txt"]}, "must point downward"),
    ({**GOOD, "models": ["missing.ts"]}, "not in the extension"),
    ({**GOOD, "paths": {"base": "elsewhere"}}, "paths.base"),
    ({**GOOD, "releaseNotes": "x" * 5001}, "longer than 5000"),
    ({**GOOD, "labels": "not-a-list"}, "labels must be a list"),
]


@pytest.mark.parametrize(("manifest", "message"), BAD_MANIFESTS, ids=[m for _, m in BAD_MANIFESTS])
def test_bad_manifest_is_refused(tmp_path: Path, store: ExtensionStore, manifest: dict, message: str) -> None:
    src = make_extension(tmp_path / "src", manifest=manifest)
    with pytest.raises(InvalidInput, match=message):
        store.install(str(src))
    assert_nothing_installed(store)


def test_unparseable_and_missing_manifest(tmp_path: Path, store: ExtensionStore) -> None:
    src = make_extension(tmp_path / "src")
    (src / "manifest.yaml").write_text("name: [unclosed\n")
    with pytest.raises(InvalidInput, match="not valid UTF-8 YAML"):
        store.install(str(src))
    (src / "manifest.yaml").unlink()
    with pytest.raises(InvalidInput, match="no manifest.yaml"):
        store.install(str(src))
    assert_nothing_installed(store)


def test_types_outside_the_collective_are_refused(tmp_path: Path, store: ExtensionStore) -> None:
    src = make_extension(tmp_path / "src", models={"server.ts": model_source("@other/server")})
    with pytest.raises(InvalidInput, match="outside the extension's collective @acme"):
        store.install(str(src))
    assert_nothing_installed(store)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"models/.hidden.ts": "x"}, "hidden file"),
        ({".git/config.txt": "x"}, "hidden file"),
        ({"models/run.sh": "rm -rf /"}, "file type not allowed"),
        ({"files/tool.py": "x"}, "file type not allowed"),
        ({"models/bundle.js": "x"}, "file type not allowed"),
    ],
)
def test_disallowed_files_are_refused(tmp_path: Path, store: ExtensionStore, extra: dict, message: str) -> None:
    src = make_extension(tmp_path / "src", extra=extra)
    with pytest.raises(InvalidInput, match=message):
        store.install(str(src))
    with pytest.raises(InvalidInput, match=message):
        store.install(str(make_archive(src, tmp_path / "x.tar.gz")))
    assert_nothing_installed(store)


def test_compiled_bundles_are_allowed(tmp_path: Path, store: ExtensionStore) -> None:
    src = make_extension(tmp_path / "src", extra={"bundles/server.js": 'export const model = {type: "@acme/server"};'})
    assert store.install(str(src))["files"] == 3


def test_symlink_in_directory_is_refused(tmp_path: Path, store: ExtensionStore) -> None:
    src = make_extension(tmp_path / "src")
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path / "secret.txt", src / "models" / "link.ts")
    with pytest.raises(InvalidInput, match="symlinks are not allowed"):
        store.install(str(src))
    assert_nothing_installed(store)


def _archive_with(tmp_path: Path, *extra: tuple[tarfile.TarInfo, bytes | None]) -> Path:
    return raw_archive(tmp_path / "evil.tar.gz", [
        (member("extension/manifest.yaml"), manifest_bytes()),
        (member("extension/models/server.ts"), model_source().encode()),
        *extra,
    ])


MALICIOUS = [
    ("traversal", (member("extension/../../escaped.ts"), b"x"), InvalidInput, "path traversal"),
    ("traversal-deep", (member("extension/models/../../../escaped.ts"), b"x"), InvalidInput, "path traversal"),
    ("absolute", (member("/tmp/escaped.ts"), b"x"), InvalidInput, "unsafe path"),
    ("outside-root", (member("other/escaped.ts"), b"x"), InvalidInput, "outside extension/"),
    ("symlink", (member("extension/models/link.ts", tarfile.SYMTYPE, "/etc/passwd"), None), InvalidInput, "links"),
    ("hardlink", (member("extension/models/hl.ts", tarfile.LNKTYPE, "/etc/passwd"), None), InvalidInput, "links"),
    ("fifo", (member("extension/models/pipe.ts", tarfile.FIFOTYPE), None), InvalidInput, "special file"),
    ("device", (member("extension/models/dev.ts", tarfile.CHRTYPE), None), InvalidInput, "special file"),
    ("duplicate", (member("extension/models/server.ts"), b"second copy"), InvalidInput, "duplicate path"),
    ("hidden", (member("extension/.env.txt"), b"x"), InvalidInput, "hidden file"),
]


@pytest.mark.parametrize(("extra", "error", "message"), [m[1:] for m in MALICIOUS], ids=[m[0] for m in MALICIOUS])
def test_malicious_archive_is_refused(
    tmp_path: Path, store: ExtensionStore, extra: tuple, error: type[SwampdError], message: str
) -> None:
    archive = _archive_with(tmp_path, extra)
    with pytest.raises(error, match=message):
        store.install(str(archive))
    assert_nothing_installed(store)
    assert not (tmp_path / "escaped.ts").exists()
    assert not Path("/tmp/escaped.ts").exists()


def small_store(root: Path, **limits: int) -> ExtensionStore:
    return ExtensionStore(str(root), ExtensionSettings(**limits))


def test_oversize_file_total_and_count_are_refused(tmp_path: Path) -> None:
    store = small_store(tmp_path / "store", max_file_bytes=4096, max_total_bytes=8192, max_files=5)
    big = _archive_with(tmp_path, (member("extension/files/big.txt"), b"x" * 5000))
    with pytest.raises(TooLarge, match="larger than 4096 bytes"):
        store.install(str(big))
    total = _archive_with(tmp_path, *[(member(f"extension/files/{i}.txt"), b"x" * 3000) for i in range(3)])
    with pytest.raises(TooLarge, match="in total"):
        store.install(str(total))
    many = _archive_with(tmp_path, *[(member(f"extension/files/{i}.txt"), b"x") for i in range(4)])
    with pytest.raises(TooLarge, match="more than 5 files"):
        store.install(str(many))
    src = make_extension(tmp_path / "src", extra={f"files/{i}.txt": "x" for i in range(4)})
    with pytest.raises(TooLarge, match="more than 5 files"):
        store.install(str(src))
    assert_nothing_installed(store)


def test_decompression_bomb_is_capped(tmp_path: Path) -> None:
    store = small_store(tmp_path / "store", max_file_bytes=64 * 1024, max_total_bytes=128 * 1024)
    bomb = _archive_with(tmp_path, (member("extension/files/zeros.txt"), b"\0" * (20 * 1024 * 1024)))
    assert bomb.stat().st_size < 1024 * 1024  # compresses tiny; the uncompressed size is what counts
    with pytest.raises(TooLarge):
        store.install(str(bomb))
    assert_nothing_installed(store)


def test_oversize_archive_and_garbage_are_refused(tmp_path: Path) -> None:
    store = small_store(tmp_path / "store", max_archive_bytes=1024)
    noise = tmp_path / "noise.tar.gz"
    noise.write_bytes(os.urandom(4096))
    with pytest.raises(TooLarge, match="archive is larger than 1024 bytes"):
        store.install(str(noise))
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"this is not gzip")
    with pytest.raises(InvalidInput, match="not a valid gzip-compressed tar"):
        store.install(str(garbage))
    truncated = tmp_path / "truncated.tar.gz"
    full = make_archive(make_extension(tmp_path / "src"), tmp_path / "full.tar.gz").read_bytes()
    truncated.write_bytes(full[: len(full) // 2])
    with pytest.raises(InvalidInput, match="not a valid gzip-compressed tar"):
        small_store(tmp_path / "store2").install(str(truncated))
    assert_nothing_installed(store)
