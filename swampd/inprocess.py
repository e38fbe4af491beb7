"""Run the daemon's handlers inside the calling process (`swamp --no-daemon`, fallback)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import anyio

from swampd.api._context import CallContext
from swampd.api._registry import load_registry
from swampd.config import Config, load_config
from swampd.peer import Connection, Peer
from swampd.server.rpc import RpcDispatcher
from swampd.services import Services


class LocalConnection(Connection):
    """The caller itself: notifications are kept in a list (or passed to a callback)."""

    def __init__(self, on_notify: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        self.id = 0
        self.peer = Peer(pid=os.getpid(), uid=os.getuid(), gid=os.getgid())
        self.notifications: list[tuple[str, dict[str, Any]]] = []
        self._on_notify = on_notify
        self._close: list[Callable[[], None]] = []

    def notify(self, method: str, params: dict[str, Any]) -> bool:
        if self._on_notify is not None:
            self._on_notify(method, params)
        else:
            self.notifications.append((method, params))
        return True

    def on_close(self, callback: Callable[[], None]) -> None:
        self._close.append(callback)

    def close(self) -> None:
        for callback in self._close:
            callback()
        self._close.clear()


class InProcessRunner:
    """Build the same service container the daemon builds and dispatch messages to it."""

    def __init__(self, config: Config | None = None,
                 on_notify: Callable[[str, dict[str, Any]], None] | None = None) -> None:
        self.config = config or load_config()
        self.registry = load_registry()
        self.services = Services(self.config, in_process=True)
        self.dispatcher = RpcDispatcher(self.registry)
        self.connection = LocalConnection(on_notify)
        self.context = CallContext(services=self.services, connection=self.connection, registry=self.registry)

    async def dispatch(self, message: Any) -> Any:
        """Reply to one decoded message (a request object or a batch)."""
        if isinstance(message, list):
            if not message:
                from swampd import protocol
                from swampd.server.rpc import error_reply
                return error_reply(protocol.INVALID_REQUEST, "invalid request: empty batch")
            replies = [await self.dispatcher.dispatch_one(m, self.context) for m in message]
            return [r for r in replies if r is not None] or None
        return await self.dispatcher.dispatch_one(message, self.context)

    async def run_one(self, message: Any) -> Any:
        import asyncio

        self.services.bus.bind_loop(asyncio.get_running_loop())
        await self.services.start()
        try:
            return await self.dispatch(message)
        finally:
            self.connection.close()
            await self.services.aclose()

    def handle(self, message: Any) -> Any:
        """Run one message to completion in a fresh event loop."""
        return anyio.run(self.run_one, message)
