"""The hot tier: bytes only (never pickle), 0700, eviction, coalesced misses, cache control, events."""

from __future__ import annotations

import os
import pickle
import stat
import time
from pathlib import Path
from typing import Any

import anyio
import diskcache
import pytest

from swampd.errors import InvalidInput, InvalidParams
from swampd.storage.control import CacheControl
from swampd.storage.hottier import BytesDisk, CacheSettings, HotTier
from swampd.storage.repos import RepoRegistry

from .conftest import Events, RepoFactory, make_service, write_marker

pytestmark = pytest.mark.anyio
MODEL = "0d1e2f3a-1111-4222-8333-abcdefabcdef"


def test_never_pickles(tmp_path: Path) -> None:
    hot = HotTier(str(tmp_path / "c"), CacheSettings())
    with pytest.raises(TypeError):
        hot._cache.set("k", {"a": 1})
    with pytest.raises(TypeError):
        hot._cache.set(("tuple", "key"), b"v")
    disk = BytesDisk(str(tmp_path / "c"))
    with pytest.raises(TypeError):  # a pickled row planted in the database is never loaded
        disk.fetch(diskcache.core.MODE_PICKLE, None, pickle.dumps({"x": 1}), False)
    assert stat.S_IMODE(os.stat(tmp_path / "c").st_mode) == 0o700
    hot.close()


def test_memory_tier_is_lru_by_bytes_and_counts_hits_per_tier(tmp_path: Path) -> None:
    hot = HotTier(str(tmp_path / "c"), CacheSettings(memory_limit=3000, memory_item_limit=1024))
    for key in ("a", "b", "c"):
        hot.set(key, key.encode() * 1000, {})
    hot.set("big", b"x" * 2000, {})  # over the item limit: disk only
    assert hot.get("a") is not None  # a memory hit makes "a" the most recently used
    hot.set("d", b"d" * 1000, {})  # over 3000 bytes: the least recently used ("b") leaves memory
    assert set(hot._memory) == {"c", "a", "d"}
    assert hot.get("b").value == b"b" * 1000  # still on disk
    assert hot.get("big").value == b"x" * 2000
    assert hot.get("nope") is None
    tiers = hot.tier_stats()
    assert tiers["memory"]["hits"] == 1 and tiers["memory"]["misses"] == 3
    assert tiers["disk"] == {"hits": 2, "misses": 1, "hit_ratio": 0.6667}
    assert tiers["memory"]["bytes"] == 3000 and tiers["memory"]["items"] == 3


def test_prefix_eviction_drops_memory_copies_that_disk_already_lost(tmp_path: Path) -> None:
    hot = HotTier(str(tmp_path / "c"), CacheSettings())
    hot.set("r/data/x/1/raw", b"one", {})
    hot._cache.delete("r/data/x/1/raw")  # as diskcache's own size eviction would
    hot.evict_prefix("r/data/x/")
    assert hot.get("r/data/x/1/raw") is None
    assert hot.tier_stats()["memory"]["bytes"] == 0


def test_settings_are_checked() -> None:
    assert CacheSettings.from_mapping({"size_limit": 1024, "staleness": 0.5}).size_limit == 1024
    with pytest.raises(InvalidInput):
        CacheSettings.from_mapping({"eviction_policy": "random"})
    with pytest.raises(InvalidInput):
        CacheSettings.from_mapping({"bogus": 1})


async def test_eviction_by_size(repos_factory: RepoFactory, workdir: Path, events: Events) -> None:
    repo = str(repos_factory.make("filesystem"))
    svc = make_service(workdir, events, size_limit=300_000, min_file_size=1024,
                       eviction_policy="least-recently-used")
    try:
        for i in range(30):
            await svc.put(repo, "t", MODEL, f"n{i}", os.urandom(40_000))
        stats = CacheControl(svc).stats()["overall"]
        assert stats["evictions"] > 0
        assert stats["max_size"] == 300_000 and stats["eviction_policy"] == "least-recently-used"
        got = await svc.get(repo, "t", MODEL, "n0")  # evicted content comes back from the backend
        assert got["size"] == 40_000
        svc.stats.flush()
        activity = [e for e in events.of("cache") if e["type"] == "cache.activity"]
        assert sum(e["evictions"] for e in activity) == stats["evictions"]
    finally:
        svc.close()


@pytest.mark.parametrize("coalescer", ["fanout", "local"])
async def test_concurrent_misses_cause_one_backend_read(repos_factory: RepoFactory, workdir: Path,
                                                        events: Events, coalescer: str) -> None:
    from swampd.fanout import Coalescer

    repo = str(repos_factory.make("filesystem"))
    writer = make_service(workdir, events, sub="w")
    await writer.put(repo, "t", MODEL, "x", b"payload", content_type="text/plain")
    writer.close()
    co = Coalescer(events) if coalescer == "fanout" else None
    svc = make_service(workdir, events, sub="r", staleness=3600, coalescer=co)
    assert svc.coalescer_kind == ("fanout" if co else "local-key-locks")
    results: list[dict[str, Any]] = []
    try:
        async with anyio.create_task_group() as tg:
            if co is not None:
                await co.start()
            for _ in range(20):
                tg.start_soon(lambda: _get_into(svc, repo, results))
        if co is not None:
            await co.aclose()
            assert co.coalesced_total >= 1
        assert len(results) == 20 and {r["content"] for r in results} == {"payload"}
        fs = svc.stats.backend("filesystem")
        assert fs.backend_reads == 2  # one `latest` read, one version read (metadata + raw)
        assert fs.misses >= 1 and fs.hits + fs.misses == 20
    finally:
        svc.close()


async def _get_into(svc: Any, repo: str, out: list[dict[str, Any]]) -> None:
    out.append(await svc.get(repo, "t", MODEL, "x"))


async def test_path_above_returns_large_values_as_their_cached_file(repos_factory: RepoFactory,
                                                                    service: Any) -> None:
    repo = str(repos_factory.make("filesystem"))
    big, small = os.urandom(100 * 1024), b"tiny"
    await service.put(repo, "t", MODEL, "big", big)
    await service.put(repo, "t", MODEL, "small", small)
    as_file = await service.get(repo, "t", MODEL, "big", path_above=64 * 1024)
    assert as_file["encoding"] == "path" and await anyio.Path(as_file["path"]).read_bytes() == big
    inline = await service.get(repo, "t", MODEL, "small", path_above=0)  # too small for a file of its own
    assert inline["encoding"] == "base64" and inline["size"] == len(small)
    below = await service.get(repo, "t", MODEL, "big", path_above=200 * 1024)
    assert below["encoding"] == "base64"


async def test_two_repos_never_share_entries(repos_factory: RepoFactory, service: Any) -> None:
    one, two = str(repos_factory.make("filesystem")), str(repos_factory.make("filesystem"))
    await service.put(one, "t", MODEL, "x", b"one", content_type="text/plain")
    await service.put(two, "t", MODEL, "x", b"two", content_type="text/plain")
    assert (await service.get(one, "t", MODEL, "x"))["content"] == "one"
    assert (await service.get(two, "t", MODEL, "x"))["content"] == "two"
    control = CacheControl(service)
    assert control.keys(one)["total"] == control.keys(two)["total"] == 3
    assert control.evict(one, everything=True)["evicted"] == 3
    assert control.keys(two)["total"] == 3


async def test_keys_evict_and_paging(repos_factory: RepoFactory, service: Any) -> None:
    repo = str(repos_factory.make("filesystem"))
    for name in ("a", "b", "c"):
        await service.put(repo, "t", MODEL, name, name.encode())
    control = CacheControl(service)
    page = control.keys(repo, offset=0, limit=4)
    assert page["total"] == 9 and len(page["keys"]) == 4
    entry = page["keys"][0]
    assert set(entry) == {"key", "size", "age", "backend", "mutable", "stale", "reads", "hits"}
    rest = control.keys(repo, offset=4, limit=100)["keys"]
    assert {k["key"] for k in page["keys"]}.isdisjoint(k["key"] for k in rest)
    assert control.evict(repo, key=f"data/t/{MODEL}/a/1/raw")["evicted"] == 1
    assert control.evict(repo, prefix=f"data/t/{MODEL}/b/")["evicted"] == 3
    assert control.keys(repo)["total"] == 5
    with pytest.raises(InvalidParams):
        control.evict(repo)
    with pytest.raises(InvalidParams):
        control.keys(repo, limit=0)
    assert control.evict(everything=True)["evicted"] == 5


async def test_prefetch_reports_progress(repos_factory: RepoFactory, workdir: Path, events: Events) -> None:
    repo = str(repos_factory.make("filesystem"))
    writer = make_service(workdir, events, sub="w")
    for i in range(5):
        await writer.put(repo, "t", MODEL, f"n{i}", f"v{i}".encode())
    writer.close()
    svc = make_service(workdir, events, sub="p")
    try:
        control = CacheControl(svc)
        job = control.prefetch(repo, model_type="t", model=MODEL)
        deadline = time.monotonic() + 30
        while svc.prefetches[job["id"]].state == "running" and time.monotonic() < deadline:
            await anyio.sleep(0.02)
        final = [e for e in events.of("cache") if e["type"] == "cache.prefetch" and e["id"] == job["id"]][-1]
        assert (final["state"], final["total"], final["done"], final["fetched"]) == ("done", 10, 10, 10)
        got = await svc.get(repo, "t", MODEL, "n3", version=1)
        assert got["cached"] is True and got["content"] == "djM="  # base64 of "v3"
    finally:
        svc.close()


async def test_cache_events_are_rate_limited(repos_factory: RepoFactory, workdir: Path, events: Events) -> None:
    repo = str(repos_factory.make("filesystem"))
    svc = make_service(workdir, events, staleness=3600, events_per_second=2.0)
    try:
        await svc.put(repo, "t", MODEL, "x", b"1")
        started = time.monotonic()
        for _ in range(500):
            await svc.get(repo, "t", MODEL, "x")
        elapsed = time.monotonic() - started
        svc.stats.flush()
        activity = [e for e in events.of("cache") if e["type"] == "cache.activity"]
        assert sum(e["hits"] for e in activity) == 500  # aggregated, nothing lost
        assert len(activity) <= 2 + elapsed * 2  # at most events_per_second (+ first and flush)
    finally:
        svc.close()


def test_repo_registry_persists(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    write_marker(repo, None)
    first = RepoRegistry(str(tmp_path / "data"))
    assert first.register(str(repo), "mine").name == "mine"
    assert first.register(str(repo)).name == "mine"  # same path: same entry
    first.close()
    second = RepoRegistry(str(tmp_path / "data"))
    assert [r["name"] for r in second.list()] == ["mine"]
    assert second.get(str(repo)).name == "mine"
    assert second.forget("mine") is True
    assert RepoRegistry(str(tmp_path / "data")).list() == []
    with pytest.raises(InvalidParams):
        second.register("relative/path")


async def test_revalidation_records_stay_bounded(repos_factory: RepoFactory, workdir: Path, events: Events,
                                                 monkeypatch: Any) -> None:
    """One record per version read; records too old to count are dropped past the limit."""
    from swampd.storage import data

    monkeypatch.setattr(data, "CHECKED_LIMIT", 20)
    repo = str(repos_factory.make("filesystem"))
    svc = make_service(workdir, events, staleness=0.0, signal_staleness=0.0)
    try:
        for i in range(60):
            await svc.put(repo, "t", MODEL, "x", f"v{i}".encode(), content_type="text/plain")
            await svc.get(repo, "t", MODEL, "x", version=i + 1)
        assert len(svc._checked) <= 21
        assert (await svc.get(repo, "t", MODEL, "x", version=1))["content"] == "v0"
    finally:
        svc.close()
