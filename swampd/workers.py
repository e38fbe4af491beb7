"""Worker threads, shared fairly between the processes that call the daemon.

Blocking work runs in anyio's worker threads (40 by default, one pool per event loop). A
caller whose calls block for long (a slow or hung filesystem, a remote store that does not
answer) must not take every thread: each calling process gets a `CapacityLimiter` of its own
(`PER_CALLER` threads), bound to its requests through a context variable by the connection.
Work that runs for nobody in particular (coalesced flights, boot, background tasks) uses the
pool directly.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import TypeVar

import anyio
import anyio.to_thread

T = TypeVar("T")

PER_CALLER = 10
"""Threads one calling process may hold at once: a quarter of anyio's default 40."""

_caller_limiter: ContextVar[anyio.CapacityLimiter | None] = ContextVar("swampd_caller_threads", default=None)


def bind_caller(limiter: anyio.CapacityLimiter | None) -> None:
    """Make `limiter` the share of the current task (a request) and of what it starts."""
    _caller_limiter.set(limiter)


async def run_sync(func: Callable[..., T], *args: object) -> T:
    """`anyio.to_thread.run_sync(func, *args)` within the calling process's share of the threads."""
    limiter = _caller_limiter.get()
    if limiter is None:
        return await anyio.to_thread.run_sync(func, *args)
    async with limiter:
        return await anyio.to_thread.run_sync(func, *args)


class CallerShares:
    """One limiter per calling process, kept while it has a connection open."""

    def __init__(self, per_caller: int = PER_CALLER) -> None:
        self.per_caller = per_caller
        self._limiters: dict[int | None, tuple[anyio.CapacityLimiter, int]] = {}

    def acquire(self, pid: int | None) -> anyio.CapacityLimiter:
        limiter, users = self._limiters.get(pid) or (anyio.CapacityLimiter(self.per_caller), 0)
        self._limiters[pid] = (limiter, users + 1)
        return limiter

    def release(self, pid: int | None) -> None:
        entry = self._limiters.get(pid)
        if entry is None:
            return
        limiter, users = entry
        if users <= 1:
            del self._limiters[pid]
        else:
            self._limiters[pid] = (limiter, users - 1)
