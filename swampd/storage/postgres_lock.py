"""The row lock of `@webframp/postgres-datastore` in `{schema}.locks` (its `createPostgresLock`).

Acquire is an upsert that only takes over a row whose `acquired_at + ttl_ms` has passed on the
server's clock; release and `forceRelease` delete the row only while it holds the caller's nonce.
Keys are swamp's: `[{ns}/]data/{type}/{modelId}/.lock` per model, `pg://{schema}.datastore` (or
`.locks/{ns}.lock`) for the whole datastore.
"""

from __future__ import annotations

import getpass
import os
import uuid
from collections.abc import Callable
from typing import Any

from swampd.storage.locks import BackoffLock

_ACQUIRE = """
INSERT INTO {s}.locks (key, holder, hostname, pid, acquired_at, ttl_ms, nonce)
VALUES (%s, %s, %s, %s, now(), %s, %s)
ON CONFLICT (key) DO UPDATE
  SET holder = EXCLUDED.holder, hostname = EXCLUDED.hostname, pid = EXCLUDED.pid,
      acquired_at = EXCLUDED.acquired_at, ttl_ms = EXCLUDED.ttl_ms, nonce = EXCLUDED.nonce
  WHERE {s}.locks.acquired_at + make_interval(secs => {s}.locks.ttl_ms / 1000.0) < now()
RETURNING nonce
"""
_INSPECT = """
SELECT holder, hostname, pid, acquired_at, ttl_ms, nonce,
       acquired_at + make_interval(secs => ttl_ms / 1000.0) < now()
FROM {s}.locks WHERE key = %s
"""
_DELETE = "DELETE FROM {s}.locks WHERE key = %s AND nonce = %s"


class PostgresLock(BackoffLock):
    backoff_growth = 1.5  # the extension's backoff: x1.5 per attempt, at most twice the interval

    def __init__(self, run: Callable[[str, Callable[[Any], Any]], Any], schema: str, key: str, *,
                 ttl_ms: int = 30000, retry_interval_ms: int = 50, max_wait_ms: int = 60000) -> None:
        super().__init__(key, ttl_ms=ttl_ms, retry_interval_ms=retry_interval_ms, max_wait_ms=max_wait_ms)
        self._run = run
        self._schema = schema
        self.backoff_max_s = 2 * retry_interval_ms / 1000

    def try_acquire(self) -> bool:
        nonce = str(uuid.uuid4())
        args = (self.key, f"{getpass.getuser()}@{self.hostname}", self.hostname, os.getpid(), self.ttl_ms, nonce)
        row = self._run("lock", lambda c: c.execute(_ACQUIRE.format(s=self._schema), args).fetchone())
        if row is not None and row[0] == nonce:
            self.nonce = nonce
            return True
        return False

    def heartbeat(self) -> bool:
        if self.nonce is None:
            return False
        sql = f"UPDATE {self._schema}.locks SET acquired_at = now() WHERE key = %s AND nonce = %s"
        return bool(self._run("lock", lambda c: c.execute(sql, (self.key, self.nonce)).rowcount))

    def release(self) -> None:
        if self.nonce is None:
            return
        nonce, self.nonce = self.nonce, None
        self._run("unlock", lambda c: c.execute(_DELETE.format(s=self._schema), (self.key, nonce)))

    def inspect(self) -> dict[str, Any] | None:
        row = self._run("lock", lambda c: c.execute(_INSPECT.format(s=self._schema), (self.key,)).fetchone())
        if row is None:
            return None
        holder, hostname, pid, acquired_at, ttl_ms, nonce, stale = row
        return {"holder": holder, "hostname": hostname, "pid": pid,
                "acquiredAt": acquired_at.isoformat(timespec="milliseconds"), "ttlMs": ttl_ms, "nonce": nonce,
                "stale": bool(stale)}

    def is_stale(self, info: dict[str, Any]) -> bool:
        """Judged by the server's clock, as the extension's acquire judges it."""
        return bool(info.get("stale"))

    def force_release(self, nonce: str) -> bool:
        count = self._run("unlock", lambda c: c.execute(_DELETE.format(s=self._schema), (self.key, nonce)).rowcount)
        if count and self.nonce == nonce:
            self.nonce = None
        return bool(count)

