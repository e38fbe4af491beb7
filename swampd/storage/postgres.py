"""A PostgreSQL datastore that is `@webframp/postgres-datastore` (psycopg 3, a connection pool).

swamp with that extension keeps a local cache and syncs it through `{schema}.files`; swampd reads
and writes the same rows directly (`postgres_schema` has the tables). Every write runs in one
transaction that also stamps `sync_state` (`commit_seq`, `last_pushed_at`), or swamp's next pull
would skip it; deletes are tombstones. Locks are rows of `{schema}.locks` (`postgres_lock`).
A trigger swampd adds to `{schema}.files` NOTIFYs every change (swamp's pushes included): a
listener thread invalidates entries, so daemons on several hosts sharing the database see each
other's and swamp's writes at once. A role that may not add the trigger polls the extension's own
watermark (`sync_state.commit_seq`) on the same connection instead.
"""

from __future__ import annotations

import builtins
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from swampd.errors import InvalidInput
from swampd.storage.base import (
    NOT_MODIFIED,
    Blob,
    ChangeListener,
    DistributedLock,
    OutcomeUnknown,
    Stat,
    StoreDown,
    TransientError,
    retry,
)
from swampd.storage.layout import is_skipped, sha256_hex
from swampd.storage.postgres_lock import PostgresLock
from swampd.storage.postgres_schema import (
    CHANNEL,
    HAS_TRIGGER,
    NOTIFY_FUNCTION,
    NOTIFY_TRIGGER,
    SCHEMA_RE,
    STAMP,
    TABLES,
    escape_like,
)

log = logging.getLogger(__name__)
SSL_MODES = ("disable", "require", "verify-ca")
LIBPQ_SSLMODE = {"disable": "disable", "require": "require", "verify-ca": "verify-full"}
"""The extension's modes in libpq's words. Its `verify-ca` is postgres.js `{rejectUnauthorized: true,
ca}`: the CA *and* the server's name are checked (Node's TLS default), which is libpq's `verify-full`."""


@dataclass(frozen=True)
class PostgresConfig:
    """The extension's config: `connectionString`, `schema` (default `swamp`), `ssl` (default
    `require`), `sslCaPath` (required for `verify-ca`). Other keys are ignored, as zod ignores them."""

    connection_string: str
    schema: str = "swamp"
    ssl: str = "require"
    ssl_ca_path: str | None = None
    pool_max: int = 8
    connect_timeout: float = 3.0
    statement_timeout: float = 30.0
    """Seconds any statement may run (a server that stops answering mid-query must not hang a call)."""

    @classmethod
    def from_mapping(cls, raw: dict[str, Any]) -> PostgresConfig:
        dsn = raw.get("connectionString")
        if not isinstance(dsn, str) or not dsn:
            hint = " (swampd's own `dsn` key is gone: @webframp/postgres-datastore takes connectionString)" \
                if "dsn" in raw else ""
            raise InvalidInput("postgres datastore config needs a connectionString" + hint)
        schema = raw.get("schema", "swamp")
        if not isinstance(schema, str) or not SCHEMA_RE.match(schema):
            raise InvalidInput("postgres datastore schema must be an SQL identifier (letters, digits, underscores)")
        ssl = raw.get("ssl", "require")
        if ssl not in SSL_MODES:
            raise InvalidInput("postgres datastore ssl must be one of disable, require, verify-ca")
        ca = raw.get("sslCaPath")
        if ca is not None and (not isinstance(ca, str) or ".." in ca.replace("\\", "/").split("/")):
            raise InvalidInput("postgres datastore sslCaPath must be a path without '..' segments")
        if ssl == "verify-ca" and ca is None:
            raise InvalidInput("postgres datastore sslCaPath is required when ssl=verify-ca")
        return cls(connection_string=dsn, schema=schema, ssl=ssl, ssl_ca_path=ca)

    @property
    def sql_schema(self) -> str:
        """The schema as PostgreSQL names it (the extension writes it unquoted: folded to lower case)."""
        return self.schema.lower()

    def conninfo(self) -> str:
        """The connection string with the TLS mode and swampd's bounds: connect timeout, statement
        timeout, TCP keepalives and user timeout (a peer that vanished in a failover is noticed
        instead of waited on), and `application_name` swampd (how an operator tells its sessions)."""
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        given = conninfo_to_dict(self.connection_string)
        options = " ".join(filter(None, [str(given.get("options") or ""),
                                         f"-c statement_timeout={int(self.statement_timeout * 1000)}"]))
        extra: dict[str, Any] = {
            "sslmode": LIBPQ_SSLMODE[self.ssl], "connect_timeout": max(1, int(self.connect_timeout)),
            "options": options,
            "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3,
            "tcp_user_timeout": int(self.statement_timeout * 1000),
        }
        if "application_name" not in given:
            extra["application_name"] = "swampd"
        if self.ssl_ca_path:
            extra["sslrootcert"] = self.ssl_ca_path
        return make_conninfo(self.connection_string, **extra)


def refusal(exc: Exception) -> str:
    """Why a connection attempt failed, in swampd's words (the driver's text may quote the DSN)."""
    text = str(exc)
    if "certificate" in text or "SSL error" in text:
        return ("the server's TLS certificate was not accepted (check ssl and sslCaPath: verify-ca checks "
                "the CA and the host name)")
    if "does not support SSL" in text:
        return "the server does not offer TLS, which ssl requires"
    if "pg_hba.conf" in text or "authentication failed" in text:
        return ("the server refused the connection (pg_hba.conf or credentials; a server that requires TLS "
                "refuses ssl: disable)")
    return "database is unreachable"


def describe_dsn(dsn: str) -> str:
    """host/port/dbname of a connection string, without user or password."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(dsn)
    except Exception:  # noqa: BLE001 - an unparsable dsn still needs a stable identity
        return "dsn"
    return f"{info.get('host', '')}:{info.get('port', '')}/{info.get('dbname', '')}"


class PostgresStore:
    kind = "postgres"

    def __init__(self, config: PostgresConfig, namespace: str | None = None) -> None:
        self.config = config
        self.namespace = namespace
        self._prefix = f"{namespace}/" if namespace else ""
        self.schema = config.sql_schema
        self.identity = f"postgres:{describe_dsn(config.connection_string)}/{self.schema}/{self._prefix}"
        self.writer_id = uuid.uuid4().hex
        """Marks this store's writes in change notices: its own changes need no invalidation."""
        self._conninfo = config.conninfo()
        self._pool: Any = None
        self._pool_lock = threading.Lock()
        self._ready = False
        self._trigger = False
        self._down = False
        self._down_reason = "database is unreachable"
        self._listener: ChangeListener | None = None
        self._listen_thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._listening = False
        self._interval = 1.0
        self._watermark_live = False
        self._own_seqs: set[int] = set()
        """`commit_seq` values of this store's own writes (kept only while it polls the watermark)."""
        self._own_lock = threading.Lock()
        s = self.schema
        self._sql_get = (f"SELECT hash, CASE WHEN hash = %s THEN NULL ELSE content END FROM {s}.files "
                         f"WHERE path = %s AND deleted_at IS NULL")
        self._sql_head = f"SELECT hash, size FROM {s}.files WHERE path = %s AND deleted_at IS NULL"
        self._sql_list = f"SELECT path FROM {s}.files WHERE path LIKE %s ESCAPE '\\' AND deleted_at IS NULL"

    @property
    def has_change_signal(self) -> bool:
        """NOTIFY from swampd's trigger, or (a role that may not add it) the extension's own watermark."""
        return self._listening and (self._trigger or self._watermark_live)

    # -- connections -----------------------------------------------------------------------

    @property
    def pool(self) -> Any:
        if self._pool is None:
            with self._pool_lock:
                if self._pool is None:
                    from psycopg_pool import ConnectionPool

                    pool = ConnectionPool(
                        self._conninfo,
                        min_size=1,
                        max_size=self.config.pool_max,
                        kwargs={"autocommit": True},
                        check=ConnectionPool.check_connection,
                        timeout=self.config.connect_timeout,
                        open=False,
                        name=f"swampd-{self.schema}",
                    )
                    pool.open(wait=False)
                    self._pool = pool
        return self._pool

    def _run(self, what: str, fn: Callable[[Any], Any]) -> Any:
        import psycopg
        from psycopg_pool import PoolTimeout

        def attempt() -> Any:
            if self._down and not self._probe():
                raise StoreDown(f"{what}: {self._down_reason}")
            try:
                self._ensure_schema()
                with self.pool.connection() as conn:
                    return fn(conn)
            except psycopg.errors.QueryCanceled:  # the statement timeout: the connection is fine
                raise TransientError(f"{what}: database did not answer within the statement timeout") from None
            except (PoolTimeout, psycopg.OperationalError):
                self._reset_pool()  # a pool backing off after an outage would not notice the server is back
                if not self._probe():
                    raise StoreDown(f"{what}: {self._down_reason}") from None
                raise TransientError(f"{what}: database connection lost") from None
            except psycopg.Error as exc:
                raise StoreDown(f"{what}: database error {exc.sqlstate or 'unknown'}") from None

        return retry(attempt)

    def _probe(self) -> bool:
        """One direct connection attempt: tells "down" (fail fast, no retries) from a stale pool."""
        import psycopg

        try:
            with psycopg.connect(self._conninfo):
                pass
        except psycopg.Error as exc:
            self._down = True
            self._down_reason = refusal(exc)
            return False
        self._down = False
        return True

    def _reset_pool(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            try:
                pool.close(timeout=0.5)
            except Exception:  # noqa: BLE001 - a broken pool is being thrown away
                pass

    def _ensure_schema(self) -> None:
        """The extension's tables (`IF NOT EXISTS`), then swampd's change trigger, once per store."""
        if self._ready:
            return
        import psycopg

        with self.pool.connection() as conn:
            for attempt in range(3):
                try:
                    self._trigger = ensure_schema(conn, self.schema)
                    break
                except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateObject):
                    if attempt == 2:  # swamp's own `CREATE ... IF NOT EXISTS` raced ours three times
                        raise
        self._ready = True

    # -- the object-store interface ------------------------------------------------------

    def _path(self, path: str) -> str:
        return self._prefix + path.strip("/")

    def get(self, path: str, *, if_none_match: str | None = None) -> Blob | object | None:
        row = self._run("get", lambda c: c.execute(self._sql_get, (if_none_match or "", self._path(path))).fetchone())
        if row is None:
            return None
        if row[1] is None:
            return NOT_MODIFIED
        return Blob(bytes(row[1]), str(row[0]))

    def head(self, path: str) -> Stat | None:
        row = self._run("head", lambda c: c.execute(self._sql_head, (self._path(path),)).fetchone())
        return None if row is None else Stat(int(row[1]), str(row[0]))

    def writer(self) -> PostgresWriter:
        if not self._ready or self._down:
            self._run("connect", lambda c: None)  # the schema exists and the database answers
        return PostgresWriter(self)

    def _mutate(self, fn: Callable[[PostgresWriter], Any]) -> Any:
        writer = self.writer()
        try:
            result = fn(writer)
            writer.commit()
            return result
        finally:
            writer.abort()

    def put(self, path: str, data: bytes) -> str:
        return str(self._mutate(lambda w: w.put(path, data)))

    def create(self, path: str, data: bytes) -> bool:
        return bool(self._mutate(lambda w: w.create(path, data)))

    def claim_version(self, version_dir: str, metadata: bytes) -> bool:
        return self.create(f"{version_dir.rstrip('/')}/metadata.yaml", metadata)

    def delete(self, path: str) -> bool:
        return bool(self._mutate(lambda w: w.delete(path)))

    def list(self, prefix: str, *, recursive: bool = False) -> list[str]:
        return self._list(lambda sql, args: self._run("list", lambda c: c.execute(sql, args).fetchall()),
                          prefix, recursive)

    def _list(self, query: Callable[[str, tuple[Any, ...]], builtins.list[tuple[str]]], prefix: str,
              recursive: bool) -> builtins.list[str]:
        base = prefix.strip("/")
        full = self._path(base) + "/" if base else self._prefix
        out: set[str] = set()
        for (path,) in query(self._sql_list, (escape_like(full) + "%",)):
            rel = path[len(full):]
            segments = rel.split("/")
            if is_skipped(f"{base}/{rel}", is_dir=False):
                continue
            if recursive:
                out.add(f"{base}/{rel}" if base else rel)
            else:
                out.add(segments[0] + "/" if len(segments) > 1 else segments[0])
        return sorted(out)

    def model_lock(self, model_dir: str, *, max_wait_ms: int = 60000) -> DistributedLock:
        return PostgresLock(self._run, self.schema, f"{self._prefix}{model_dir.strip('/')}/.lock",
                            max_wait_ms=max_wait_ms)

    def global_lock(self, *, max_wait_ms: int = 60000) -> DistributedLock:
        """The extension's key: its datastore path `pg://{schema}.datastore`, `.locks/{ns}.lock` in a namespace."""
        key = f".locks/{self.namespace}.lock" if self.namespace else f"pg://{self.config.schema}.datastore"
        return PostgresLock(self._run, self.schema, key, retry_interval_ms=100, max_wait_ms=max_wait_ms)

    def ping(self) -> None:
        self._run("ping", lambda c: c.execute("SELECT 1").fetchone())

    # -- LISTEN/NOTIFY -------------------------------------------------------------------

    def set_listener(self, listener: ChangeListener | None, *, interval: float = 1.0) -> None:
        self._listener = listener
        self._interval = max(0.2, interval)
        if listener is not None and self._listen_thread is None:
            self._stop.clear()
            self._listen_thread = threading.Thread(target=self._listen_loop, name="swampd-pg-listen", daemon=True)
            self._listen_thread.start()

    def _listen_loop(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._listening = True
                    self._emit("*")  # anything may have changed while we were not listening
                    seen: int | None = None
                    polled = 0.0
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=min(0.5, self._interval)):
                            self._notice(note.payload)
                        if self._ready and not self._trigger and time.monotonic() - polled >= self._interval:
                            polled = time.monotonic()
                            seen = self._poll_watermark(conn, seen)
            except psycopg.Error:
                pass
            self._watermark_live = False
            if self._listening:
                self._listening = False
                self._emit("*")
            self._stop.wait(0.5)

    def _poll_watermark(self, conn: Any, seen: int | None) -> int:
        """Without the trigger: the extension's own watermark, `sync_state.commit_seq`, which every push
        (swamp's and swampd's) moves in its transaction. A move that is not all this store's own writes
        drops every pointer (`*`): which paths changed is not known, only that something did."""
        row = conn.execute(f"SELECT value FROM {self.schema}.sync_state WHERE key = 'commit_seq'").fetchone()
        now = int(row[0]) if row is not None and isinstance(row[0], (int, float)) else 0
        if seen is not None and now != seen:
            steps = set(range(seen + 1, now + 1))
            with self._own_lock:
                ours = bool(steps) and steps <= self._own_seqs
                self._own_seqs = {n for n in self._own_seqs if n > now}
            if not ours:
                self._emit("*")
        self._watermark_live = True
        return now

    def wrote(self, seq: int) -> None:
        """A write of this store's committed with `seq`: the watermark poll need not report it."""
        if not self._trigger:
            with self._own_lock:
                self._own_seqs.add(seq)

    def _notice(self, payload: str) -> None:
        schema, writer, path = (payload.split("\t", 2) + ["", ""])[:3]
        if schema != self.schema or writer == self.writer_id:
            return
        if path == "*":
            self._emit("*")
        elif path.startswith(self._prefix):
            self._emit(path[len(self._prefix):])

    def _emit(self, path: str) -> None:
        listener = self._listener
        if listener is not None:
            try:
                listener(path)
            except Exception:
                log.exception("postgres change listener failed")

    def close(self) -> None:
        self._stop.set()
        thread, self._listen_thread = self._listen_thread, None
        if thread is not None:
            thread.join(timeout=2)
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()


class PostgresWriter:
    """One transaction on one pooled connection: the version's rows, then `sync_state`, then COMMIT.

    Nothing is visible before `commit` (a killed daemon leaves nothing behind: the server rolls
    back); `abort` rolls back. The rows' `updated_at` is set again right before COMMIT: swamp's
    pull keeps `updated_at >= its last pull's start`, and a stamp taken at BEGIN could fall
    before a pull that starts while this transaction is still open.
    """

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        self.schema = store.schema
        self.paths: list[str] = []
        self._conn: Any = None
        self._done = False

    def _execute(self, what: str, sql: str, args: tuple[Any, ...] | None = None) -> Any:
        import psycopg
        from psycopg_pool import PoolTimeout

        if self._done:
            raise RuntimeError("the write is finished")
        try:
            if self._conn is None:
                self._conn = self.store.pool.getconn()
                self._conn.execute(f"BEGIN; SELECT set_config('swampd.writer', '{self.store.writer_id}', true)")
            return self._conn.execute(sql, args)
        except (PoolTimeout, psycopg.OperationalError):
            self.abort()
            self.store._reset_pool()
            self.store._probe()  # marks the store down: the next call fails fast instead of waiting
            raise StoreDown(f"{what}: database connection lost") from None
        except psycopg.Error as exc:
            self.abort()
            raise StoreDown(f"{what}: database error {exc.sqlstate or 'unknown'}") from None
        except Exception:
            self.abort()
            raise

    def list(self, prefix: str, *, recursive: bool = False) -> list[str]:
        return self.store._list(lambda sql, args: self._execute("list", sql, args).fetchall(), prefix, recursive)

    def _upsert(self, path: str, data: bytes, *, only_if_absent: bool) -> bool:
        full = self.store._path(path)
        condition = f"WHERE {self.schema}.files.deleted_at IS NOT NULL" if only_if_absent else ""
        row = self._execute(
            "write",
            f"INSERT INTO {self.schema}.files (path, hash, size, content, updated_at, deleted_at) "
            f"VALUES (%s, %s, %s, %s, now(), NULL) ON CONFLICT (path) DO UPDATE SET hash = EXCLUDED.hash, "
            f"size = EXCLUDED.size, content = EXCLUDED.content, updated_at = now(), deleted_at = NULL "
            f"{condition} RETURNING path",
            (full, sha256_hex(data), len(data), data),
        ).fetchone()
        if row is None:
            return False
        self.paths.append(full)
        return True

    def put(self, path: str, data: bytes) -> str:
        self._upsert(path, data, only_if_absent=False)
        return sha256_hex(data)

    def create(self, path: str, data: bytes) -> bool:
        return self._upsert(path, data, only_if_absent=True)

    def claim_version(self, version_dir: str, metadata: bytes) -> bool:
        return self.create(f"{version_dir.rstrip('/')}/metadata.yaml", metadata)

    def delete(self, path: str) -> bool:
        full = self.store._path(path)
        cur = self._execute("delete", f"UPDATE {self.schema}.files SET deleted_at = now(), updated_at = now() "
                                      f"WHERE path = %s AND deleted_at IS NULL", (full,))
        if cur.rowcount:
            self.paths.append(full)
        return bool(cur.rowcount)

    def commit(self) -> None:
        if self._done:
            return
        seq: int | None = None
        if self._conn is not None and self.paths:
            self._execute("commit", f"UPDATE {self.schema}.files SET updated_at = clock_timestamp() "
                                    f"WHERE path = ANY(%s)", (self.paths,))
            self._execute("commit", STAMP.format(s=self.schema))
            seq = int(self._execute("commit", f"SELECT currval('{self.schema}.commit_seq')").fetchone()[0])
        if self._conn is not None:
            self._commit()
        if seq is not None:
            self.store.wrote(seq)
        self._release()

    def _commit(self) -> None:
        """COMMIT. An error the server sent means it rolled back; a connection lost on the way
        (a failover, a killed backend) leaves the outcome unknown: said so, never retried."""
        import psycopg

        try:
            self._conn.execute("COMMIT")
        except psycopg.Error as exc:
            lost = self._conn.broken or isinstance(exc, psycopg.OperationalError)
            self.abort()
            if not lost:
                raise StoreDown(f"commit: database error {exc.sqlstate or 'unknown'}") from None
            self.store._reset_pool()
            self.store._probe()
            raise OutcomeUnknown("commit: database connection lost while committing") from None

    def abort(self) -> None:
        if self._done:
            return
        if self._conn is not None:
            try:
                self._conn.execute("ROLLBACK")
            except Exception:  # noqa: BLE001 - a dead connection has rolled back already
                pass
        self._release()

    def _release(self) -> None:
        self._done = True
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                self.store.pool.putconn(conn)
            except Exception:  # noqa: BLE001 - the pool was reset meanwhile
                conn.close()


def ensure_schema(conn: Any, schema: str) -> bool:
    """Create the extension's tables if missing, and swampd's change trigger; True when the trigger
    is in place. A role that may only read and write the rows (the tables made by their owner)
    works without the trigger, hence without a change signal."""
    import psycopg

    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"swampd-schema-{schema}",))
            conn.execute(TABLES.format(s=schema))
    except psycopg.errors.InsufficientPrivilege:
        names = ("files", "sync_state", "locks", "commit_seq")
        found = conn.execute("SELECT " + ", ".join(f"to_regclass('{schema}.{n}')" for n in names)).fetchone()
        if found is None or None in found:
            raise
    if conn.execute(HAS_TRIGGER, (schema,)).fetchone() is not None:
        return True
    try:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"swampd-schema-{schema}",))
            if conn.execute(HAS_TRIGGER, (schema,)).fetchone() is None:
                conn.execute(NOTIFY_FUNCTION.format(s=schema))
                conn.execute(NOTIFY_TRIGGER.format(s=schema))
    except psycopg.errors.InsufficientPrivilege:
        log.warning("no change trigger on %s.files (not its owner): the change signal polls sync_state.commit_seq",
                    schema)
        return False
    return True
