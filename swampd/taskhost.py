"""A task group owned by a host task of its own, for work the daemon (not a caller) owns.

The host task, not the caller that starts it, owns the group: work started in it outlives the
request that started it, and `aclose()` may be called from any task, inside any cancel scope.
Used by the fan-out coordinator (shared flights) and the fleet (ssh session readers, pings).
Needs anyio's asyncio backend (the daemon's).
"""

from __future__ import annotations

import asyncio

import anyio
from anyio.abc import TaskGroup


class TaskHost:
    def __init__(self, name: str) -> None:
        self.name = name
        self._task: asyncio.Task[None] | None = None
        self._group: TaskGroup | None = None
        self._stop = anyio.Event()

    @property
    def group(self) -> TaskGroup | None:
        """The running group (None before `start()` and after `aclose()`)."""
        return self._group

    async def start(self) -> TaskGroup:
        """Open the group (once) and return it."""
        if self._group is not None:
            return self._group
        ready = anyio.Event()
        stop = self._stop = anyio.Event()

        async def host() -> None:
            async with anyio.create_task_group() as tg:
                self._group = tg
                ready.set()
                await stop.wait()
                tg.cancel_scope.cancel()

        self._task = asyncio.get_running_loop().create_task(host(), name=self.name)
        await ready.wait()
        assert self._group is not None
        return self._group

    async def aclose(self) -> None:
        """Cancel what runs in the group and wait until the host task has ended."""
        task, self._task = self._task, None
        if task is None:
            return
        self._group = None
        self._stop.set()
        with anyio.CancelScope(shield=True):
            await task
