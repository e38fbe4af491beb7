"""swamp's datastore lock (reference §3.3) over any store's conditional create.

The lock file is swamp's `LockInfo` JSON: `{holder, hostname, pid, acquiredAt, ttlMs, nonce}`.
A lock older than its TTL, or held by a dead pid on this host, is stale and taken over.
"""

from __future__ import annotations

import getpass
import json
import os
import random
import socket
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from swampd.errors import LockTimeout
from swampd.storage.base import Blob, ObjectStore
from swampd.storage.layout import iso_now

T = TypeVar("T")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _parse_iso(value: str) -> float | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).timestamp()
    except (ValueError, AttributeError):
        return None


class StoreLock:
    def __init__(
        self,
        store: ObjectStore,
        key: str,
        *,
        ttl_ms: int = 30000,
        retry_interval_ms: int = 1000,
        max_wait_ms: int = 60000,
    ) -> None:
        self.store = store
        self.key = key
        self.ttl_ms = ttl_ms
        self.retry_interval_ms = retry_interval_ms
        self.max_wait_ms = max_wait_ms
        self.nonce: str | None = None
        self.hostname = socket.gethostname()

    def _info(self) -> dict[str, Any]:
        return {
            "holder": f"{getpass.getuser()}@{self.hostname}",
            "hostname": self.hostname,
            "pid": os.getpid(),
            "acquiredAt": iso_now(),
            "ttlMs": self.ttl_ms,
            "nonce": str(uuid.uuid4()),
        }

    def inspect(self) -> dict[str, Any] | None:
        blob = self.store.get(self.key)
        if not isinstance(blob, Blob):
            return None
        try:
            info = json.loads(blob.data)
        except ValueError:
            return {"holder": "unknown", "pid": 0, "acquiredAt": "", "ttlMs": 0, "nonce": ""}
        return info if isinstance(info, dict) else None

    def _is_stale(self, info: dict[str, Any]) -> bool:
        acquired = _parse_iso(str(info.get("acquiredAt", "")))
        ttl = info.get("ttlMs", self.ttl_ms)
        if acquired is None or not isinstance(ttl, (int, float)) or time.time() - acquired > ttl / 1000:
            return True
        pid = info.get("pid")
        same_host = info.get("hostname") in (None, self.hostname)
        return bool(same_host and isinstance(pid, int) and pid > 0 and not _pid_alive(pid))

    def try_acquire(self) -> bool:
        info = self._info()
        if self.store.create(self.key, json.dumps(info, indent=2).encode()):
            self.nonce = info["nonce"]
            return True
        current = self.inspect()
        if current is not None and self._is_stale(current):
            self.force_release(str(current.get("nonce", "")))
            if self.store.create(self.key, json.dumps(info, indent=2).encode()):
                self.nonce = info["nonce"]
                return True
        return False

    def acquire(self, max_wait_ms: int | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        budget = (self.max_wait_ms if max_wait_ms is None else max_wait_ms) / 1000
        deadline = time.monotonic() + budget
        delay = self.retry_interval_ms / 1000
        while not self.try_acquire():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                holder = (self.inspect() or {}).get("holder", "unknown")
                raise LockTimeout(f"lock {self.key} is held by {holder}", key=self.key, holder=holder,
                                  waited_ms=int(budget * 1000))
            sleep(max(0.0, min(remaining, delay * random.uniform(0.75, 1.25))))
            delay = min(delay * 2, 8.0)

    def release(self) -> None:
        """Idempotent: deletes the lock only while this holder's nonce is in it."""
        if self.nonce is None:
            return
        current = self.inspect()
        if current is not None and current.get("nonce") == self.nonce:
            self.store.delete(self.key)
        self.nonce = None

    def force_release(self, nonce: str) -> bool:
        current = self.inspect()
        if current is None or current.get("nonce") != nonce:
            return False
        self.store.delete(self.key)
        if self.nonce == nonce:
            self.nonce = None
        return True

    def with_lock(self, fn: Callable[[], T]) -> T:
        self.acquire()
        try:
            return fn()
        finally:
            self.release()
