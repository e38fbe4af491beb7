"""The object-store interface every datastore backend implements, and its error mapping.

Stores are synchronous and blocking (boto3, psycopg's pooled connections, file IO with
fsync); the data service calls them through `anyio.to_thread.run_sync`. Paths are swamp's
relative paths; a store adds its own namespace/prefix.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

from swampd.errors import BackendUnavailable

T = TypeVar("T")

ChangeListener = Callable[[str], None]
"""Called with a changed relative path (from any thread) when the backend signals a change."""


class TransientError(Exception):
    """A backend failure worth retrying (connection reset, throttling, timeout)."""


class StoreDown(Exception):
    """The backend cannot be reached; the message names the store, never the driver's text."""


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


@runtime_checkable
class ObjectStore(Protocol):
    kind: str
    """`filesystem`, `s3` or `postgres`."""
    identity: str
    """Stable text naming the datastore and namespace: cache keys are prefixed by its hash."""
    has_change_signal: bool
    """True while the backend pushes change notices (Postgres NOTIFY): pointers need no polling."""

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
    def ping(self) -> None: ...
    def set_listener(self, listener: ChangeListener | None) -> None: ...
    def close(self) -> None: ...


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
