"""The object-store interface every datastore backend implements, and its error mapping.

Stores are synchronous and blocking (boto3, psycopg's pooled connections, file IO with
fsync); the data service calls them through `anyio.to_thread.run_sync`. Paths are swamp's
relative paths; a store adds its own namespace/prefix.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from swampd.errors import BackendUnavailable

T = TypeVar("T")

ChangeListener = Callable[[str], None]
"""Called with a changed relative path (from any thread) when the backend signals a change."""


class TransientError(Exception):
    """A backend failure worth retrying (connection reset, throttling, timeout)."""


class StoreDown(Exception):
    """The backend cannot be reached; the message names the store, never the driver's text."""


class OutcomeUnknown(StoreDown):
    """The connection was lost while a write was committing: it may or may not have been applied.
    Never retried (a retry could write it twice); the caller is told so."""


class StoreFull(StoreDown):
    """The backend is reachable but has no room (ENOSPC, EDQUOT): writes fail, reads still work."""

    def __init__(self, message: str, cause: str) -> None:
        super().__init__(message)
        self.cause = cause
        """The errno name: `ENOSPC` or `EDQUOT`."""


@dataclass(frozen=True)
class Blob:
    data: bytes
    etag: str
    """A validator that changes whenever the object changes (mtime+size, S3 ETag, row version)."""


@dataclass(frozen=True)
class Stat:
    size: int
    etag: str


NOT_MODIFIED = object()
"""Returned by `get(path, if_none_match=etag)` when the object still has that etag."""


class DistributedLock(Protocol):
    """swamp's `DistributedLock`: one key, held by one holder; `LockInfo` JSON shape in `inspect`."""

    key: str
    ttl_ms: int

    def acquire(self, max_wait_ms: int | None = None) -> None: ...
    def heartbeat(self) -> bool:
        """Extend a held lock (every TTL/3 while held); False when it is no longer this holder's."""
        ...
    def release(self) -> None: ...
    def inspect(self) -> dict[str, Any] | None: ...
    def is_stale(self, info: dict[str, Any]) -> bool: ...
    def force_release(self, nonce: str) -> bool: ...


class Writer(Protocol):
    """One version write (swamp's save order), made visible to swamp as one unit by `commit`.

    Filesystem: each step is durable at once, `commit` has nothing left to do. S3: `commit`
    publishes the new objects to the `@swamp/s3-datastore` index under swamp's global lock.
    PostgreSQL: the steps run in one transaction that `commit` stamps in `sync_state` and commits.
    `abort` (any failure before `commit`) leaves nothing of the write visible.
    """

    def list(self, prefix: str, *, recursive: bool = False) -> list[str]: ...
    def claim_version(self, version_dir: str, metadata: bytes) -> bool: ...
    def put(self, path: str, data: bytes) -> str: ...
    def commit(self) -> None: ...
    def abort(self) -> None: ...


@runtime_checkable
class ObjectStore(Protocol):
    kind: str
    """`filesystem`, `s3` or `postgres`."""
    identity: str
    """Stable text naming the datastore and namespace: cache keys are prefixed by its hash."""

    @property
    def has_change_signal(self) -> bool:
        """True while the backend pushes change notices (Postgres NOTIFY): pointers need no polling."""
        ...

    def get(self, path: str, *, if_none_match: str | None = None) -> Blob | object | None: ...
    def head(self, path: str) -> Stat | None: ...
    def put(self, path: str, data: bytes) -> str:
        """Write atomically and durably; return the new etag."""
        ...
    def create(self, path: str, data: bytes) -> bool:
        """Write only if absent (conditional create): True when this call created it."""
        ...
    def list(self, prefix: str, *, recursive: bool = False) -> list[str]:
        """Children of the dir `prefix` (names, dirs end with `/`), or every key below it."""
        ...
    def delete(self, path: str) -> bool: ...
    def claim_version(self, version_dir: str, metadata: bytes) -> bool:
        """Claim a version and write its `metadata.yaml`; False when the version is taken.

        Filesystem: non-recursive `mkdir` of the dir, then the metadata (swamp's order).
        Object stores have no dirs: a conditional create of `metadata.yaml` is the claim.
        """
        ...
    def writer(self) -> Writer:
        """A writer for one version write (callers hold the model lock)."""
        ...
    def model_lock(self, model_dir: str, *, max_wait_ms: int = 60000) -> DistributedLock:
        """swamp's per-model lock of `data/{type}/{modelId}` (key `[{ns}/]data/{type}/{modelId}/.lock`)."""
        ...
    def global_lock(self, *, max_wait_ms: int = 60000) -> DistributedLock:
        """swamp's datastore-wide lock (structural commands, index commits)."""
        ...
    def ping(self) -> None: ...
    def set_listener(self, listener: ChangeListener | None, *, interval: float = 1.0) -> None:
        """Report changed paths (or `*`) to `listener`; `interval` bounds how late a poll-based signal is."""
        ...
    def close(self) -> None: ...


@dataclass
class JournalWriter:
    """A `Writer` over a store whose every step is durable on its own (filesystem, S3).

    It remembers what it wrote (with size and sha256 when `digest` is set) so `abort` can remove
    it again and `commit` can hand it, with what it listed, to the store's `publish` hook.
    """

    store: Any
    digest: bool = False
    written: dict[str, tuple[int, str] | None] = field(default_factory=dict)
    claimed: list[str] = field(default_factory=list)
    listed: dict[str, list[str]] = field(default_factory=dict)
    done: bool = False

    def _wrote(self, path: str, data: bytes) -> None:
        self.written[path] = (len(data), hashlib.sha256(data).hexdigest()) if self.digest else None

    def list(self, prefix: str, *, recursive: bool = False) -> list[str]:
        names: list[str] = self.store.list(prefix, recursive=recursive)
        self.listed[prefix.strip("/") + ("/*" if recursive else "/")] = names
        return names

    def claim_version(self, version_dir: str, metadata: bytes) -> bool:
        if not self.store.claim_version(version_dir, metadata):
            return False
        self.claimed.append(version_dir.rstrip("/"))
        self._wrote(f"{version_dir.rstrip('/')}/metadata.yaml", metadata)
        return True

    def put(self, path: str, data: bytes) -> str:
        etag: str = self.store.put(path, data)
        self._wrote(path, data)
        return etag

    def commit(self) -> None:
        self.done = True
        publish = getattr(self.store, "publish", None)
        if publish is not None and self.written:
            publish(dict(self.written), dict(self.listed))

    def abort(self) -> None:
        """Best effort: delete what was written (newest first) and the claimed dirs."""
        if self.done:
            return
        self.done = True
        for path in reversed(list(self.written)):
            try:
                self.store.delete(path)
            except StoreDown:
                pass
        remove_dir = getattr(self.store, "remove_dir", None)
        if remove_dir is not None:
            for version_dir in self.claimed:
                remove_dir(version_dir)


def retry(fn: Callable[[], T], *, attempts: int = 3, base_delay: float = 0.05, max_delay: float = 0.5) -> T:
    """Run `fn`, retrying `TransientError` with bounded, jittered exponential backoff."""
    delay = base_delay
    for attempt in range(attempts):
        try:
            return fn()
        except TransientError as exc:
            if attempt == attempts - 1:
                raise StoreDown(str(exc)) from None
            time.sleep(min(max_delay, delay) * random.uniform(0.75, 1.25))
            delay *= 3
    raise AssertionError("unreachable")


def unavailable(store: ObjectStore, exc: StoreDown) -> BackendUnavailable:
    return BackendUnavailable(f"{store.kind} datastore is unreachable: {exc}", backend=store.kind)
