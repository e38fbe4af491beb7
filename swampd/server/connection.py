"""One client connection: NDJSON framing, concurrent requests, cancel, notifications."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any

import anyio
import orjson
from anyio.abc import ByteReceiveStream, ByteSendStream, TaskGroup

from swampd import protocol
from swampd.api._context import CallContext, Connection, Peer
from swampd.api._registry import Registry
from swampd.server.rpc import RpcDispatcher, error_reply

log = logging.getLogger("swampd.connection")

_ids = itertools.count(1)

NOTIFY_QUEUE = 4096
"""Notifications queued for a slow client before further ones are dropped (and counted)."""


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj) + b"\n"


class ClientConnection(Connection):
    def __init__(
        self,
        receive: ByteReceiveStream,
        send: ByteSendStream,
        peer: Peer,
        dispatcher: RpcDispatcher,
        services: Any,
        registry: Registry,
        *,
        max_line: int,
    ) -> None:
        self.id = next(_ids)
        self.peer = peer
        self._receive = receive
        self._send = send
        self._dispatcher = dispatcher
        self._services = services
        self._max_line = max_line
        self._send_lock = anyio.Lock()
        self._notify_send, self._notify_receive = anyio.create_memory_object_stream[bytes](NOTIFY_QUEUE)
        self._in_flight: dict[Any, anyio.CancelScope] = {}
        self._pending = 0
        self._aborting = False
        """Requests read but not yet answered (counted before their task starts)."""
        self._close_callbacks: list[Callable[[], None]] = []
        self._closed = False
        self.dropped_notifications = 0
        self.context = CallContext(services=services, connection=self, registry=registry)

    # -- Connection interface --------------------------------------------------------------

    def notify(self, method: str, params: dict[str, Any]) -> bool:
        if self._closed:
            return False
        try:
            self._notify_send.send_nowait(dumps({"jsonrpc": "2.0", "method": method, "params": params}))
        except (anyio.WouldBlock, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self.dropped_notifications += 1
            return False
        return True

    def on_close(self, callback: Callable[[], None]) -> None:
        if self._closed:
            callback()
        else:
            self._close_callbacks.append(callback)

    def abort_requests(self) -> None:
        """Cancel every in-flight request; each answers `shutting_down`."""
        self._aborting = True
        for scope in list(self._in_flight.values()):
            scope.cancel()

    @property
    def requests_in_flight(self) -> int:
        return self._pending

    # -- serving ------------------------------------------------------------------------------

    async def serve(self) -> None:
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._write_notifications)
                await self._read_loop(tg)
                # Input ended: let running requests answer, then stop the writer.
                while self._pending:
                    await anyio.sleep(0.01)
                tg.cancel_scope.cancel()
        finally:
            self._closed = True
            for callback in self._close_callbacks:
                try:
                    callback()
                except Exception:
                    log.exception("connection close callback failed")
            self._close_callbacks.clear()
            with anyio.CancelScope(shield=True):
                await self._notify_send.aclose()
                try:
                    await self._send.aclose()
                except Exception:  # noqa: BLE001 - peer already gone
                    pass

    async def _read_loop(self, tg: TaskGroup) -> None:
        buffer = bytearray()
        while True:
            try:
                chunk = await self._receive.receive(65536)
            except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
                return
            buffer += chunk
            start = 0
            while True:
                end = buffer.find(b"\n", start)
                if end < 0:
                    break
                line = bytes(buffer[start:end])
                start = end + 1
                if line.strip():
                    self._handle_line(line, tg)
            if start:
                del buffer[:start]
            if len(buffer) > self._max_line:
                await self._write(dumps(error_reply(
                    protocol.INVALID_REQUEST,
                    f"frame larger than {self._max_line} bytes; closing the connection",
                    limit=self._max_line,
                )))
                log.warning("connection %s (pid %s): oversized frame, closed", self.id, self.peer.pid)
                return

    def _handle_line(self, line: bytes, tg: TaskGroup) -> None:
        if len(line) > self._max_line:
            tg.start_soon(self._write, dumps(error_reply(protocol.INVALID_REQUEST, "frame too large")))
            return
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            tg.start_soon(self._write, dumps(error_reply(protocol.PARSE_ERROR, "parse error: not valid JSON")))
            return
        if isinstance(obj, dict) and obj.get("method") == protocol.CANCEL_METHOD:
            self._cancel(obj)
            return
        self._pending += 1
        self._services.state.requests_in_flight += 1
        # The scope exists before the task runs, so a cancel read right after it still applies.
        scope = anyio.CancelScope()
        key = obj.get("id") if isinstance(obj, dict) and "id" in obj else object()
        self._in_flight[key] = scope
        tg.start_soon(self._run_request, obj, key, scope)

    def _cancel(self, obj: dict[str, Any]) -> None:
        params = obj.get("params")
        if isinstance(params, dict):
            target = params.get("id")
        else:
            target = params[0] if isinstance(params, list) and params else None
        scope = self._in_flight.get(target)
        if scope is not None:
            scope.cancel()

    async def _run_request(self, obj: Any, key: Any, scope: anyio.CancelScope) -> None:
        state = self._services.state
        state.requests_total += 1
        reply: Any = None
        try:
            with scope:
                if isinstance(obj, list):
                    reply = await self._run_batch(obj)
                else:
                    reply = await self._dispatcher.dispatch_one(obj, self.context)
            if scope.cancelled_caught and isinstance(obj, dict) and "id" in obj:
                if self._aborting:
                    reply = error_reply(protocol.DAEMON_ERRORS["shutting_down"],
                                        "the daemon is shutting down; retry to reach a new one", obj["id"])
                else:
                    reply = error_reply(protocol.REQUEST_CANCELLED, "request cancelled", obj["id"])
        finally:
            self._in_flight.pop(key, None)
        try:
            if reply is not None:
                await self._write(dumps(reply))
        finally:
            self._pending -= 1
            state.requests_in_flight -= 1

    async def _run_batch(self, batch: list[Any]) -> Any:
        if not batch:
            return error_reply(protocol.INVALID_REQUEST, "invalid request: empty batch")
        replies: list[Any] = [None] * len(batch)

        async def one(i: int, item: Any) -> None:
            replies[i] = await self._dispatcher.dispatch_one(item, self.context)

        async with anyio.create_task_group() as tg:
            for i, item in enumerate(batch):
                tg.start_soon(one, i, item)
        answered = [r for r in replies if r is not None]
        return answered or None

    async def _write(self, data: bytes) -> None:
        async with self._send_lock:
            try:
                await self._send.send(data)
            except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
                pass

    async def _write_notifications(self) -> None:
        async with self._notify_receive:
            async for data in self._notify_receive:
                chunks = [data]
                while len(chunks) < 256:
                    try:
                        chunks.append(self._notify_receive.receive_nowait())
                    except (anyio.WouldBlock, anyio.EndOfStream):
                        break
                await self._write(b"".join(chunks))
