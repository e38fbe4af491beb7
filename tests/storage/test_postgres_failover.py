"""PostgreSQL the way Aurora fails: every session of a daemon cut at once (a failover), a COMMIT
whose answer never comes, a server that stops answering. Each fault is made with PostgreSQL itself
(`pg_terminate_backend`, row locks, a synchronous standby that does not exist), on the real cluster."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import psycopg
import pytest

from swampd.errors import BackendUnavailable
from swampd.storage.base import StoreDown
from swampd.storage.postgres import PostgresConfig, PostgresStore

from .conftest import Events, RepoFactory, make_service

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]
MODEL = "88bb0e11-2222-4333-8444-555566667777"
APP = "swampd"
"""The `application_name` of swampd's sessions (the admin connection below has another)."""


def _schema_of(repo: Path) -> str:
    import yaml

    return str(yaml.safe_load((repo / ".swamp.yaml").read_text())["datastore"]["config"]["schema"])


@contextmanager
def _admin(pg: Any) -> Iterator[Any]:
    with psycopg.connect(pg.dsn, autocommit=True, application_name="test-admin") as conn:
        yield conn


async def _waiting_backend(admin: Any, where: str, timeout: float = 30.0) -> int:
    """The pid of a swampd session waiting as `where` says (a pg_stat_activity condition)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        admin.execute("SELECT pg_stat_clear_snapshot()")  # inside a transaction the view is a snapshot
        row = admin.execute(f"SELECT pid FROM pg_stat_activity WHERE application_name = %s AND {where}",
                            (APP,)).fetchone()
        if row is not None:
            return int(row[0])
        await anyio.sleep(0.02)
    seen = admin.execute("SELECT application_name, state, wait_event_type, wait_event, left(query, 80) "
                         "FROM pg_stat_activity WHERE backend_type = 'client backend'").fetchall()
    raise AssertionError(f"no swampd session waiting ({where}) within {timeout:g}s: {seen}")


def _terminate_all(admin: Any) -> int:
    """A failover: every session of swampd's is cut."""
    rows = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
                         (APP,)).fetchall()
    return len(rows)


async def test_reads_survive_a_failover(repos_factory: RepoFactory, workdir: Path, events: Events,
                                        pg_up: Any) -> None:
    """A read in flight when its session is cut is retried on a new one, and a pool whose sessions
    all died is rebuilt: the caller sees the data, not an error. The change signal comes back too."""
    repo = repos_factory.make("postgres")
    schema = _schema_of(repo)
    writer = make_service(workdir, events, sub="w")
    reader = make_service(workdir, events, sub="r", staleness=3600, signal_staleness=3600)
    try:
        await writer.put(str(repo), "t", MODEL, "x", b"one", content_type="text/plain")
        await writer.put(str(repo), "t", MODEL, "x", b"two", content_type="text/plain")
        store = reader.repos.get(str(repo)).store
        await anyio.to_thread.run_sync(store.ping)  # the reader's pool and schema check are done
        with _admin(pg_up) as admin:
            # in flight: the read waits behind a table lock when its session is cut
            admin.execute("BEGIN")
            admin.execute(f"LOCK TABLE {schema}.files IN ACCESS EXCLUSIVE MODE")
            got: list[Any] = []
            async with anyio.create_task_group() as tg:
                async def read() -> None:
                    got.append(await reader.get(str(repo), "t", MODEL, "x", 1))

                tg.start_soon(read)
                cut = await _waiting_backend(admin, "wait_event_type = 'Lock'")
                assert admin.execute("SELECT pg_terminate_backend(%s)", (cut,)).fetchone() == (True,)
                admin.execute("COMMIT")
            assert got[0]["content"] == "one"
            # every session cut at once, nothing in flight: the next read needs a new pool
            assert _terminate_all(admin) >= 1
            assert (await reader.get(str(repo), "t", MODEL, "x", 2))["content"] == "two"
            # the NOTIFY listener was cut too: it listens again, and a new write reaches the reader
            deadline = time.monotonic() + 30
            while not store.has_change_signal and time.monotonic() < deadline:
                await anyio.sleep(0.05)
            assert store.has_change_signal
            await writer.put(str(repo), "t", MODEL, "x", b"three", content_type="text/plain")
            deadline = time.monotonic() + 30
            while (await reader.get(str(repo), "t", MODEL, "x"))["version"] != 3:
                assert time.monotonic() < deadline, "the reader never heard of version 3"
                await anyio.sleep(0.05)
    finally:
        reader.close()
        writer.close()


async def test_a_write_cut_before_commit_fails_and_is_not_retried(repos_factory: RepoFactory, workdir: Path,
                                                                  events: Events, pg_up: Any) -> None:
    """A write whose session is cut before COMMIT fails loudly (the server rolled it back): it is
    not written again behind the caller's back, and its version number stays free."""
    repo = repos_factory.make("postgres")
    schema = _schema_of(repo)
    svc = make_service(workdir, events)
    try:
        await svc.put(str(repo), "t", MODEL, "x", b"one", content_type="text/plain")
        with _admin(pg_up) as admin:
            admin.execute("BEGIN")  # the write's sync_state stamp waits behind this row lock
            admin.execute(f"SELECT * FROM {schema}.sync_state WHERE key = 'commit_seq' FOR UPDATE")
            # the lock goes once the session is cut, while the write may still act: a silent retry would go through
            failed = await _cut_a_write(svc, repo, admin, "wait_event_type = 'Lock' AND query LIKE '%%sync_state%%'",
                                        then="COMMIT")
            assert len(failed) == 1 and failed[0].data.get("outcome") is None
            rows = admin.execute(f"SELECT count(*) FROM {schema}.files WHERE path LIKE %s",
                                 (f"data/t/{MODEL}/x/2/%",)).fetchone()
            assert rows == (0,)
        assert (await svc.versions(str(repo), "t", MODEL, "x"))["versions"] == [1]
        assert (await svc.put(str(repo), "t", MODEL, "x", b"again", content_type="text/plain"))["version"] == 2
    finally:
        svc.close()


async def test_a_commit_whose_answer_is_lost_says_so_and_is_read_back(repos_factory: RepoFactory,
                                                                      workdir: Path, events: Events,
                                                                      pg_up: Any) -> None:
    """The session is cut while COMMIT waits (for a synchronous standby that never answers: the
    transaction is committed locally, the client never hears it). swampd cannot know whether the
    write happened: it says so (`outcome: unknown`), does not retry, and its next read asks the
    database instead of trusting its own hot tier (the write did happen)."""
    repo = repos_factory.make("postgres")
    schema = _schema_of(repo)
    svc = make_service(workdir, events, staleness=3600, signal_staleness=3600)
    try:
        await svc.put(str(repo), "t", MODEL, "x", b"one", content_type="text/plain")
        assert (await svc.get(str(repo), "t", MODEL, "x"))["version"] == 1  # latest is hot from here on
        with _admin(pg_up) as admin:
            # only a transaction that stamps sync_state (a data write) waits for the standby
            admin.execute(f"CREATE FUNCTION {schema}.wait_for_standby() RETURNS trigger AS $$ BEGIN "
                          "PERFORM set_config('synchronous_commit', 'on', true); RETURN NULL; END $$ "
                          "LANGUAGE plpgsql")
            admin.execute(f"CREATE TRIGGER wait_for_standby AFTER INSERT OR UPDATE ON {schema}.sync_state "
                          f"FOR EACH ROW EXECUTE FUNCTION {schema}.wait_for_standby()")
            admin.execute("ALTER SYSTEM SET synchronous_commit = 'local'")
            admin.execute("ALTER SYSTEM SET synchronous_standby_names = 'no_such_standby'")
            admin.execute("SELECT pg_reload_conf()")
            try:
                failed = await _cut_a_write(svc, repo, admin, "wait_event = 'SyncRep'")
            finally:
                admin.execute("ALTER SYSTEM RESET synchronous_standby_names")
                admin.execute("ALTER SYSTEM RESET synchronous_commit")
                admin.execute("SELECT pg_reload_conf()")
                admin.execute(f"DROP TRIGGER wait_for_standby ON {schema}.sync_state")
            assert len(failed) == 1 and failed[0].data.get("outcome") == "unknown", failed
            assert "may have been written" in str(failed[0])
            committed = admin.execute(f"SELECT count(*) FROM {schema}.files WHERE path LIKE %s AND deleted_at IS NULL",
                                      (f"data/t/{MODEL}/x/2/%",)).fetchone()
            assert committed == (2,)  # it was written, once
        got = await svc.get(str(repo), "t", MODEL, "x")
        assert (got["version"], got["content"]) == (2, "two")
        assert (await svc.versions(str(repo), "t", MODEL, "x"))["versions"] == [1, 2]
    finally:
        svc.close()


def test_a_stuck_server_fails_calls_within_the_timeouts(pg_up: Any) -> None:
    """A statement the server never answers (it waits behind a lock) is cancelled by the statement
    timeout, and an endpoint that takes the TCP connection but never speaks PostgreSQL (a dead
    instance behind a load balancer) by the connect timeout: StoreDown, not a hang."""
    schema = "stuck_test"
    store = PostgresStore(PostgresConfig(connection_string=pg_up.url, schema=schema, ssl="disable",
                                         statement_timeout=0.5, connect_timeout=1.0))
    try:
        store.put("data/t/m/x/latest", b"1")
        with _admin(pg_up) as admin:
            admin.execute("BEGIN")
            admin.execute(f"LOCK TABLE {schema}.files IN ACCESS EXCLUSIVE MODE")
            with pytest.raises(StoreDown, match="statement timeout"):
                store.get("data/t/m/x/latest")
            admin.execute("COMMIT")
        assert store.get("data/t/m/x/latest") is not None  # the pool was fine all along
    finally:
        store.close()
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        dead = PostgresStore(PostgresConfig(connection_string=f"postgres://u@127.0.0.1:{port}/db", schema=schema,
                                            ssl="disable", connect_timeout=1.0))
        try:
            with pytest.raises(StoreDown, match="unreachable"):
                dead.ping()
        finally:
            dead.close()


async def _cut_a_write(svc: Any, repo: Path, admin: Any, waiting: str, then: str | None = None) -> list[BaseException]:
    """Write version two of `x`, terminate its session once it waits as `waiting` (a
    pg_stat_activity condition) and run `then` at once; what the write raised as BackendUnavailable."""
    failed: list[BaseException] = []

    async def write() -> None:
        try:
            await svc.put(str(repo), "t", MODEL, "x", b"two", content_type="text/plain")
        except BackendUnavailable as exc:
            failed.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(write)
        cut = await _waiting_backend(admin, waiting)
        admin.execute("SELECT pg_terminate_backend(%s)", (cut,))
        if then:
            admin.execute(then)
    return failed
