"""PostgreSQL specifics: the versioned schema and cross-daemon invalidation by LISTEN/NOTIFY."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
import psycopg
import pytest

from swampd.storage.postgres import MIGRATIONS, migrate

from .conftest import Events, RepoFactory, make_service

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]
MODEL = "77aa0e11-2222-4333-8444-555566667777"


def test_schema_is_created_and_migrated_once(pg_up: Any) -> None:
    with psycopg.connect(pg_up.dsn, autocommit=True) as conn:
        assert migrate(conn, "mig_test") == len(MIGRATIONS)
        assert migrate(conn, "mig_test") == len(MIGRATIONS)  # idempotent
        version = conn.execute("SELECT version FROM mig_test.schema_version").fetchall()
        assert version == [(len(MIGRATIONS),)]
        conn.execute("UPDATE mig_test.schema_version SET version = 1")  # an older daemon's schema
        conn.execute("DROP INDEX mig_test.objects_updated_at")
        assert migrate(conn, "mig_test") == len(MIGRATIONS)
        indexes = conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'mig_test'").fetchall()
        assert ("objects_updated_at",) in indexes


async def _wait_until(predicate: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await anyio.sleep(0.05)
    return False


async def test_notify_invalidates_other_daemons(repos_factory: RepoFactory, workdir: Path, events: Events) -> None:
    """Two daemons share one database; the reader never polls (huge staleness): only NOTIFY can
    make it see the writer's new `latest` and listings."""
    repo = str(repos_factory.make("postgres"))
    reader = make_service(workdir, events, sub="r", staleness=3600, signal_staleness=3600)
    writer = make_service(workdir, events, sub="w")
    try:
        await writer.put(repo, "t", MODEL, "x", b"1")
        assert (await reader.get(repo, "t", MODEL, "x"))["version"] == 1
        assert (await reader.versions(repo, "t", MODEL, "x"))["versions"] == [1]
        store = reader.repos.get(repo).store
        assert await _wait_until(_async(lambda: store.has_change_signal))
        await writer.put(repo, "t", MODEL, "x", b"2")

        async def sees_two() -> bool:
            return (await reader.get(repo, "t", MODEL, "x"))["version"] == 2

        assert await _wait_until(sees_two)
        assert (await reader.versions(repo, "t", MODEL, "x"))["versions"] == [1, 2]
        reads_before = reader.stats.backend("postgres").backend_reads
        for _ in range(20):
            await reader.get(repo, "t", MODEL, "x")
        assert reader.stats.backend("postgres").backend_reads == reads_before  # no polling in between
    finally:
        reader.close()
        writer.close()


def _async(fn: Any) -> Any:
    async def call() -> Any:
        return fn()

    return call
