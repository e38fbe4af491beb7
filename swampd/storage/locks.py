"""swamp's datastore locks (reference §3.3).

`StoreLock` is swamp's `FileLock`/`S3Lock` over any store's conditional create: the lock file is
swamp's `LockInfo` JSON `{holder, hostname, pid, acquiredAt, ttlMs, nonce}`; a lock older than its
TTL, or held by a dead pid on this host, is stale and taken over. `model_lock_held` takes a
per-model lock the way swamp's `acquireModelLocks` does: never while a structural command holds
the datastore's global lock.
"""

from __future__ import annotations

import getpass
import json
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from swampd.errors import LockTimeout
from swampd.storage.base import Blob, DistributedLock, ObjectStore, StoreDown
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


class BackoffLock:
    """The acquire loop every swamp lock shares: try, back off (jittered, growing), give up at the
    budget with a `lock_timeout` naming the holder. Subclasses give `try_acquire` and `inspect`."""

    backoff_growth = 2.0
    backoff_max_s = 8.0

    def __init__(self, key: str, *, ttl_ms: int, retry_interval_ms: int, max_wait_ms: int) -> None:
        self.key = key
        self.ttl_ms = ttl_ms
        self.retry_interval_ms = retry_interval_ms
        self.max_wait_ms = max_wait_ms
        self.nonce: str | None = None
        self.hostname = socket.gethostname()

    def try_acquire(self) -> bool:
        raise NotImplementedError

    def inspect(self) -> dict[str, Any] | None:
        raise NotImplementedError

    def acquire(self, max_wait_ms: int | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        budget = (self.max_wait_ms if max_wait_ms is None else max_wait_ms) / 1000
        deadline = time.monotonic() + budget
        delay = self.retry_interval_ms / 1000
        while not self.try_acquire():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                holder = str((self.inspect() or {}).get("holder", "unknown"))
                raise LockTimeout(f"lock {self.key} is held by {holder}", key=self.key, holder=holder,
                                  waited_ms=int(budget * 1000))
            sleep(max(0.0, min(remaining, delay * random.uniform(0.75, 1.25))))
            delay = min(delay * self.backoff_growth, self.backoff_max_s)

    def release(self) -> None:
        raise NotImplementedError

    def with_lock(self, fn: Callable[[], T]) -> T:
        self.acquire()
        try:
            return fn()
        finally:
            self.release()


class StoreLock(BackoffLock):
    """swamp's FileLock / S3Lock: a `LockInfo` JSON object made with a conditional create."""

    def __init__(
        self,
        store: ObjectStore,
        key: str,
        *,
        ttl_ms: int = 30000,
        retry_interval_ms: int = 1000,
        max_wait_ms: int = 60000,
    ) -> None:
        super().__init__(key, ttl_ms=ttl_ms, retry_interval_ms=retry_interval_ms, max_wait_ms=max_wait_ms)
        self.store = store

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

    def is_stale(self, info: dict[str, Any]) -> bool:
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
        if current is not None and self.is_stale(current):
            self.force_release(str(current.get("nonce", "")))
            if self.store.create(self.key, json.dumps(info, indent=2).encode()):
                self.nonce = info["nonce"]
                return True
        return False

    def heartbeat(self) -> bool:
        """swamp's heartbeat: re-read, give up on a foreign nonce, else rewrite with a fresh `acquiredAt`."""
        if self.nonce is None:
            return False
        current = self.inspect()
        if current is None or current.get("nonce") != self.nonce:
            return False
        self.store.put(self.key, json.dumps({**current, "acquiredAt": iso_now()}, indent=2).encode())
        return True

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


def _wait_until_free(lock: DistributedLock, deadline: float, sleep: Callable[[float], None]) -> None:
    """Wait while someone holds `lock` (swamp's global lock); a stale holder is cleared as swamp does."""
    while True:
        info = lock.inspect()
        if info is None:
            return
        if lock.is_stale(info):
            lock.force_release(str(info.get("nonce", "")))
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            holder = str(info.get("holder", "unknown"))
            raise LockTimeout(f"lock {lock.key} is held by {holder}", key=lock.key, holder=holder)
        sleep(min(remaining, random.uniform(0.15, 0.25)))


@contextmanager
def model_lock_held(store: ObjectStore, model_dir: str, *, max_wait_ms: int = 60000,
                    sleep: Callable[[float], None] = time.sleep) -> Iterator[DistributedLock]:
    """Hold swamp's per-model lock of `model_dir`, taken as `acquireModelLocks` takes it: take the
    model lock, then look at the global lock; while a structural command (`swamp data gc`, …)
    holds it, let go, wait for it and start over: structural commands run alone."""
    deadline = time.monotonic() + max_wait_ms / 1000
    global_lock = store.global_lock(max_wait_ms=max_wait_ms)
    lock = store.model_lock(model_dir, max_wait_ms=max_wait_ms)
    while True:
        lock.acquire(max(0, int((deadline - time.monotonic()) * 1000)))
        info = global_lock.inspect()  # swamp looks before and after; after is what closes the race
        if info is None or global_lock.is_stale(info):
            break
        lock.release()
        _wait_until_free(global_lock, deadline, sleep)
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(lock, stop), name="swampd-lock-heartbeat", daemon=True)
    beat.start()
    try:
        yield lock
    finally:
        stop.set()
        beat.join()
        try:
            lock.release()
        except StoreDown:
            pass  # the lock expires by its TTL (or its dead pid)


def _heartbeat(lock: DistributedLock, stop: threading.Event) -> None:
    """Keep a held lock fresh (a long upload must not look like a crashed holder to swamp)."""
    while not stop.wait(lock.ttl_ms / 3000):
        try:
            if not lock.heartbeat():
                return
        except StoreDown:
            pass  # try again next beat; the TTL covers two missed beats
