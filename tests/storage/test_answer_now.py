"""`DataService.get_now`, data.get answered from memory without awaiting anything (the daemon tries
it within the read of a request, before making a task): the same reply and the same counting as
`get` for every hot hit, and None whenever `get` would have to ask a backend."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from swampd.errors import InvalidParams, NotFound
from swampd.storage.layout import DataRef, dump_metadata

from .conftest import BACKENDS, Events, RepoFactory, make_service

pytestmark = pytest.mark.anyio
MODEL = "3f0c2a8e-1111-4222-8333-444455556666"
BIG = bytes(range(256)) * 1024  # 256 KiB: a file of its own in the hot tier


def counts(service: Any) -> dict[str, int]:
    """Every counter a read moves: per backend, and per data version."""
    stats = service.stats
    flat = {f"{kind}.{field}": getattr(b, field) for kind, b in stats.backends.items()
            for field in ("requests", "hits", "misses", "stale_served", "backend_reads")}
    flat.update({f"{item}.reads": reads for item, (reads, _) in stats.items.items()})
    flat.update({f"{item}.hits": hits for item, (_, hits) in stats.items.items()})
    return flat


def moved(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_hot_hit_now_is_what_get_answers_and_counts(backend: str, repos_factory: RepoFactory,
                                                             service: Any) -> None:
    repo = str(repos_factory.make(backend))
    await service.put(repo, "t", MODEL, "text", b"one", content_type="text/plain")
    await service.put(repo, "t", MODEL, "text", b"two", content_type="text/plain")
    await service.put(repo, "t", MODEL, "bin", bytes(range(256)))
    await service.put(repo, "t", MODEL, "big", BIG)
    asks: list[tuple[str, dict[str, Any]]] = [
        ("text", {}), ("text", {"version": 1}), ("bin", {}), ("big", {"as_path": True}),
        ("big", {"path_above": 1024}), ("big", {"path_above": len(BIG) + 1}), ("text", {"path_above": 0}),
    ]
    for name, options in asks:
        first = await service.get(repo, "t", MODEL, name, **options)  # warms the hot tier on a miss
        assert first is not None
        for _ in range(2):  # built, then the reply built kept
            before = counts(service)
            now = service.get_now(repo, "t", MODEL, name, **options)
            between = counts(service)
            later = await service.get(repo, "t", MODEL, name, **options)
            after = counts(service)
            assert now is not None, (name, options)
            assert now == later, (name, options)
            assert now["cached"] is True and now["stale"] is False
            assert moved(before, between) == moved(between, after) != {}, (name, options)


async def test_not_now_whenever_get_would_ask_a_backend(repos_factory: RepoFactory, workdir: Path,
                                                        events: Events) -> None:
    repo = str(repos_factory.make("filesystem"))
    svc = make_service(workdir, events, staleness=0.3, signal_staleness=0.3)
    try:
        assert svc.get_now(repo, "t", MODEL, "x") is None  # the repo is not open yet
        await svc.put(repo, "t", MODEL, "x", b"one", content_type="text/plain")
        await svc.get(repo, "t", MODEL, "x")
        assert svc.get_now(repo, "t", MODEL, "x")["content"] == "one"
        assert svc.get_now(repo, "t", MODEL, "x")["content"] == "one"  # the reply built the first time
        await svc.put(repo, "t", MODEL, "x", b"two", content_type="text/plain")  # through this service
        assert svc.get_now(repo, "t", MODEL, "x")["content"] == "two"  # never the reply built for "one"
        assert svc.get_now(repo, "t", MODEL, "x", version=1)["content"] == "one"
        svc.hot.delete(svc.key(svc.repos.cached(repo), DataRef.of("t", MODEL, "x").raw(2)))  # an eviction
        assert svc.get_now(repo, "t", MODEL, "x") is None
        assert (await svc.get(repo, "t", MODEL, "x"))["content"] == "two"
        assert svc.get_now(repo, "t", MODEL, "x")["content"] == "two"
        assert svc.get_now(repo, "t", MODEL, "other") is None  # never read: not in memory
        # a model asked by name: the reply built for it holds only while the name means the same model
        other = "4a1d3b9f-1111-4222-8333-444455556666"
        await svc.put(repo, "t", other, "x", b"other model", content_type="text/plain")
        await svc.get(repo, "t", other, "x")
        handle = svc.repos.cached(repo)
        handle.model_ids[("t", "web")] = (MODEL, time.monotonic())
        assert svc.get_now(repo, "t", "web", "x")["content"] == "two"
        assert svc.get_now(repo, "t", "web", "x")["content"] == "two"
        handle.model_ids[("t", "web")] = (other, time.monotonic())  # the name now means another model
        assert svc.get_now(repo, "t", "web", "x")["content"] == "other model"
        assert svc.get_now(repo, "t", "a-model-name", "x") is None  # a name, not yet looked up
        await anyio.sleep(0.4)
        assert svc.get_now(repo, "t", MODEL, "x") is None  # past the staleness bound: `get` re-checks
        assert svc.get_now(repo, "t", MODEL, "x", version=1) is None  # a version's metadata is re-checked too
        assert (await svc.get(repo, "t", MODEL, "x"))["cached"] is True
        assert svc.get_now(repo, "t", MODEL, "x") is not None
        # a rename tombstone at `latest`: `get` follows it, so `get_now` leaves it to `get`
        await svc.put(repo, "t", MODEL, "y", b"moved", content_type="text/plain")
        store = svc.repos.get(repo).store
        ref = DataRef.of("t", MODEL, "x")
        raw = b'{"renamedTo":"y"}'
        tomb = {**(await svc.get(repo, "t", MODEL, "x"))["metadata"], "version": 3, "lifecycle": "deleted",
                "renamedTo": "y", "size": len(raw), "checksum": hashlib.sha256(raw).hexdigest()}
        store.claim_version(ref.version_dir(3), dump_metadata(tomb))
        store.put(ref.raw(3), raw)
        store.put(ref.latest, b"3")
        await anyio.sleep(0.4)
        followed = await svc.get(repo, "t", MODEL, "x")
        assert (followed["name"], followed["content"]) == ("y", "moved")
        assert (await svc.get(repo, "t", MODEL, "x", version=3))["metadata"]["renamedTo"] == "y"  # all of it hot
        assert svc.get_now(repo, "t", MODEL, "x", version=3) is not None
        assert svc.get_now(repo, "t", MODEL, "x") is None
    finally:
        svc.close()


async def test_bad_params_are_refused_now_as_get_refuses_them(repos_factory: RepoFactory, service: Any) -> None:
    repo = str(repos_factory.make("filesystem"))
    await service.put(repo, "t", MODEL, "x", b"one", content_type="text/plain")
    await service.get(repo, "t", MODEL, "x")
    for name, options, error in [("..", {}, InvalidParams), ("latest", {}, InvalidParams),
                                 ("x", {"version": 0}, InvalidParams), ("x", {"version": True}, InvalidParams)]:
        with pytest.raises(error) as now:
            service.get_now(repo, "t", MODEL, name, **options)
        with pytest.raises(error) as later:
            await service.get(repo, "t", MODEL, name, **options)
        assert str(now.value) == str(later.value)
    assert service.get_now(repo, "t", MODEL, "x", version=7) is None
    service.settings = dataclasses.replace(service.settings, inline_limit=2)  # "one" is now too large inline
    before = counts(service)
    assert service.get_now(repo, "t", MODEL, "x") is None
    assert counts(service) == before  # refused by `get`, which counts it once
    with pytest.raises(NotFound):
        await service.get(repo, "t", MODEL, "x", version=7)
