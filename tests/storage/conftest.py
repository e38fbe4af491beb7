"""Storage fixtures: a real PostgreSQL cluster, a real S3 endpoint (moto server), swamp repos."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from swampd.storage.hottier import CacheSettings, HotTier
from swampd.storage.repos import RepoRegistry


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def write_marker(repo: Path, datastore: dict[str, Any] | None) -> None:
    marker: dict[str, Any] = {"swampVersion": "20260822.0", "repoId": str(uuid.uuid4())}
    if datastore is not None:
        marker["datastore"] = datastore
    (repo / ".swamp.yaml").write_text(yaml.safe_dump(marker))


class RepoFactory:
    """Builds repos backed by each datastore type (each test gets its own schema/prefix/dir)."""

    def __init__(self, root: Path, request: pytest.FixtureRequest) -> None:
        self.root = root
        self.request = request

    def make(self, backend: str, *, namespace: str | None = None, name: str | None = None) -> Path:
        repo = self.root / (name or f"repo-{uuid.uuid4().hex[:8]}")
        repo.mkdir()
        tag = uuid.uuid4().hex[:10]
        block: dict[str, Any] | None
        if backend == "filesystem":
            block = None if namespace is None else {"type": "filesystem", "path": ".swamp"}
            (repo / ".swamp").mkdir()
        elif backend == "s3":
            server = self.request.getfixturevalue("moto_up")
            bucket = f"b-{tag}"
            server.client().create_bucket(Bucket=bucket)
            block = {"type": "@swamp/s3-datastore",
                     "config": {"bucket": bucket, "prefix": "team/x", "endpoint": server.endpoint,
                                "region": "us-east-1", "forcePathStyle": True}}
        elif backend == "postgres":
            cluster = self.request.getfixturevalue("pg_up")
            block = {"type": "@webframp/postgres-datastore",
                     "config": {"connectionString": cluster.url, "schema": f"t_{tag}", "ssl": "disable"}}
        else:
            raise ValueError(backend)
        if namespace is not None and block is not None:
            block["namespace"] = namespace
        write_marker(repo, block)
        return repo


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="sws-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def repos_factory(workdir: Path, request: pytest.FixtureRequest) -> RepoFactory:
    (workdir / "repos").mkdir()
    return RepoFactory(workdir / "repos", request)


class Events:
    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, topic: str, data: dict[str, Any]) -> None:
        self.items.append((topic, data))

    def of(self, topic: str) -> list[dict[str, Any]]:
        return [d for t, d in self.items if t == topic]


@pytest.fixture
def events() -> Events:
    return Events()


def make_service(workdir: Path, events: Events, *, staleness: float = 1.0, sub: str = "a",
                 coalescer: Any = None, **cache: Any) -> Any:
    from swampd.storage.data import DataService

    settings = CacheSettings(staleness=staleness, **cache)
    registry = RepoRegistry(str(workdir / f"data-{sub}"))
    hot = HotTier(str(workdir / f"cache-{sub}"), settings)
    return DataService(registry, hot, settings, events, coalescer=coalescer)


@pytest.fixture
def service(workdir: Path, events: Events) -> Iterator[Any]:
    svc = make_service(workdir, events)
    yield svc
    svc.close()


BACKENDS = [
    pytest.param("filesystem", id="filesystem"),
    pytest.param("s3", id="s3", marks=pytest.mark.s3),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


async def put_while_held(svc: Any, repo: str, model: str, held: Any, release: Any) -> tuple[Any, int]:
    """Start a `data.put` while swamp holds a lock, look with `held()` a second later (the write is
    still waiting), `release()` the lock, and return what `held()` saw and the version written."""
    import anyio

    done: list[int] = []

    async def write() -> None:
        done.append((await svc.put(repo, "t", model, "x", b"waited"))["version"])

    async with anyio.create_task_group() as tg:
        tg.start_soon(write)
        await anyio.sleep(1.0)
        seen = (held(), list(done))
        release()
    return seen, done[0]
