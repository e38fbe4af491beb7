"""One budget for the bytes every connection holds in unfinished frames.

Each connection may hold one frame of up to `max_line_bytes` before its newline; without a
shared bound, a hundred clients that each send 15 MiB and never finish hold 1.5 GB. Here a
connection whose unfinished frame takes the total over the budget stops being read (its
client blocks in `send`, the kernel buffers the rest) until frames finish or connections
close. One holder is always left reading, so the oldest frame can always complete: the total
stays below `limit` + one frame + one read (256 KiB) per connection.

A holder that sends nothing for `stall_timeout` seconds while others wait for the budget is
closed: a stalled client must not hold everyone else's frames back forever.
"""

from __future__ import annotations

import time
from typing import Protocol


class FrameHolder(Protocol):
    def pause_frames(self) -> None:
        """Stop reading from this client (budget exhausted)."""

    def resume_frames(self) -> None:
        """Read from this client again."""

    def stalled(self, seconds: float) -> None:
        """Close this client: its unfinished frame made no progress for `seconds`."""

    @property
    def last_data(self) -> float:
        """`time.monotonic()` when this client last sent a byte."""
        ...


class FrameBudget:
    def __init__(self, limit: int, *, stall_timeout: float) -> None:
        self.limit = limit
        self.stall_timeout = stall_timeout
        self.held = 0
        self.peak = 0
        self.pauses_total = 0
        self.stalled_total = 0
        self._holders: dict[FrameHolder, int] = {}
        """Connections with an unfinished frame and its size, oldest frame first."""
        self._paused: dict[FrameHolder, None] = {}
        """Holders not being read, in the order they were paused."""

    @property
    def waiting(self) -> int:
        return len(self._paused)

    def update(self, holder: FrameHolder, size: int) -> None:
        """`holder` now holds `size` bytes of an unfinished frame (0: none)."""
        old = self._holders.get(holder, 0)
        if size:
            self._holders[holder] = size
        elif old:
            del self._holders[holder]
        self.held += size - old
        self.peak = max(self.peak, self.held)
        if size > old and self.held > self.limit and holder not in self._paused \
                and len(self._holders) - len(self._paused) > 1:  # someone else keeps reading
            self._paused[holder] = None
            self.pauses_total += 1
            holder.pause_frames()
        elif size < old:
            self._wake()

    def forget(self, holder: FrameHolder) -> None:
        """The connection is gone: release what it held."""
        self._paused.pop(holder, None)
        self.update(holder, 0)
        self._wake()

    def _wake(self) -> None:
        while self._paused:
            if self.held >= self.limit and len(self._holders) > len(self._paused):
                return  # over budget, and some holder is still being read: it will finish first
            holder = next(iter(self._paused))
            del self._paused[holder]
            holder.resume_frames()
            if self.held >= self.limit:
                return  # resumed only so that one frame can make progress

    def check_stalls(self, now: float | None = None) -> int:
        """Close holders that block others and sent nothing for `stall_timeout`; how many."""
        if not self._paused:
            return 0
        now = time.monotonic() if now is None else now
        stalled = [h for h in self._holders
                   if h not in self._paused and now - h.last_data >= self.stall_timeout]
        for holder in stalled:
            self.stalled_total += 1
            holder.stalled(now - holder.last_data)
        return len(stalled)

    def stats(self) -> dict[str, int]:
        return {"held": self.held, "limit": self.limit, "peak": self.peak, "holders": len(self._holders),
                "waiting": len(self._paused), "pauses_total": self.pauses_total,
                "stalled_total": self.stalled_total}
