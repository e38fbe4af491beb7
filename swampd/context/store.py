"""The context store: one diskcache (bytes only, never pickle) holding every scope's values.

Each entry is `{scope}/{key}` -> the value's compact JSON bytes, with a JSON tag holding its
metadata (version, size, ttl, deadline, created/updated). Expiry is ours, not diskcache's:
an entry past its deadline reads as absent at once, and is removed (and its bytes given
back) by `expire_due` / `expire_all`. diskcache's own expiry is not used because it culls
silently, and the store's byte count and the `context.expired` events must see every removal.

Two counters live in the store itself, updated in the same SQLite transaction as the entry:
`#seq` (versions are unique across the store, so a key dropped and written again never
reuses a version a client still holds) and `#bytes` (the quota). Every method blocks (SQLite):
call it from a worker thread. Writers in one process take a lock first, so they queue in
Python instead of spinning on SQLite's busy handler; writers in other processes (an
in-process `--no-daemon` CLI) are serialized by the transaction.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import diskcache
import orjson

from swampd.errors import BackendUnavailable, Conflict, LockTimeout, TooLarge
from swampd.storage.hottier import BytesDisk

SEQ_KEY = "#seq"
BYTES_KEY = "#bytes"


class ContextDisk(BytesDisk):
    """The bytes-only Disk that can take back the value files of a write that did not commit.

    diskcache writes a large value's file before its row, and keeps neither a half-written file
    (a full disk) nor the file of a row whose transaction rolled back: this Disk records the files
    it writes, so the store removes them when the transaction does not commit.
    """

    def __init__(self, directory: str, **kwargs: Any) -> None:
        super().__init__(directory, **kwargs)
        self.written: list[str] = []

    def _write(self, full_path: str, iterator: Any, mode: str, encoding: str | None = None) -> Any:
        try:
            size = super()._write(full_path, iterator, mode, encoding)
        except OSError:
            with suppress(OSError):
                os.remove(full_path)
            raise
        self.written.append(full_path)
        return size


def store_key(scope: str, key: str) -> str:
    return f"{scope}/{key}"


@dataclass(frozen=True)
class Item:
    """One key's metadata (its value is kept apart: listings never read values)."""

    scope: str
    key: str
    version: int
    size: int
    ttl: float
    expires_at: float
    created_at: float
    updated_at: float

    def tag(self) -> str:
        return orjson.dumps({"v": self.version, "size": self.size, "ttl": self.ttl, "exp": self.expires_at,
                             "created": self.created_at, "updated": self.updated_at}).decode()

    @classmethod
    def from_tag(cls, skey: str, tag: str) -> Item:
        scope, _, key = skey.partition("/")
        meta = orjson.loads(tag)
        return cls(scope, key, meta["v"], meta["size"], meta["ttl"], meta["exp"], meta["created"], meta["updated"])

    def live(self, now: float) -> bool:
        return self.expires_at > now

    def describe(self, now: float) -> dict[str, Any]:
        return {"scope": self.scope, "key": self.key, "version": self.version, "size": self.size,
                "ttl": self.ttl, "ttl_left": round(max(0.0, self.expires_at - now), 3),
                "expires_at": self.expires_at, "created_at": self.created_at, "updated_at": self.updated_at}


class ContextStore:
    def __init__(self, directory: str, *, max_store_bytes: int) -> None:
        self.directory = directory
        self.max_store_bytes = max_store_bytes
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            os.chmod(directory, 0o700)
            self._cache = diskcache.Cache(directory, disk=ContextDisk, eviction_policy="none", cull_limit=0,
                                          statistics=False)
        except (OSError, sqlite3.Error) as exc:
            raise self._unavailable("cannot be opened", exc) from None
        self._write_lock = threading.Lock()

    def _unavailable(self, what: str, exc: BaseException) -> BackendUnavailable:
        """A full, read-only or broken store dir, said in one line (never "internal error")."""
        if isinstance(exc, OSError):
            cause = errno.errorcode.get(exc.errno or 0, "error")
        elif isinstance(exc, sqlite3.Error) and "full" in str(exc):
            cause = "ENOSPC"  # SQLite's "database or disk is full"
        else:
            cause = f"sqlite: {exc}"
        room = " (no space left)" if cause in ("ENOSPC", "EDQUOT") else ""
        return BackendUnavailable(f"the context store {self.directory} {what}{room}: {cause}", cause=cause)

    def close(self) -> None:
        self._cache.close()

    @contextmanager
    def _writing(self) -> Iterator[None]:
        with self._write_lock:
            written = self._cache.disk.written
            written.clear()
            try:
                with self._cache.transact():
                    yield  # an exception rolls the whole transaction back: nothing of the write is kept
            except BaseException as exc:
                for path in written:  # nor any value file it wrote
                    with suppress(OSError):
                        os.remove(path)
                if isinstance(exc, diskcache.Timeout):
                    raise LockTimeout("the context store is locked by another process; try again") from None
                if isinstance(exc, (OSError, sqlite3.Error)):
                    raise self._unavailable("cannot be written", exc) from None
                raise
            finally:
                written.clear()

    # -- reads ---------------------------------------------------------------------------------

    def _item(self, skey: str) -> Item | None:
        """The entry's metadata, expired or not (None when there is no entry)."""
        handle, tag = self._cache.get(skey, default=None, read=True, tag=True)
        if handle is None or tag is None:
            return None
        if not isinstance(handle, bytes):
            handle.close()
        return Item.from_tag(skey, tag)

    def get(self, scope: str, key: str, now: float) -> tuple[bytes, Item] | None:
        value, tag = self._cache.get(store_key(scope, key), default=None, tag=True)
        if value is None or tag is None:
            return None
        item = Item.from_tag(store_key(scope, key), tag)
        return (value, item) if item.live(now) else None

    def _keys(self, scope: str | None) -> Iterator[str]:
        prefix = f"{scope}/" if scope is not None else None
        for skey in self._cache.iterkeys():  # in key order: a scope's keys are one run
            if skey.startswith("#"):
                continue
            if prefix is not None:
                if skey < prefix:
                    continue
                if not skey.startswith(prefix):
                    break
            yield skey

    def items(self, scope: str | None = None) -> list[Item]:
        """Every entry of one scope (or of all), expired ones included: callers filter by `now`."""
        return [item for skey in self._keys(scope) if (item := self._item(skey)) is not None]

    def used_bytes(self) -> int:
        return self._counter(BYTES_KEY)

    # -- writes --------------------------------------------------------------------------------

    def _counter(self, name: str, delta: int = 0) -> int:
        raw = self._cache.get(name, default=None)
        value = int(raw) if raw is not None else 0
        if delta:
            value = max(0, value + delta)
            self._cache.set(name, str(value).encode())
        return value

    def put(self, scope: str, key: str, value: bytes, *, ttl: float, if_version: int | None,
            now: float) -> tuple[Item, Item | None]:
        """Compare-and-set one key; returns (the new item, the live item it replaced)."""
        skey = store_key(scope, key)
        with self._writing():
            old = self._item(skey)
            live = old if old is not None and old.live(now) else None
            if if_version is not None:
                current = live.version if live is not None else 0
                if current != if_version:
                    raise Conflict(
                        f"context {scope}/{key} is at version {current}, not {if_version}; "
                        "read it again and retry", current_version=current, expected_version=if_version)
            grow = len(value) - (old.size if old is not None else 0)
            used = self._counter(BYTES_KEY)
            if grow > 0 and used + grow > self.max_store_bytes:
                raise TooLarge(f"the context store is full ({used} of {self.max_store_bytes} bytes used); "
                               "drop scopes or let their ttls run out", limit=self.max_store_bytes,
                               used=used, reason="store_full")
            item = Item(scope, key, self._counter(SEQ_KEY, 1), len(value), ttl, now + ttl,
                        live.created_at if live is not None else now, now)
            self._cache.set(skey, value, tag=item.tag())
            self._counter(BYTES_KEY, grow)
            return item, live

    def _remove(self, skeys: list[str], keep: Any) -> list[Item]:
        """Delete the entries `keep(item)` says go; returns them. Call inside `_writing`."""
        removed = []
        for skey in skeys:
            item = self._item(skey)
            if item is not None and keep(item):
                self._cache.delete(skey)
                removed.append(item)
        if removed:
            self._counter(BYTES_KEY, -sum(i.size for i in removed))
        return removed

    def drop(self, scope: str, key: str | None, now: float) -> list[Item]:
        """Remove one key or a whole scope; returns the live entries removed."""
        with self._writing():
            skeys = [store_key(scope, key)] if key is not None else list(self._keys(scope))
            removed = self._remove(skeys, lambda item: True)
        return [i for i in removed if i.live(now)]

    def expire_due(self, due: list[tuple[str, int]], now: float) -> list[Item]:
        """Remove the given (store key, version) entries that are still that version and past their deadline."""
        versions = dict(due)
        with self._writing():
            return self._remove(list(versions), lambda i: i.version == versions[store_key(i.scope, i.key)]
                                and not i.live(now))

    def expire_all(self, now: float) -> list[Item]:
        """Remove every entry past its deadline (a full scan: at start and when the store is full)."""
        with self._writing():
            return self._remove(list(self._keys(None)), lambda i: not i.live(now))
