"""PostgreSQL specifics: `@webframp/postgres-datastore`'s tables, swamp's sync stamps and row locks,
and cross-daemon invalidation by LISTEN/NOTIFY. (With the real swamp: tests/interop/test_remote_postgres.py.)"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
import psycopg
import pytest
import yaml

from swampd.errors import InvalidInput
from swampd.storage.postgres import PostgresConfig, ensure_schema
from swampd.storage.resolve import DatastoreSpec, open_store

from .conftest import Events, RepoFactory, make_service, put_while_held

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


def _schema_of(repo: Path) -> str:
    import yaml

    return str(yaml.safe_load((repo / ".swamp.yaml").read_text())["datastore"]["config"]["schema"])


async def test_writes_are_rows_swamps_pull_takes(repos_factory: RepoFactory, workdir: Path, events: Events,
                                                 pg_up: Any) -> None:
    """Each write is one transaction: its rows (sha256, size, content), one `commit_seq` step and
    `last_pushed_at`. A delete is a tombstone, and a tombstoned path can be claimed again."""
    repo = repos_factory.make("postgres")
    schema = _schema_of(repo)
    svc = make_service(workdir, events)
    try:
        await svc.put(str(repo), "t", MODEL, "x", b"hello", content_type="text/plain")
        await svc.put(str(repo), "t", MODEL, "x", b"again", content_type="text/plain")
        with psycopg.connect(pg_up.dsn, autocommit=True) as conn:
            state = dict(conn.execute(f"SELECT key, value FROM {schema}.sync_state").fetchall())
            assert state["commit_seq"] == 2 and isinstance(state["last_pushed_at"], str)
            raw = conn.execute(f"SELECT hash, size, content, deleted_at FROM {schema}.files WHERE path = %s",
                               (f"data/t/{MODEL}/x/1/raw",)).fetchone()
            assert raw == ("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", 5, b"hello", None)
        store = svc.repos.get(str(repo)).store
        for name in ("raw", "metadata.yaml"):  # swamp's `data delete --version 2`, as its push does it
            assert store.delete(f"data/t/{MODEL}/x/2/{name}") is True
        assert store.get(f"data/t/{MODEL}/x/2/raw") is None
        with psycopg.connect(pg_up.dsn, autocommit=True) as conn:
            tomb = conn.execute(f"SELECT deleted_at IS NOT NULL FROM {schema}.files WHERE path = %s",
                                (f"data/t/{MODEL}/x/2/raw",)).fetchone()
            assert tomb == (True,)
            assert conn.execute(f"SELECT value FROM {schema}.sync_state WHERE key = 'commit_seq'").fetchone() == (4,)
        store.put(f"data/t/{MODEL}/x/latest", b"1")
        assert (await svc.put(str(repo), "t", MODEL, "x", b"reused"))["version"] == 2  # the tombstone is free
    finally:
        svc.close()


async def test_rows_are_stamped_at_commit_not_at_begin(repos_factory: RepoFactory, workdir: Path, events: Events,
                                                       pg_up: Any) -> None:
    """swamp's pull keeps rows with `updated_at >= its previous pull's start`. A pull that starts
    while a write's transaction is open must still find the write on its next round."""
    repo = repos_factory.make("postgres")
    schema = _schema_of(repo)
    svc = make_service(workdir, events)
    try:
        store = (await svc.handle(str(repo))).store
        writer = store.writer()
        writer.put(f"data/t/{MODEL}/x/latest", b"1")
        with psycopg.connect(pg_up.dsn, autocommit=True) as other:
            pull_started = other.execute("SELECT now()").fetchone()[0]  # a swamp pull's watermark
        writer.commit()
        with psycopg.connect(pg_up.dsn, autocommit=True) as conn:
            rows = conn.execute(f"SELECT path FROM {schema}.files WHERE updated_at >= %s", (pull_started,)).fetchall()
        assert rows == [(f"data/t/{MODEL}/x/latest",)]
    finally:
        svc.close()


async def test_locks_are_rows_of_the_locks_table(repos_factory: RepoFactory, workdir: Path, events: Events,
                                                 pg_up: Any) -> None:
    repo = repos_factory.make("postgres")
    schema = _schema_of(repo)
    svc = make_service(workdir, events)
    try:
        store = (await svc.handle(str(repo))).store
        lock = store.model_lock(f"data/t/{MODEL}", max_wait_ms=200)
        lock.acquire()
        info = lock.inspect()
        assert info is not None and info["nonce"] == lock.nonce and info["ttlMs"] == 30000
        other = store.model_lock(f"data/t/{MODEL}", max_wait_ms=200)
        with pytest.raises(Exception, match="held by"):
            other.acquire()
        assert other.force_release("wrong-nonce") is False
        with psycopg.connect(pg_up.dsn, autocommit=True) as conn:
            keys = conn.execute(f"SELECT key FROM {schema}.locks").fetchall()
            assert keys == [(f"data/t/{MODEL}/.lock",)]
            conn.execute(f"UPDATE {schema}.locks SET acquired_at = now() - interval '31 seconds'")  # a crashed holder
        other.acquire()  # taken over: its TTL passed on the server's clock
        lock.release()  # not ours any more: leaves the new holder alone
        assert store.model_lock(f"data/t/{MODEL}").inspect()["nonce"] == other.nonce
        other.release()
        assert other.inspect() is None
        assert store.global_lock().key == f"pg://{schema}.datastore"
    finally:
        svc.close()


async def test_writes_wait_for_swamps_global_lock(repos_factory: RepoFactory, workdir: Path, events: Events,
                                                  pg_up: Any) -> None:
    repo = repos_factory.make("postgres")
    schema = _schema_of(repo)
    svc = make_service(workdir, events)
    try:
        await svc.put(str(repo), "t", MODEL, "x", b"first")
        with psycopg.connect(pg_up.dsn, autocommit=True) as conn:
            conn.execute(f"INSERT INTO {schema}.locks (key, holder, hostname, pid, ttl_ms, nonce) "
                         f"VALUES (%s, 'ci@host', 'host', 1, 30000, 'n')", (f"pg://{schema}.datastore",))
            seen, version = await put_while_held(
                svc, str(repo), MODEL, lambda: conn.execute(f"SELECT count(*) FROM {schema}.files").fetchone(),
                lambda: conn.execute(f"DELETE FROM {schema}.locks"))
            assert seen == ((3,), [])  # nothing written while swamp's structural command runs
            assert version == 2
    finally:
        svc.close()


async def test_a_role_without_the_tables_ownership_polls_the_watermark(
        repos_factory: RepoFactory, workdir: Path, events: Events, pg_up: Any) -> None:
    """The tables' owner created them; a role that may only read and write the rows cannot add the
    trigger: it still reads and writes, and its change signal is the extension's own watermark
    (`sync_state.commit_seq`, polled every `staleness`): a reader that trusts its pointers for an hour
    sees another writer's version once the watermark moves."""
    owner_repo = repos_factory.make("postgres")
    schema = _schema_of(owner_repo)
    role = f"rw_{schema}"
    with psycopg.connect(pg_up.dsn, autocommit=True) as conn:
        ensure_schema(conn, schema)
        conn.execute(f"DROP TRIGGER swampd_notify ON {schema}.files")
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        conn.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}")
        conn.execute(f"GRANT USAGE, SELECT, UPDATE ON SEQUENCE {schema}.commit_seq TO {role}")
    url = pg_up.url.replace("postgres://postgres@", f"postgres://{role}@")
    role_repo = workdir / "role-repo"
    role_repo.mkdir()
    marker = yaml.safe_load((owner_repo / ".swamp.yaml").read_text())
    marker["datastore"]["config"]["connectionString"] = url
    (role_repo / ".swamp.yaml").write_text(yaml.safe_dump(marker))
    writer = make_service(workdir, events, sub="w")
    reader = make_service(workdir, events, sub="r", staleness=0.2, signal_staleness=3600)
    try:
        await reader.put(str(role_repo), "t", MODEL, "x", b"1")  # the role writes: rows, stamp, no trigger
        store = reader.repos.get(str(role_repo)).store
        assert await _wait_until(_async(lambda: store.has_change_signal))
        assert store._trigger is False
        assert (await reader.get(str(role_repo), "t", MODEL, "x"))["version"] == 1
        await writer.put(str(role_repo), "t", MODEL, "x", b"2")  # another daemon with that role: no trigger either

        async def sees_two() -> bool:
            return (await reader.get(str(role_repo), "t", MODEL, "x"))["version"] == 2

        assert await _wait_until(sees_two)
    finally:
        reader.close()
        writer.close()


@pytest.mark.parametrize(("config", "message"), [
    ({}, "needs a connectionString"),
    ({"dsn": "host=/tmp"}, "connectionString"),
    ({"connectionString": "postgres://h/db", "schema": "bad-name"}, "SQL identifier"),
    ({"connectionString": "postgres://h/db", "ssl": "prefer"}, "disable, require, verify-ca"),
    ({"connectionString": "postgres://h/db", "ssl": "verify-ca"}, "sslCaPath is required"),
    ({"connectionString": "postgres://h/db", "ssl": "verify-ca", "sslCaPath": "../ca.pem"}, "'..'"),
])
def test_config_is_the_extensions(config: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        PostgresConfig.from_mapping(config)


def test_config_defaults_and_secrets() -> None:
    config = PostgresConfig.from_mapping({"connectionString": "postgres://u:s3cret@db:5432/swamp", "other": 1})
    assert (config.schema, config.ssl, config.ssl_ca_path) == ("swamp", "require", None)
    assert "sslmode=require" in config.conninfo()
    spec = DatastoreSpec("@webframp/postgres-datastore", config={"connectionString": "postgres://u:s3cret@db:5432/swamp"})
    assert "s3cret" not in str(spec.describe()) and spec.describe()["config"]["connectionString"] == "db:5432/swamp"
    with pytest.raises(InvalidInput, match="removed: use @webframp/postgres-datastore"):
        open_store(DatastoreSpec("@swampd/postgres-datastore", config={"dsn": "host=/tmp"}))
