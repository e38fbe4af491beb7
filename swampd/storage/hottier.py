"""The local hot tier: diskcache holding bytes only (never pickle, CVE-2025-69872), dir 0700.

Each entry's value is the object's bytes; its diskcache `tag` is a small JSON text with what
the cache needs to know about it (backend kind, etag, stored-at, size, mutable flag).
Values of `min_file_size` or more live in their own files, which `path_of` hands out.

Two tiers: entries up to `memory_item_limit` bytes are also kept in process memory (LRU, bounded
by `memory_limit` bytes), so a hot hit touches no SQLite; every write, delete, prefix eviction and
clear goes through both. Hits and misses are counted per tier (`tier_stats`, in `cache.stats`).
"""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import diskcache
import orjson

from swampd.config import settings_from_table
from swampd.errors import BackendUnavailable, InvalidInput

POLICIES = ("least-recently-stored", "least-recently-used", "least-frequently-used", "none")


class BytesDisk(diskcache.Disk):  # type: ignore[misc]  # diskcache ships no types
    """A diskcache Disk that stores `str` keys and `bytes` values only and never unpickles."""

    def put(self, key: Any) -> tuple[Any, bool]:
        if type(key) is not str:
            raise TypeError("hot-tier keys are str")
        stored: tuple[Any, bool] = super().put(key)
        return stored

    def get(self, key: Any, raw: bool) -> Any:
        if not raw:
            raise TypeError("refusing a pickled hot-tier key")
        return super().get(key, raw)

    def store(self, value: Any, read: bool, key: Any = diskcache.core.UNKNOWN) -> Any:
        if type(value) is not bytes:
            raise TypeError("hot-tier values are bytes")
        return super().store(value, read, key=key)

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
        if mode not in (diskcache.core.MODE_RAW, diskcache.core.MODE_BINARY):
            raise TypeError("refusing a non-bytes hot-tier value")
        return super().fetch(mode, filename, value, read)


@dataclass(frozen=True)
class CacheSettings:
    size_limit: int = 1 << 30
    eviction_policy: str = "least-recently-stored"
    staleness: float = 1.0
    """Seconds a `latest` pointer or a listing may be served without revalidation."""
    signal_staleness: float = 60.0
    """The same bound while the backend pushes change notices (Postgres NOTIFY): a change drops the
    entry at once, so the pointer is only re-read in case a notice was lost."""
    inline_limit: int = 8 << 20
    """Larger values are only returned as a path to the cached file (`as_path`), never inline."""
    min_file_size: int = 32 * 1024
    memory_limit: int = 64 * 1024 * 1024
    """Bytes of small entries also kept in process memory in front of diskcache (0 = off)."""
    memory_item_limit: int = 64 * 1024
    events_per_second: float = 2.0

    @classmethod
    def from_mapping(cls, raw: dict[str, Any]) -> CacheSettings:
        settings = settings_from_table(cls, raw, "cache")
        if settings.eviction_policy not in POLICIES:
            raise InvalidInput(f"[cache] eviction_policy must be one of {', '.join(POLICIES)}")
        if settings.staleness < 0 or settings.size_limit <= 0:
            raise InvalidInput("[cache] staleness must be >= 0 and size_limit > 0")
        return settings


@dataclass(frozen=True)
class Entry:
    value: bytes
    meta: dict[str, Any]


class HotTier:
    def __init__(self, directory: str, settings: CacheSettings) -> None:
        self.directory = directory
        self.settings = settings
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            os.chmod(directory, 0o700)
            self._cache = diskcache.Cache(
                directory,
                disk=BytesDisk,
                size_limit=settings.size_limit,
                eviction_policy=settings.eviction_policy,
                disk_min_file_size=settings.min_file_size,
                cull_limit=10,
                statistics=False,
            )
        except (OSError, sqlite3.Error) as exc:  # a full or read-only cache dir: say so, not "internal error"
            cause = errno.errorcode.get(exc.errno or 0, "error") if isinstance(exc, OSError) else f"sqlite: {exc}"
            raise BackendUnavailable(f"the hot tier {directory} cannot be opened ({cause})", cause=cause) from None
        self.sets = 0
        self.explicit_deletes = 0
        self.overwrites = 0
        self._initial_count = len(self._cache)
        self._memory: OrderedDict[str, Entry] = OrderedDict()
        self._memory_bytes = 0
        self._memory_lock = threading.Lock()
        self.memory_hits = 0
        self.disk_hits = 0
        self.misses = 0

    def get(self, key: str) -> Entry | None:
        entry = self._memory.get(key)
        if entry is not None:
            self.memory_hits += 1
            try:
                self._memory.move_to_end(key)  # least recently used goes first
            except KeyError:
                pass  # dropped by another thread in between: still a valid copy to answer with
            return entry
        value, tag = self._cache.get(key, default=None, tag=True)
        if value is None or tag is None:
            self.misses += 1
            return None
        self.disk_hits += 1
        entry = Entry(value, orjson.loads(tag))
        self._remember(key, entry)
        return entry

    def held(self, key: str) -> Entry | None:
        """The in-memory copy of an entry, if any, without counting a read or touching its recency."""
        return self._memory.get(key)

    def _remember(self, key: str, entry: Entry) -> None:
        """Keep a small entry in the in-memory front (LRU by bytes)."""
        size = len(entry.value)
        if size > self.settings.memory_item_limit or self.settings.memory_limit <= 0:
            return
        with self._memory_lock:
            old = self._memory.pop(key, None)
            if old is not None:
                self._memory_bytes -= len(old.value)
            self._memory[key] = entry
            self._memory_bytes += size
            while self._memory_bytes > self.settings.memory_limit and self._memory:
                _, dropped = self._memory.popitem(last=False)
                self._memory_bytes -= len(dropped.value)

    def _forget(self, key: str) -> None:
        with self._memory_lock:
            old = self._memory.pop(key, None)
            if old is not None:
                self._memory_bytes -= len(old.value)

    def path_of(self, key: str) -> str | None:
        """The file holding a large value (None when it lives inline in the database)."""
        handle = self._cache.get(key, default=None, read=True)
        if handle is None or isinstance(handle, bytes):
            return None
        try:
            name = getattr(handle, "name", None)
            return name if isinstance(name, str) else None
        finally:
            handle.close()

    def meta(self, key: str) -> dict[str, Any] | None:
        """An entry's metadata without reading a large value."""
        handle, tag = self._cache.get(key, default=None, read=True, tag=True)
        if handle is None or tag is None:
            return None
        if not isinstance(handle, bytes):
            handle.close()
        meta: dict[str, Any] = orjson.loads(tag)
        return meta

    def set(self, key: str, value: bytes, meta: dict[str, Any]) -> None:
        meta = {**meta, "stored": time.time(), "size": len(value)}
        if key in self._cache:
            self.overwrites += 1
        self._forget(key)
        self._cache.set(key, value, tag=orjson.dumps(meta).decode())
        self.sets += 1
        self._remember(key, Entry(value, meta))

    def delete(self, key: str) -> bool:
        self._forget(key)
        removed = bool(self._cache.delete(key))
        self.explicit_deletes += removed
        return removed

    def keys(self, prefix: str = "") -> list[str]:
        return [k for k in self._cache.iterkeys() if k.startswith(prefix)]

    def evict_prefix(self, prefix: str) -> int:
        with self._memory_lock:  # also what diskcache has already dropped by size
            for key in [k for k in self._memory if k.startswith(prefix)]:
                self._memory_bytes -= len(self._memory.pop(key).value)
        return sum(1 for k in self.keys(prefix) if self.delete(k))

    def tier_stats(self) -> dict[str, dict[str, Any]]:
        """Hits and misses per tier since start: a lookup is a memory hit, else a disk hit, else a miss."""
        lookups = self.memory_hits + self.disk_hits + self.misses
        return {
            "memory": {"hits": self.memory_hits, "misses": self.disk_hits + self.misses,
                       "hit_ratio": round(self.memory_hits / lookups, 4) if lookups else None,
                       "items": len(self._memory), "bytes": self._memory_bytes,
                       "max_bytes": self.settings.memory_limit, "max_item_bytes": self.settings.memory_item_limit},
            "disk": {"hits": self.disk_hits, "misses": self.misses,
                     "hit_ratio": round(self.disk_hits / (self.disk_hits + self.misses), 4)
                     if self.disk_hits + self.misses else None},
        }

    def clear(self) -> int:
        with self._memory_lock:
            self._memory.clear()
            self._memory_bytes = 0
        count: int = self._cache.clear()
        self.explicit_deletes += count
        return count

    @property
    def volume(self) -> int:
        return int(self._cache.volume())

    @property
    def count(self) -> int:
        return len(self._cache)

    @property
    def evictions(self) -> int:
        """Entries the size limit removed (what was stored minus what is left and what was evicted on request)."""
        return max(0, self._initial_count + self.sets - self.overwrites - self.explicit_deletes - self.count)

    def close(self) -> None:
        self._cache.close()
