"""The daemon's recent past: its counters once a second for the last hour (`stats.history`).

The console's charts read this instead of keeping their own samples, so a console started
now still shows the last hour, and two consoles show the same thing. Samples are counter
totals (requests, cache hits, cache reads); a window is answered as buckets of differences
between samples, so a bucket's hit ratio is exactly hits/reads of the reads in that bucket.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

from swampd.errors import InvalidParams

KEEP_SECONDS = 3600
MAX_POINTS = 600


class Sample(NamedTuple):
    t: float
    """time.time() of the sample."""
    requests: int
    hits: int
    reads: int


Counters = Callable[[], tuple[int, int, int]]
"""() -> (requests_total, cache hits, cache reads) now."""


class History:
    def __init__(self, counters: Counters, *, interval: float = 1.0, clock: Callable[[], float] = time.time) -> None:
        self.counters = counters
        self.interval = interval
        self.clock = clock
        self.samples: deque[Sample] = deque(maxlen=int(KEEP_SECONDS / interval) + 2)
        self.started = clock()
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        requests, hits, reads = self.counters()
        self.samples.append(Sample(self.clock(), requests, hits, reads))

    async def start(self) -> None:
        self.sample()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="swampd history")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.sample()

    async def aclose(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def window(self, seconds: int, points: int) -> dict[str, Any]:
        """`points` buckets covering the last `seconds` (oldest first), and what they cover.

        A bucket with no sample pair (before the daemon started) is left out, so `covered` says
        honestly how much of the window there is; `hit_ratio` is None where nothing was read.
        """
        if not isinstance(seconds, int) or isinstance(seconds, bool) or not 10 <= seconds <= KEEP_SECONDS:
            raise InvalidParams(f"window must be whole seconds within 10..{KEEP_SECONDS}")
        if not isinstance(points, int) or isinstance(points, bool) or not 1 <= points <= MAX_POINTS:
            raise InvalidParams(f"points must be within 1..{MAX_POINTS}")
        self.sample()  # the newest bucket ends now
        samples = list(self.samples)
        now = samples[-1].t
        step = seconds / points
        out: list[dict[str, object]] = []
        index = 0
        for n in range(points):
            start, end = now - seconds + n * step, now - seconds + (n + 1) * step
            while index + 1 < len(samples) and samples[index + 1].t <= start:
                index += 1
            first = samples[index]
            last = first
            j = index
            while j + 1 < len(samples) and samples[j + 1].t <= end:
                j += 1
                last = samples[j]
            if last.t <= first.t or last.t <= start:
                continue
            out.append(_bucket(first, last, end))
        oldest = samples[0].t
        base = samples[0]
        for sample in samples:
            if sample.t > now - seconds:
                break
            base = sample
        overall = _bucket(base, samples[-1], now)
        return {
            "window": seconds,
            "step": round(step, 3),
            "now": now,
            "covered": round(min(seconds, now - max(oldest, now - seconds)), 1),
            "daemon_started": self.started,
            "points": out,
            "overall": overall,
        }


def _bucket(first: Sample, last: Sample, end: float) -> dict[str, object]:
    elapsed = last.t - first.t
    reads = last.reads - first.reads
    hits = last.hits - first.hits
    return {
        "t": round(end, 3),
        "seconds": round(elapsed, 3),
        "reads": reads,
        "hits": hits,
        "hit_ratio": round(hits / reads, 4) if reads > 0 else None,
        "requests_per_s": round((last.requests - first.requests) / elapsed, 3) if elapsed > 0 else 0.0,
    }
