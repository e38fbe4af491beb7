"""A backend that goes down: hot reads keep serving (flagged stale), writes fail cleanly, recovery
needs no restart. The services are really stopped (pg_ctl stop, the moto process terminated,
the datastore directory moved away)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from swampd.errors import BackendUnavailable
from swampd.storage.base import StoreDown
from swampd.storage.control import CacheControl

from .conftest import Events, RepoFactory, make_service

pytestmark = pytest.mark.anyio
MODEL = "5b1e0a6e-1111-4222-8333-999988887777"


@contextlib.contextmanager
def outage(backend: str, repo: Path, request: pytest.FixtureRequest) -> Iterator[None]:
    if backend == "filesystem":
        (repo / ".swamp").rename(repo / ".swamp.away")
        try:
            yield
        finally:
            (repo / ".swamp.away").rename(repo / ".swamp")
    elif backend == "postgres":
        cluster = request.getfixturevalue("pg_cluster")
        cluster.stop()
        try:
            yield
        finally:
            cluster.start()
    else:
        server = request.getfixturevalue("moto_server")
        server.stop()
        try:
            yield
        finally:
            server.start()  # moto keeps state in memory: the bucket comes back empty
            marker = yaml.safe_load((repo / ".swamp.yaml").read_text())
            server.client().create_bucket(Bucket=marker["datastore"]["config"]["bucket"])


async def test_backend_down_and_back(backend: str, repos_factory: RepoFactory, workdir: Path, events: Events,
                                     request: pytest.FixtureRequest) -> None:
    repo = repos_factory.make(backend)
    svc = make_service(workdir, events, staleness=0.0)  # every latest read asks the backend
    control = CacheControl(svc)
    try:
        await svc.put(str(repo), "t", MODEL, "x", b"one", content_type="text/plain")
        assert (await svc.get(str(repo), "t", MODEL, "x"))["stale"] is False
        await svc.versions(str(repo), "t", MODEL, "x")
        with outage(backend, repo, request):
            hot = await svc.get(str(repo), "t", MODEL, "x")
            assert (hot["content"], hot["stale"], hot["cached"]) == ("one", True, True)
            listed = await svc.versions(str(repo), "t", MODEL, "x")
            assert (listed["versions"], listed["stale"]) == ([1], True)
            with pytest.raises(BackendUnavailable) as err:
                await svc.put(str(repo), "t", MODEL, "x", b"two")
            assert err.value.data["backend"] == svc.repos.get(str(repo)).store.kind
            with pytest.raises(BackendUnavailable):
                await svc.get(str(repo), "t", MODEL, "never-cached")
            health = await control.health()
            assert [d["state"] for d in health["datastores"]] == ["down"]
            assert control.stats()["overall"]["stale_served"] >= 1
        if backend != "s3":  # nothing of the failed write is visible
            assert (await svc.versions(str(repo), "t", MODEL, "x"))["versions"] == [1]
        put = await svc.put(str(repo), "t", MODEL, "x", b"three", content_type="text/plain")
        got = await svc.get(str(repo), "t", MODEL, "x")
        assert (got["version"], got["content"], got["stale"]) == (put["version"], "three", False)
        assert (await control.health())["healthy"] is True
        kinds = [d["type"] for d in events.of("datastore")]
        assert "datastore.state" in kinds
    finally:
        svc.close()


class _FailingRawStore:
    """Fault injection (a write that dies between metadata and raw cannot be caused otherwise):
    wraps a real store; its writers fail `put` of `raw` the way a lost backend fails it (StoreDown)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def writer(self) -> Any:
        return _FailingRawWriter(self.inner.writer())


class _FailingRawWriter:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def put(self, path: str, data: bytes) -> str:
        if path.endswith("/raw"):
            raise StoreDown("injected fault")
        return str(self.inner.put(path, data))


async def test_failed_write_leaves_nothing_visible(backend: str, repos_factory: RepoFactory, workdir: Path,
                                                   events: Events) -> None:
    repo = str(repos_factory.make(backend))
    svc = make_service(workdir, events, staleness=0.0)
    try:
        await svc.put(repo, "t", MODEL, "x", b"good", content_type="text/plain")
        handle = svc.repos.get(repo)
        real = handle.store
        handle.store = _FailingRawStore(real)
        with pytest.raises(BackendUnavailable):
            await svc.put(repo, "t", MODEL, "x", b"bad")
        handle.store = real
        got = await svc.get(repo, "t", MODEL, "x")
        assert (got["version"], got["content"]) == (1, "good")
        assert (await svc.versions(repo, "t", MODEL, "x"))["versions"] == [1]
        assert [k for k in real.list("data/t", recursive=True) if "/x/2/" in k] == []
        assert (await svc.put(repo, "t", MODEL, "x", b"next"))["version"] == 2
    finally:
        svc.close()
