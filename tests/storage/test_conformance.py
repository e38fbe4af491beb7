"""One behaviour suite, run against every datastore backend (filesystem, S3, PostgreSQL)."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import anyio
import pytest

from swampd.errors import InvalidParams, LockTimeout, NotFound
from swampd.storage.layout import DataRef, dump_metadata
from swampd.storage.locks import StoreLock

from .conftest import Events, RepoFactory, make_service

pytestmark = pytest.mark.anyio
MODEL = "3f0c2a8e-1111-4222-8333-444455556666"


async def test_round_trip_text_and_binary(backend: str, repos_factory: RepoFactory, service: Any) -> None:
    repo = str(repos_factory.make(backend))
    put = await service.put(repo, "command/shell", MODEL, "result", b'{"stdout":"hi","exitCode":0}',
                            content_type="application/json", tags={"modelName": "hello"})
    assert put["version"] == 1
    assert put["checksum"] == hashlib.sha256(b'{"stdout":"hi","exitCode":0}').hexdigest()
    got = await service.get(repo, "command/shell", MODEL, "result")
    assert (got["version"], got["encoding"], got["content"]) == (1, "text", '{"stdout":"hi","exitCode":0}')
    assert got["metadata"]["tags"] == {"type": "resource", "modelName": "hello"}
    assert got["metadata"]["size"] == 28

    blob = bytes(range(256)) * 4
    await service.put(repo, "command/shell", MODEL, "bin", blob)
    got = await service.get(repo, "command/shell", MODEL, "bin")
    assert got["encoding"] == "base64"
    assert base64.b64decode(got["content"]) == blob


async def test_read_back_from_a_fresh_daemon(backend: str, repos_factory: RepoFactory, workdir: Path,
                                             events: Events) -> None:
    """What one service instance wrote, another (empty hot tier) reads from the backend."""
    repo = str(repos_factory.make(backend))
    first = make_service(workdir, events, sub="one")
    try:
        await first.put(repo, "AWS::EC2::VPC", MODEL, "state", b"v1", content_type="text/plain")
        await first.put(repo, "AWS::EC2::VPC", MODEL, "state", b"v2", content_type="text/plain")
    finally:
        first.close()
    second = make_service(workdir, events, sub="two")
    try:
        got = await second.get(repo, "aws/ec2/vpc", MODEL, "state")
        assert (got["version"], got["content"], got["cached"]) == (2, "v2", False)
        again = await second.get(repo, "aws/ec2/vpc", MODEL, "state")
        assert again["cached"] is True
        pinned = await second.get(repo, "aws/ec2/vpc", MODEL, "state", version=1)
        assert pinned["content"] == "v1"
    finally:
        second.close()


async def test_versions_latest_and_listing(backend: str, repos_factory: RepoFactory, service: Any) -> None:
    repo = str(repos_factory.make(backend))
    await service.put(repo, "t", MODEL, "a", b"first", content_type="text/plain")
    assert (await service.versions(repo, "t", MODEL, "a"))["versions"] == [1]  # cached listing...
    assert (await service.list(repo, "t", MODEL))["data"] == [{"name": "a", "latest": 1}]
    for i in range(2):  # ...is invalidated by this service's own writes
        await service.put(repo, "t", MODEL, "a", f"a{i}".encode(), content_type="text/plain")
    await service.put(repo, "t", MODEL, "b", b"b0", content_type="text/plain")
    assert (await service.versions(repo, "t", MODEL, "a"))["versions"] == [1, 2, 3]
    assert (await service.get(repo, "t", MODEL, "a"))["content"] == "a1"
    listing = await service.list(repo, "t", MODEL)
    assert listing["data"] == [{"name": "a", "latest": 3}, {"name": "b", "latest": 1}]
    models = await service.list(repo, "t")
    assert models["models"] == [MODEL]


async def test_missing_data_and_bad_names(backend: str, repos_factory: RepoFactory, service: Any) -> None:
    repo = str(repos_factory.make(backend))
    with pytest.raises(NotFound):
        await service.get(repo, "t", MODEL, "nothing")
    await service.put(repo, "t", MODEL, "x", b"1")
    with pytest.raises(NotFound):
        await service.get(repo, "t", MODEL, "x", version=9)
    for bad in ("latest", "LATEST", "a/b", "..", "a\\b"):
        with pytest.raises(InvalidParams):
            await service.put(repo, "t", MODEL, bad, b"1")


async def test_namespaces_are_isolated(backend: str, repos_factory: RepoFactory, service: Any) -> None:
    one = str(repos_factory.make(backend, namespace="team-one"))
    two = str(repos_factory.make(backend, namespace="team-two"))
    await service.put(one, "t", MODEL, "x", b"from one", content_type="text/plain")
    with pytest.raises(NotFound):
        await service.get(two, "t", MODEL, "x")
    await service.put(two, "t", MODEL, "x", b"from two", content_type="text/plain")
    assert (await service.get(one, "t", MODEL, "x"))["content"] == "from one"
    assert (await service.get(two, "t", MODEL, "x"))["content"] == "from two"


async def test_concurrent_writers_get_distinct_versions(backend: str, repos_factory: RepoFactory,
                                                        workdir: Path, events: Events) -> None:
    """Two independent services (two daemons) writing one data name: every version distinct."""
    repo = str(repos_factory.make(backend))
    services = [make_service(workdir, events, sub=f"w{i}") for i in range(2)]
    results: list[int] = []

    async def writer(svc: Any, n: int) -> None:
        for i in range(6):
            put = await svc.put(repo, "t", MODEL, "shared", f"{n}-{i}".encode())
            results.append(put["version"])

    try:
        async with anyio.create_task_group() as tg:
            for n, svc in enumerate(services):
                for k in range(2):
                    tg.start_soon(writer, svc, n * 10 + k)
        assert sorted(results) == list(range(1, 25))
        versions = (await services[0].versions(repo, "t", MODEL, "shared"))["versions"]
        assert versions == list(range(1, 25))
    finally:
        for svc in services:
            svc.close()


async def test_latest_change_seen_within_staleness(backend: str, repos_factory: RepoFactory, workdir: Path,
                                                   events: Events) -> None:
    """A reader with staleness 0 sees another writer's new `latest` on its next read."""
    repo = str(repos_factory.make(backend))
    # signal_staleness 0 too: postgres readers then ask the database every time (NOTIFY-only
    # invalidation is covered in test_postgres.py)
    reader = make_service(workdir, events, sub="r", staleness=0.0, signal_staleness=0.0)
    writer = make_service(workdir, events, sub="w")
    try:
        await writer.put(repo, "t", MODEL, "x", b"1")
        assert (await reader.get(repo, "t", MODEL, "x"))["version"] == 1
        await writer.put(repo, "t", MODEL, "x", b"2")
        assert (await reader.get(repo, "t", MODEL, "x"))["version"] == 2
        assert (await reader.versions(repo, "t", MODEL, "x"))["versions"] == [1, 2]
    finally:
        reader.close()
        writer.close()


async def test_deleted_recreated_and_renamed_seen_within_staleness(backend: str, repos_factory: RepoFactory,
                                                                    workdir: Path, events: Events) -> None:
    """What swamp's `data delete --version`/`gc` and `data rename` leave in the store, seen by a reader whose
    hot tier holds the old versions (staleness 0: the next read asks the backend)."""
    repo = str(repos_factory.make(backend))
    reader = make_service(workdir, events, sub="r", staleness=0.0, signal_staleness=0.0)
    writer = make_service(workdir, events, sub="w")
    try:
        for text in (b"one", b"two"):
            await writer.put(repo, "t", MODEL, "x", text, content_type="text/plain")
        assert (await reader.get(repo, "t", MODEL, "x", version=2))["content"] == "two"
        assert (await reader.get(repo, "t", MODEL, "x"))["cached"] is True
        store = writer.repos.get(repo).store
        ref = DataRef.of("t", MODEL, "x")
        for path in (ref.raw(2), ref.metadata(2)):  # swamp removes the version dir, then moves `latest`
            store.delete(path)
        getattr(store, "remove_dir", lambda path: None)(ref.version_dir(2))  # filesystem: the dir too
        store.put(ref.latest, b"1")
        with pytest.raises(NotFound):
            await reader.get(repo, "t", MODEL, "x", version=2)
        assert (await reader.get(repo, "t", MODEL, "x"))["content"] == "one"
        await writer.put(repo, "t", MODEL, "x", b"a new two", content_type="text/plain")  # number 2 again
        assert (await reader.get(repo, "t", MODEL, "x", version=2))["content"] == "a new two"
        # a rename: the new name saved, then a tombstone version on the old name and `latest` at it
        await writer.put(repo, "t", MODEL, "y", b"a new two", content_type="text/plain")
        tomb = {**(await reader.get(repo, "t", MODEL, "x"))["metadata"], "version": 3, "lifecycle": "deleted",
                "renamedTo": "y"}
        store.claim_version(ref.version_dir(3), dump_metadata(tomb))
        store.put(ref.raw(3), b'{"renamedTo":"y"}')
        store.put(ref.latest, b"3")
        assert (await reader.list(repo, "t", MODEL))["data"] == [{"name": "y", "latest": 1}]
        followed = await reader.get(repo, "t", MODEL, "x")
        assert (followed["name"], followed["content"]) == ("y", "a new two")
    finally:
        reader.close()
        writer.close()


# -- the lock behaviours of reference §6 that apply to a store-backed lock --------------------


def _store(backend: str, repos_factory: RepoFactory, service: Any) -> Any:
    return service.repos.get(str(repos_factory.make(backend))).store


def _lock(store: Any, max_wait_ms: int) -> Any:
    """The store's own swamp lock: a LockInfo file/object (filesystem, S3), a `{schema}.locks` row (PostgreSQL)."""
    return store.model_lock(DataRef.of("t", MODEL, "x").model_dir, max_wait_ms=max_wait_ms)


async def test_lock_conformance(backend: str, repos_factory: RepoFactory, service: Any) -> None:
    lock = _lock(_store(backend, repos_factory, service), max_wait_ms=100)

    def scenario() -> None:
        assert lock.inspect() is None
        lock.acquire()
        info = lock.inspect()
        assert info is not None
        assert isinstance(info["holder"], str) and isinstance(info["pid"], int)
        assert isinstance(info["acquiredAt"], str) and isinstance(info["ttlMs"], int)
        lock.release()
        assert lock.inspect() is None
        lock.release()  # a second release does not throw
        assert lock.with_lock(lambda: 42) == 42
        assert lock.inspect() is None
        with pytest.raises(RuntimeError):
            lock.with_lock(lambda: (_ for _ in ()).throw(RuntimeError("boom")))
        assert lock.inspect() is None
        lock.acquire()
        nonce = lock.nonce
        assert isinstance(nonce, str)
        assert lock.force_release("wrong-nonce-value") is False
        assert lock.inspect() is not None
        assert lock.force_release(nonce) is True
        assert lock.inspect() is None
        assert lock.force_release(nonce) is False  # no lock: False

    await anyio.to_thread.run_sync(scenario)


async def test_lock_contention_timeout_and_stale_takeover(backend: str, repos_factory: RepoFactory,
                                                          service: Any) -> None:
    store = _store(backend, repos_factory, service)
    holder, other = _lock(store, max_wait_ms=50), _lock(store, max_wait_ms=50)

    def scenario() -> None:
        holder.acquire()
        with pytest.raises(LockTimeout):  # a live holder's lock is not stolen
            other.acquire()
        holder.release()
        other.acquire()  # a waiter acquires after the holder releases
        other.release()
        if not isinstance(holder, StoreLock):
            return  # the row lock's takeover of an expired row: test_postgres.py
        # A lock left by a dead process (pid that does not exist on this host) is taken over.
        dead = StoreLock(holder.store, holder.key, ttl_ms=600000)
        info = dead._info()
        info["pid"] = 2**22 + 12345
        import json

        assert holder.store.create(holder.key, json.dumps(info).encode())
        other.acquire()
        assert other.inspect()["nonce"] == other.nonce
        other.release()
        # A lock past its TTL is taken over even when its pid is alive.
        old = dead._info()
        old["acquiredAt"] = "2020-01-01T00:00:00.000Z"
        old["ttlMs"] = 1000
        assert holder.store.create(holder.key, json.dumps(old).encode())
        other.acquire()
        other.release()

    await anyio.to_thread.run_sync(scenario)


@pytest.mark.s3
async def test_one_s3_client_per_datastore(repos_factory: RepoFactory, service: Any) -> None:
    first = repos_factory.make("s3")
    second = repos_factory.root / "second"
    second.mkdir()
    (second / ".swamp.yaml").write_text((first / ".swamp.yaml").read_text())  # same bucket and prefix
    a, b = service.repos.get(str(first)), service.repos.get(str(second))
    assert a.store is b.store and a.store_id == b.store_id
    await service.put(str(first), "t", MODEL, "x", b"1")
    client = a.store.client
    await service.get(str(second), "t", MODEL, "x")
    assert a.store.client is client  # built once, reused


# Names of swampd's own files (temp files, locks, the catalog, index dirs) are data names like any
# other to swamp: its walker lists every directory of a model (`findAllForModel`), so swampd does too.
NAMES_LIKE_INTERNAL_FILES = ("x.tmp", ".x.tmp", "y.lock", "_index", "_control", ".locks", "_catalog.db",
                             ".datastore-a", ".namespace.json")


async def test_names_like_internal_files_are_listed_as_swamp_lists_them(backend: str, repos_factory: RepoFactory,
                                                                        service: Any) -> None:
    repo = str(repos_factory.make(backend))
    for name in NAMES_LIKE_INTERNAL_FILES:
        await service.put(repo, "t", MODEL, name, name.encode(), content_type="text/plain")
    listing = await service.list(repo, "t", MODEL)
    assert listing["data"] == [{"name": n, "latest": 1} for n in sorted(NAMES_LIKE_INTERNAL_FILES)]
    assert (await service.versions(repo, "t", MODEL, "x.tmp"))["versions"] == [1]
    assert (await service.get(repo, "t", MODEL, "_index"))["content"] == "_index"


async def test_names_no_datastore_can_hold_are_refused_and_write_nothing(backend: str, repos_factory: RepoFactory,
                                                                         service: Any) -> None:
    repo = str(repos_factory.make(backend))
    await service.put(repo, "t", MODEL, "kept", b"1")
    refused = {".lock": "lock", ".": "'.'", "é" * 128: "255 bytes"}
    for name, words in refused.items():
        with pytest.raises(InvalidParams) as info:
            await service.put(repo, "t", MODEL, name, b"1")
        assert words in info.value.message
    assert (await service.put(repo, "t", MODEL, "n" * 255, b"1"))["version"] == 1  # 255 bytes fit
    listing = await service.list(repo, "t", MODEL)
    assert listing["data"] == [{"name": "kept", "latest": 1}, {"name": "n" * 255, "latest": 1}]
