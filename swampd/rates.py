"""Counts over a sliding window of seconds: one slot per second, O(1) to add, O(window) to sum.

Used where "in the last minute" is asked (cache hit rate, requests per peer) without a timer
task or a timestamp per event. Not thread-safe: callers that count from several threads hold
their own lock.
"""

from __future__ import annotations

import time

RECENT_WINDOW = 60
"""Seconds "recent" means in what the daemon reports (`swamp top`: requests per peer, cache hit rate)."""


class RollingCounter:
    __slots__ = ("_second", "_slots", "window")

    def __init__(self, window: int = RECENT_WINDOW, now: float | None = None) -> None:
        if window < 1:
            raise ValueError("window must be at least one second")
        self.window = window
        self._slots = [0] * window
        self._second = int(time.monotonic() if now is None else now)

    def _advance(self, second: int) -> None:
        gap = second - self._second
        if gap <= 0:
            return
        if gap >= self.window:
            self._slots = [0] * self.window
        else:
            for s in range(self._second + 1, second + 1):
                self._slots[s % self.window] = 0
        self._second = second

    def add(self, count: int = 1, now: float | None = None) -> None:
        second = int(time.monotonic() if now is None else now)
        if second > self._second:
            self._advance(second)
        elif second <= self._second - self.window:
            return  # older than the window (a late caller): it no longer counts
        self._slots[second % self.window] += count

    def total(self, now: float | None = None) -> int:
        """What was added in the last `window` seconds (the current second included)."""
        self._advance(int(time.monotonic() if now is None else now))
        return sum(self._slots)
