"""Hot-tier counters per backend, latency percentiles, and rate-limited `cache` events."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

Publish = Callable[[str, dict[str, Any]], None]
TOPIC = "cache"
MAX_ITEMS = 10_000


def percentile(samples: list[float], q: float) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


class BackendStats:
    def __init__(self) -> None:
        self.requests = 0
        self.hits = 0
        self.misses = 0
        self.stale_served = 0
        self.backend_errors = 0
        self.backend_reads = 0
        self.latencies: deque[float] = deque(maxlen=2048)

    def snapshot(self) -> dict[str, Any]:
        samples = list(self.latencies)
        p50, p95 = percentile(samples, 0.5), percentile(samples, 0.95)
        return {
            "requests": self.requests,
            "hits": self.hits,
            "misses": self.misses,
            "hit_ratio": round(self.hits / self.requests, 4) if self.requests else None,
            "stale_served": self.stale_served,
            "backend_reads": self.backend_reads,
            "backend_errors": self.backend_errors,
            "latency_p50_ms": None if p50 is None else round(p50 * 1000, 3),
            "latency_p95_ms": None if p95 is None else round(p95 * 1000, 3),
        }


class CacheStats:
    """Counters (touched from the loop and worker threads) and an aggregating event emitter."""

    def __init__(self, publish: Publish, events_per_second: float = 2.0,
                 evictions: Callable[[], int] | None = None) -> None:
        self.publish = publish
        self._evictions = evictions or (lambda: 0)
        self._evictions_seen = 0
        self.manual_evictions = 0
        self.items: dict[str, tuple[int, int]] = {}
        self.backends: dict[str, BackendStats] = {}
        self._interval = 1.0 / events_per_second if events_per_second > 0 else float("inf")
        self._lock = threading.Lock()
        self._pending: dict[str, int] = {"hits": 0, "misses": 0, "evictions": 0, "stale": 0}
        self._last_emit = 0.0

    def backend(self, kind: str) -> BackendStats:
        stats = self.backends.get(kind)
        if stats is None:
            stats = self.backends.setdefault(kind, BackendStats())
        return stats

    def hit(self, kind: str, *, stale: bool = False, item: str | None = None) -> None:
        b = self.backend(kind)
        b.requests += 1
        b.hits += 1
        if stale:
            b.stale_served += 1
        if item is not None:
            self._count_item(item, 1)
        self._note("stale" if stale else "hits")

    def miss(self, kind: str, *, item: str | None = None) -> None:
        b = self.backend(kind)
        b.requests += 1
        b.misses += 1
        if item is not None:
            self._count_item(item, 0)
        self._note("misses")

    def _count_item(self, item: str, hit: int) -> None:
        """Reads and hits per data version (`{store}/data/.../{version}`), the most recent MAX_ITEMS."""
        with self._lock:
            reads, hits = self.items.pop(item, (0, 0))
            self.items[item] = (reads + 1, hits + hit)  # re-inserted: the dict stays in recency order
            if len(self.items) > MAX_ITEMS:
                self.items.pop(next(iter(self.items)), None)

    def item_counts(self, key: str) -> tuple[int, int] | None:
        """(reads, hits) of the data version a cache key belongs to (None: not read since start)."""
        return self.items.get(key.rsplit("/", 1)[0]) if "/" in key else None

    def backend_call(self, kind: str, seconds: float, *, ok: bool) -> None:
        b = self.backend(kind)
        b.backend_reads += 1
        b.latencies.append(seconds)
        if not ok:
            b.backend_errors += 1

    def evicted(self, count: int) -> None:
        if count:
            self._note("evictions", count)

    def evicted_by_request(self, count: int) -> None:
        """Keys an operator evicted (`cache.evict`); size evictions are the hot tier's own count."""
        self.manual_evictions += count

    def _note(self, what: str, count: int = 1) -> None:
        """Aggregate; publish at most `events_per_second` `cache.activity` events."""
        with self._lock:
            self._pending[what] += count
            now = time.monotonic()
            if now - self._last_emit < self._interval:
                return
            self._pending["evictions"] += self._size_evictions()
            data = {"type": "cache.activity", **self._pending, "since": round(now - self._last_emit, 3)
                    if self._last_emit else None}
            self._pending = dict.fromkeys(self._pending, 0)
            self._last_emit = now
        self.publish(TOPIC, data)

    def _size_evictions(self) -> int:
        """Entries the size limit removed since the last event (read at most once per event)."""
        total = self._evictions()
        delta, self._evictions_seen = max(0, total - self._evictions_seen), total
        return delta

    def flush(self) -> None:
        with self._lock:
            self._pending["evictions"] += self._size_evictions()
            if not any(self._pending.values()):
                return
            data = {"type": "cache.activity", **self._pending}
            self._pending = dict.fromkeys(self._pending, 0)
            self._last_emit = time.monotonic()
        self.publish(TOPIC, data)

    def totals(self) -> tuple[int, int]:
        """(hits, requests) over every backend: cheap, for the once-a-second history."""
        backends = list(self.backends.values())
        return sum(b.hits for b in backends), sum(b.requests for b in backends)

    def snapshot(self) -> dict[str, Any]:
        per = {kind: b.snapshot() for kind, b in sorted(self.backends.items())}
        total = BackendStats()
        for b in self.backends.values():
            total.requests += b.requests
            total.hits += b.hits
            total.misses += b.misses
            total.stale_served += b.stale_served
            total.backend_errors += b.backend_errors
            total.backend_reads += b.backend_reads
            total.latencies.extend(b.latencies)
        return {"overall": total.snapshot(), "backends": per}
