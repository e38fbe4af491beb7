"""A PostgreSQL datastore (psycopg 3): a versioned schema, a connection pool, LISTEN/NOTIFY.

Objects live in `{schema}.objects(store, path, data, rev)`; a trigger NOTIFYs every change
on the channel `swampd_changes` (payload `store<TAB>path`), so daemons on several hosts that
share one database drop each other's changing entries (latest pointers, listings) at once.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from swampd.errors import InvalidInput
from swampd.storage.base import NOT_MODIFIED, Blob, ChangeListener, Stat, StoreDown, TransientError, retry
from swampd.storage.layout import is_ignored

log = logging.getLogger(__name__)
CHANNEL = "swampd_changes"
_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

MIGRATIONS: tuple[str, ...] = (
    # 1: the object table, a revision sequence, the change trigger.
    """
    CREATE SEQUENCE IF NOT EXISTS {s}.rev_seq;
    CREATE TABLE IF NOT EXISTS {s}.objects (
        store text NOT NULL,
        path text COLLATE "C" NOT NULL,
        data bytea NOT NULL,
        rev bigint NOT NULL DEFAULT nextval('{s}.rev_seq'),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (store, path)
    );
    CREATE OR REPLACE FUNCTION {s}.notify_change() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            PERFORM pg_notify('swampd_changes', OLD.store || chr(9) || OLD.path);
            RETURN OLD;
        END IF;
        PERFORM pg_notify('swampd_changes', NEW.store || chr(9) || NEW.path);
        RETURN NEW;
    END $$ LANGUAGE plpgsql;
    DROP TRIGGER IF EXISTS objects_notify ON {s}.objects;
    CREATE TRIGGER objects_notify AFTER INSERT OR UPDATE OR DELETE ON {s}.objects
        FOR EACH ROW EXECUTE FUNCTION {s}.notify_change();
    """,
    # 2: recent-changes lookups (catch-up after a listener reconnect).
    "CREATE INDEX IF NOT EXISTS objects_updated_at ON {s}.objects (updated_at);",
)


@dataclass(frozen=True)
class PostgresConfig:
    dsn: str
    schema: str = "swampd"
    name: str = "default"
    pool_max: int = 8
    connect_timeout: float = 3.0

    @classmethod
    def from_mapping(cls, raw: dict[str, Any]) -> PostgresConfig:
        dsn = raw.get("dsn") or raw.get("url")
        if not isinstance(dsn, str) or not dsn:
            raise InvalidInput("postgres datastore config needs a dsn")
        schema = str(raw.get("schema", "swampd"))
        if not _IDENT.match(schema):
            raise InvalidInput("postgres datastore schema must be a plain lowercase identifier")
        return cls(dsn=dsn, schema=schema, name=str(raw.get("name", "default")),
                   pool_max=int(raw.get("poolMax", 8)), connect_timeout=float(raw.get("connectTimeout", 3.0)))


def _describe_dsn(dsn: str) -> str:
    """host/port/dbname of a conninfo, without user or password."""
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
        self.identity = f"postgres:{_describe_dsn(config.dsn)}/{config.schema}/{config.name}/{self._prefix}"
        self._pool: Any = None
        self._pool_lock = threading.Lock()
        self._migrated = False
        self._down = False
        self._listener: ChangeListener | None = None
        self._listen_thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._listening = False
        s = config.schema
        self._sql_get = (
            f"SELECT rev, CASE WHEN rev::text = %s THEN NULL ELSE data END "
            f"FROM {s}.objects WHERE store = %s AND path = %s"
        )
        self._sql_head = f"SELECT rev, length(data) FROM {s}.objects WHERE store = %s AND path = %s"
        self._sql_put = (
            f"INSERT INTO {s}.objects (store, path, data) VALUES (%s, %s, %s) "
            f"ON CONFLICT (store, path) DO UPDATE SET data = EXCLUDED.data, "
            f"rev = nextval('{s}.rev_seq'), updated_at = now() RETURNING rev"
        )
        self._sql_create = (
            f"INSERT INTO {s}.objects (store, path, data) VALUES (%s, %s, %s) "
            f"ON CONFLICT (store, path) DO NOTHING RETURNING rev"
        )
        self._sql_list = f"SELECT path FROM {s}.objects WHERE store = %s AND path >= %s AND path < %s ORDER BY path"
        self._sql_delete = f"DELETE FROM {s}.objects WHERE store = %s AND path = %s"

    @property
    def has_change_signal(self) -> bool:
        return self._listening

    # -- connections -----------------------------------------------------------------------

    @property
    def pool(self) -> Any:
        if self._pool is None:
            with self._pool_lock:
                if self._pool is None:
                    from psycopg_pool import ConnectionPool

                    pool = ConnectionPool(
                        self.config.dsn,
                        min_size=1,
                        max_size=self.config.pool_max,
                        kwargs={"autocommit": True, "connect_timeout": max(1, int(self.config.connect_timeout))},
                        check=ConnectionPool.check_connection,
                        timeout=self.config.connect_timeout,
                        open=False,
                        name=f"swampd-{self.config.name}",
                    )
                    pool.open(wait=False)
                    self._pool = pool
        return self._pool

    def _run(self, what: str, fn: Callable[[Any], Any]) -> Any:
        import psycopg
        from psycopg_pool import PoolTimeout

        def attempt() -> Any:
            if self._down and not self._probe():
                raise StoreDown(f"{what}: database is unreachable")
            try:
                self._ensure_schema()
                with self.pool.connection() as conn:
                    return fn(conn)
            except (PoolTimeout, psycopg.OperationalError):
                self._reset_pool()  # a pool backing off after an outage would not notice the server is back
                if not self._probe():
                    raise StoreDown(f"{what}: database is unreachable") from None
                raise TransientError(f"{what}: database connection lost") from None
            except psycopg.Error as exc:
                raise StoreDown(f"{what}: database error {exc.sqlstate or 'unknown'}") from None

        return retry(attempt)

    def _probe(self) -> bool:
        """One direct connection attempt: tells "down" (fail fast, no retries) from a stale pool."""
        import psycopg

        try:
            with psycopg.connect(self.config.dsn, connect_timeout=max(1, int(self.config.connect_timeout))):
                pass
        except psycopg.Error:
            self._down = True
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
        if self._migrated:
            return
        with self.pool.connection() as conn:
            migrate(conn, self.config.schema)
        self._migrated = True

    # -- the object-store interface ------------------------------------------------------

    def _path(self, path: str) -> str:
        return self._prefix + path.strip("/")

    def get(self, path: str, *, if_none_match: str | None = None) -> Blob | object | None:
        row = self._run("get", lambda c: c.execute(
            self._sql_get, (if_none_match or "", self.config.name, self._path(path))).fetchone())
        if row is None:
            return None
        if row[1] is None:
            return NOT_MODIFIED
        return Blob(bytes(row[1]), str(row[0]))

    def head(self, path: str) -> Stat | None:
        row = self._run("head", lambda c: c.execute(self._sql_head, (self.config.name, self._path(path))).fetchone())
        return None if row is None else Stat(int(row[1]), str(row[0]))

    def put(self, path: str, data: bytes) -> str:
        args = (self.config.name, self._path(path), data)
        row = self._run("put", lambda c: c.execute(self._sql_put, args).fetchone())
        return str(row[0])

    def create(self, path: str, data: bytes) -> bool:
        row = self._run(
            "create", lambda c: c.execute(self._sql_create, (self.config.name, self._path(path), data)).fetchone()
        )
        return row is not None

    def claim_version(self, version_dir: str, metadata: bytes) -> bool:
        return self.create(f"{version_dir.rstrip('/')}/metadata.yaml", metadata)

    def list(self, prefix: str, *, recursive: bool = False) -> list[str]:
        base = prefix.strip("/")
        full = self._path(base) + "/" if base else self._prefix
        upper = full[:-1] + chr(ord(full[-1]) + 1) if full else "\U0010ffff"
        rows = self._run("list", lambda c: c.execute(self._sql_list, (self.config.name, full, upper)).fetchall())
        out: set[str] = set()
        for (path,) in rows:
            rel = path[len(full):]
            segments = rel.split("/")
            if any(is_ignored(s) for s in segments):
                continue
            if recursive:
                out.add(f"{base}/{rel}" if base else rel)
            else:
                out.add(segments[0] + "/" if len(segments) > 1 else segments[0])
        return sorted(out)

    def delete(self, path: str) -> bool:
        args = (self.config.name, self._path(path))
        count = self._run("delete", lambda c: c.execute(self._sql_delete, args).rowcount)
        return bool(count)

    def ping(self) -> None:
        self._run("ping", lambda c: c.execute("SELECT 1").fetchone())

    # -- LISTEN/NOTIFY -------------------------------------------------------------------

    def set_listener(self, listener: ChangeListener | None) -> None:
        self._listener = listener
        if listener is not None and self._listen_thread is None:
            self._stop.clear()
            self._listen_thread = threading.Thread(target=self._listen_loop, name="swampd-pg-listen", daemon=True)
            self._listen_thread.start()

    def _listen_loop(self) -> None:
        import psycopg

        while not self._stop.is_set():
            try:
                with psycopg.connect(self.config.dsn, autocommit=True,
                                     connect_timeout=max(1, int(self.config.connect_timeout))) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._listening = True
                    self._emit("*")  # anything may have changed while we were not listening
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.5):
                            store, _, path = note.payload.partition("\t")
                            if store == self.config.name and path.startswith(self._prefix):
                                self._emit(path[len(self._prefix):])
            except psycopg.Error:
                pass
            if self._listening:
                self._listening = False
                self._emit("*")
            self._stop.wait(0.5)

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


def migrate(conn: Any, schema: str) -> int:
    """Bring `schema` to the newest version under an advisory lock; return that version."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"swampd-migrate-{schema}",))
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        conn.execute(f"CREATE TABLE IF NOT EXISTS {schema}.schema_version (version int NOT NULL)")
        row = conn.execute(f"SELECT version FROM {schema}.schema_version").fetchone()
        current = row[0] if row else 0
        if row is None:
            conn.execute(f"INSERT INTO {schema}.schema_version VALUES (0)")
        for number, sql in enumerate(MIGRATIONS, start=1):
            if number > current:
                conn.execute(sql.format(s=schema))
                conn.execute(f"UPDATE {schema}.schema_version SET version = %s", (number,))
        return max(current, len(MIGRATIONS))
