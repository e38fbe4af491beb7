"""swampd's side of `@swamp/s3-datastore`'s index on a real S3 endpoint (moto server): publishing
(v1 monolith + shards, v2 shards + commitSeq, no index), recovery of an unpublished version, the
index watcher as a change signal, and swamp's global lock.

The format cases are the extension's own test vectors (`s3_cache_sync_test.ts`); the end-to-end
exchange with the real swamp is tests/interop/test_remote_s3.py.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from swampd.storage import s3_index
from swampd.storage.layout import DataRef, build_metadata, dump_metadata
from swampd.storage.s3_watch import IndexWatcher

from .conftest import Events, RepoFactory, make_service, put_while_held

MODEL = "3c0ffee0-1111-4222-8333-444455556666"


@pytest.mark.parametrize(("rel", "key"), [
    ("data/aws/ec2/vpc/abc-123/state-main/1/raw", "data--aws--ec2--vpc--abc-123"),
    ("outputs/mytype/mymodel/out1/1/raw", "outputs--mytype--mymodel"),
    ("definitions-evaluated/t/m/d/1/raw", "definitions-evaluated--t--m"),
    ("workflow-runs/wf-1/run/data", "workflow-runs--wf-1"),
    ("workflows-evaluated/workflow-063a0cb1.yaml", "workflows-evaluated"),
    ("workflows-evaluated/wf-2/file", "workflows-evaluated"),
    (".catalog-export.json", "_root"),
    ("", None),
    ("audit/some/file", "audit"),
    ("files/some/file", "files"),
    ("unknown/dir/file", None),
    ("data/a/b", None),
    # a data name's `latest` is one segment shorter than its version files: a coarser shard
    (f"data/command/shell/{MODEL}/result/latest", "data--command--shell"),
    (f"data/command/shell/{MODEL}/result/3/metadata.yaml", f"data--command--shell--{MODEL}"),
])
def test_partition_keys_are_the_extensions(rel: str, key: str | None) -> None:
    assert s3_index.partition_key(rel) == key


@pytest.mark.parametrize(("rel", "internal"), [
    (".datastore-sync-state.json", True), ("data/@m/.lock", True), (".datastore.lock", True),
    ("data/@m/.locked.yaml", False), ("data/@m/lock", False), (".namespace.json", True),
    ("infra/.namespace.json", True), ("namespace.json", False), ("_index/_meta.json", True),
    ("_index", True), ("data/_index/something", False), ("_control/heartbeats/inst-1", True),
    ("data/control-panel/file.yaml", False), ("data/x/_catalog.db-wal", True),
])
def test_internal_files_are_the_extensions(rel: str, internal: bool) -> None:
    assert s3_index.is_internal(rel) is internal


def _bucket_of(repo: Path) -> str:
    return str(yaml.safe_load((repo / ".swamp.yaml").read_text())["datastore"]["config"]["bucket"])


def _json(moto: Any, bucket: str, key: str) -> Any:
    return json.loads(moto.client().get_object(Bucket=bucket, Key=f"team/x/{key}")["Body"].read())


def _put_json(moto: Any, bucket: str, key: str, value: Any) -> None:
    moto.client().put_object(Bucket=bucket, Key=f"team/x/{key}", Body=s3_index.dumps(value))


@pytest.mark.s3
@pytest.mark.anyio
async def test_publish_to_each_index_format(repos_factory: RepoFactory, moto_up: Any, workdir: Path,
                                            events: Events) -> None:
    """No index: objects only. v1: monolith merged (other entries kept), touched shards rewritten
    with every entry of their partition, v1 meta. v2: touched shards merged, commitSeq + 1."""
    repos = {v: repos_factory.make("s3") for v in ("none", "v1", "v2")}
    other = f"data/t/{MODEL}/other/1/raw"
    _put_json(moto_up, _bucket_of(repos["v1"]), ".datastore-index.json",
              {"version": 1, "lastPulled": "", "entries": {other: s3_index.entry(other, 5)}})
    _put_json(moto_up, _bucket_of(repos["v2"]), "_index/_meta.json",
              {"version": 2, "partitions": [f"data--t--{MODEL}"], "commitSeq": 7})
    _put_json(moto_up, _bucket_of(repos["v2"]), f"_index/data--t--{MODEL}.json",
              {"version": 1, "entries": {other: s3_index.entry(other, 5)}})
    svc = make_service(workdir, events)
    try:
        for repo in repos.values():
            await svc.put(str(repo), "t", MODEL, "x", b"hello", content_type="text/plain")
    finally:
        svc.close()
    names = [f"data/t/{MODEL}/x/1/metadata.yaml", f"data/t/{MODEL}/x/1/raw", f"data/t/{MODEL}/x/latest"]

    none = moto_up.client().list_objects_v2(Bucket=_bucket_of(repos["none"]))["Contents"]
    assert sorted(o["Key"] for o in none) == sorted(f"team/x/{n}" for n in names)

    bucket = _bucket_of(repos["v1"])
    monolith = _json(moto_up, bucket, ".datastore-index.json")
    assert set(monolith["entries"]) == {other, *names}
    raw = monolith["entries"][names[1]]
    assert raw == {"key": names[1], "size": 5, "lastModified": raw["lastModified"],
                   "sha256": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}
    assert set(_json(moto_up, bucket, f"_index/data--t--{MODEL}.json")["entries"]) == {other, *names[:2]}
    assert set(_json(moto_up, bucket, "_index/data--t--3c0ffee0-1111-4222-8333-444455556666--x.json")
               ["entries"]) == {names[2]}  # a one-segment type's latest: its own shard
    assert _json(moto_up, bucket, "_index/_meta.json")["version"] == 1

    bucket = _bucket_of(repos["v2"])
    meta = _json(moto_up, bucket, "_index/_meta.json")
    assert meta == {"version": 2, "partitions": sorted([f"data--t--{MODEL}", f"data--t--{MODEL}--x"]),
                    "commitSeq": 8}
    assert set(_json(moto_up, bucket, f"_index/data--t--{MODEL}.json")["entries"]) == {other, *names[:2]}


@pytest.mark.s3
@pytest.mark.anyio
async def test_a_version_written_but_never_published_is_published_by_the_next_write(
        repos_factory: RepoFactory, moto_up: Any, workdir: Path, events: Events) -> None:
    """A daemon killed between the objects and the index publish leaves a version swamp cannot
    see; the next write to that data name finds it in its listing and publishes it too."""
    repo = repos_factory.make("s3")
    bucket = _bucket_of(repo)
    _put_json(moto_up, bucket, ".datastore-index.json", {"version": 1, "lastPulled": "", "entries": {}})
    svc = make_service(workdir, events)
    try:
        store = (await svc.handle(str(repo))).store
        ref = DataRef.of("t", MODEL, "x")
        for version in (1, 2):  # what a killed write left behind; version 2 only got its claim
            store.put(ref.metadata(version), dump_metadata(build_metadata(ref, version, b"orphan")))
        store.put(ref.raw(1), b"orphan")
        await svc.put(str(repo), "t", MODEL, "x", b"next")
    finally:
        svc.close()
    entries = _json(moto_up, bucket, ".datastore-index.json")["entries"]
    assert entries[f"data/t/{MODEL}/x/1/raw"]["size"] == 6
    assert f"data/t/{MODEL}/x/1/metadata.yaml" in entries
    assert f"data/t/{MODEL}/x/2/metadata.yaml" not in entries  # an incomplete version stays unpublished
    assert f"data/t/{MODEL}/x/3/raw" in entries


@pytest.mark.s3
@pytest.mark.anyio
async def test_index_watcher_reports_what_another_writer_changed(repos_factory: RepoFactory, moto_up: Any,
                                                                 workdir: Path, events: Events) -> None:
    repo = repos_factory.make("s3")
    bucket = _bucket_of(repo)
    _put_json(moto_up, bucket, "_index/_meta.json", {"version": 2, "partitions": [], "commitSeq": 1})
    writer = make_service(workdir, events, sub="w")
    try:
        await writer.put(str(repo), "t", MODEL, "x", b"one")
        store = (await writer.handle(str(repo))).store
        heard: list[str] = []
        other_daemon = type(store)(store.config, store.namespace)
        reader = IndexWatcher(other_daemon, heard.append, 1.0, lambda: 0.0)
        reader.poll()
        assert heard == ["*"] and reader.live  # the first look
        heard.clear()
        reader.poll()
        assert heard == []  # unchanged: one 304
        await writer.put(str(repo), "t", MODEL, "x", b"two")
        reader.poll()
        assert heard == [f"data/t/{MODEL}/x/2/metadata.yaml", f"data/t/{MODEL}/x/2/raw", f"data/t/{MODEL}/x/latest"]
        heard.clear()
        # swamp deletes version 1 (objects and index entries, as its push does)
        shard = f"_index/data--t--{MODEL}.json"
        doc = _json(moto_up, bucket, shard)
        for name in ("metadata.yaml", "raw"):
            doc["entries"].pop(f"data/t/{MODEL}/x/1/{name}")
        _put_json(moto_up, bucket, shard, doc)
        meta = _json(moto_up, bucket, "_index/_meta.json")
        _put_json(moto_up, bucket, "_index/_meta.json", {**meta, "commitSeq": meta["commitSeq"] + 1})
        reader.poll()
        assert heard == [f"data/t/{MODEL}/x/1/metadata.yaml", f"data/t/{MODEL}/x/1/raw"]
        other_daemon.close()
    finally:
        writer.close()


@pytest.mark.s3
@pytest.mark.anyio
async def test_writes_wait_for_swamps_global_lock(repos_factory: RepoFactory, moto_up: Any, workdir: Path,
                                                  events: Events) -> None:
    """A structural swamp command holds `.datastore.lock` (swamp's LockInfo, a live process):
    swampd's write waits until it is released, as swamp's own model-scoped commands do."""
    repo = repos_factory.make("s3")
    bucket = _bucket_of(repo)
    svc = make_service(workdir, events)
    await svc.put(str(repo), "t", MODEL, "x", b"first")
    info = {"holder": "ci@host", "hostname": os.uname().nodename, "pid": os.getpid(),
            "acquiredAt": "2100-01-01T00:00:00.000Z", "ttlMs": 30000, "nonce": str(uuid.uuid4())}
    moto_up.client().put_object(Bucket=bucket, Key="team/x/.datastore.lock", Body=json.dumps(info, indent=2))
    released = threading.Event()

    def release_later() -> None:
        released.wait(30)
        moto_up.client().delete_object(Bucket=bucket, Key="team/x/.datastore.lock")

    threading.Thread(target=release_later, daemon=True).start()
    try:
        seen, version = await put_while_held(
            svc, str(repo), MODEL, lambda: moto_up.client().list_objects_v2(Bucket=bucket, Prefix="team/x/data/")
            .get("KeyCount"), released.set)
        assert seen == (3, [])  # nothing written while swamp holds the lock
        assert version == 2
    finally:
        released.set()
        svc.close()
