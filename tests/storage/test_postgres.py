"""PostgreSQL specifics: the versioned schema and cross-daemon invalidation by LISTEN/NOTIFY."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
import psycopg
import pytest

from swampd.storage.postgres import ensure_schema

from .conftest import Events, RepoFactory, make_service

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]
MODEL = "77aa0e11-2222-4333-8444-555566667777"


def test_schema_is_the_extensions_and_gets_the_trigger_once(pg_up: Any) -> None:
    """The tables are `@webframp/postgres-datastore`'s (its `ensureSchema` DDL, column for column);
    creating them again, or after the extension created them, changes nothing."""
    with psycopg.connect(pg_up.dsn, autocommit=True) as conn:
        assert ensure_schema(conn, "schema_test") is True
        assert ensure_schema(conn, "schema_test") is True  # idempotent
        columns = conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_schema = 'schema_test' ORDER BY table_name, ordinal_position").fetchall()
        assert [c[:2] for c in columns if c[0] == "files"] == [
            ("files", "path"), ("files", "hash"), ("files", "size"), ("files", "content"),
            ("files", "updated_at"), ("files", "deleted_at")]
        assert [c[1] for c in columns if c[0] == "sync_state"] == ["key", "value", "updated_at"]
        assert [c[1] for c in columns if c[0] == "locks"] == [
            "key", "holder", "hostname", "pid", "acquired_at", "ttl_ms", "nonce"]
        triggers = conn.execute("SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                                "WHERE n.nspname = 'schema_test' AND NOT t.tgisinternal").fetchall()
        assert triggers == [("swampd_notify",)]
        assert conn.execute("SELECT to_regclass('schema_test.commit_seq')").fetchone() == ("schema_test.commit_seq",)


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
