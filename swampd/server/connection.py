"""One client connection: NDJSON framing, concurrent requests, cancel, notifications.

The per-connection hot path is an asyncio Protocol: `transport.write` is synchronous and
buffered, so a reply costs no lock, no extra task and no await (measured ~5x cheaper per
request than anyio byte streams, see benchmarks/results/rpc.md). Each request runs in its
own task so that slow calls never block the connection and `$/cancelRequest` can reach them;
handlers use anyio freely inside it.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import logging
import os
import re
import select
import socket
import struct
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson

from swampd import protocol
from swampd.api._context import CallContext, Connection, Peer
from swampd.api._registry import Registry
from swampd.server.framebudget import FrameBudget
from swampd.server.rpc import RpcDispatcher, error_reply

log = logging.getLogger("swampd.connection")

_ids = itertools.count(1)
_PEERCRED = struct.Struct("3i")

EAGER_TASKS = sys.version_info >= (3, 12)

HANGUP_POLL_INTERVAL = 0.25
"""Seconds between checks for a full close while a half-closed client still awaits replies."""

NOTIFY_BUFFER_LIMIT = 8 * 1024 * 1024
"""Bytes of unsent output above which notifications for a slow client are dropped (and counted)."""
READ_PAUSE_LIMIT = 32 * 1024 * 1024
"""Unsent replies above which we stop reading from the client until it catches up."""


_LONG_DIGITS = re.compile(rb"\d{19}")
"""A run of digits that may be an integer beyond 64 bits, which orjson would turn into a float."""


def dumps(obj: Any) -> bytes:
    try:
        return orjson.dumps(obj) + b"\n"
    except TypeError:  # an integer beyond 64 bits (an id, an echoed value): the stdlib has no such limit
        return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def loads(line: bytes) -> Any:
    """Decode one frame; integers beyond 64 bits stay exact (orjson would make them floats)."""
    obj = orjson.loads(line)
    if _LONG_DIGITS.search(line) is not None:
        try:
            return json.loads(line)
        except (ValueError, RecursionError):
            pass
    return obj


def request_key(obj: Any) -> Any:
    """The in-flight key of a request: its id when that is a valid JSON-RPC id, else None.

    Arrays and objects are not ids (and not hashable): such a request is answered −32600
    with `id: null` by the dispatcher, and the connection carries on.
    """
    if isinstance(obj, dict):
        id_ = obj.get("id")
        if isinstance(id_, (str, int, float)) and not isinstance(id_, bool):
            return id_
    return None


def peer_credentials(sock: socket.socket) -> Peer:
    """pid, uid and gid of the process on the other end (Linux SO_PEERCRED)."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
    pid, uid, gid = _PEERCRED.unpack(raw)
    return Peer(pid=pid, uid=uid, gid=gid)


class ConnectionHub:
    """What connections share: the dispatcher, services, registry, limits and the live set."""

    def __init__(self, dispatcher: RpcDispatcher, services: Any, registry: Registry, *, max_line: int,
                 frame_budget: FrameBudget | None = None) -> None:
        self.dispatcher = dispatcher
        self.services = services
        self.registry = registry
        self.max_line = max_line
        self.frames = frame_budget or FrameBudget(max(4 * max_line, 64 * 1024 * 1024), stall_timeout=30.0)
        self.connections: set[ClientConnection] = set()
        self.on_change: Callable[[], None] = lambda: None

    def opened(self, conn: ClientConnection) -> None:
        self.connections.add(conn)
        state = self.services.state
        state.connections += 1
        state.connections_total += 1
        self.services.publish("daemon", {"type": "connection.opened", "connection": conn.id, "pid": conn.peer.pid})
        self.on_change()

    def closed(self, conn: ClientConnection) -> None:
        if conn in self.connections:
            self.connections.discard(conn)
            self.services.state.connections -= 1
            self.services.publish("daemon", {"type": "connection.closed", "connection": conn.id,
                                             "pid": conn.peer.pid})
            self.on_change()


class ClientConnection(asyncio.Protocol, Connection):
    def __init__(self, hub: ConnectionHub) -> None:
        self.id = next(_ids)
        self.peer = Peer(pid=None, uid=None, gid=None)
        self._hub = hub
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._last_data = time.monotonic()
        self._write_paused = False
        self._frames_paused = False
        self._in_flight: dict[Any, asyncio.Task[None]] = {}
        self._anonymous = itertools.count()
        self._close_callbacks: list[Callable[[], None]] = []
        self._closed = False
        self._eof = False
        self._aborting = False
        self.dropped_notifications = 0
        self.context = CallContext(services=hub.services, connection=self, registry=hub.registry)

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        sock = transport.get_extra_info("socket")
        try:
            self.peer = peer_credentials(sock)
        except OSError:
            transport.abort()
            return
        if self.peer.uid != os.getuid():
            self._refuse()
            return
        transport.set_write_buffer_limits(high=READ_PAUSE_LIMIT)
        self._hub.opened(self)

    def _refuse(self) -> None:
        assert self._transport is not None
        log.warning("refused a connection from pid %s uid %s (daemon uid %d)", self.peer.pid, self.peer.uid,
                    os.getuid())
        self._closed = True
        self._transport.write(dumps(error_reply(
            protocol.DAEMON_ERRORS["permission_denied"],
            f"permission denied: this daemon serves uid {os.getuid()} only",
        )))
        # Half-close and keep reading (and ignoring) until the peer leaves: closing with unread
        # data would reset the connection and the peer might never see the refusal.
        if self._transport.can_write_eof():
            self._transport.write_eof()
        asyncio.get_running_loop().call_later(1.0, self._transport.close)

    def data_received(self, data: bytes) -> None:
        if self._closed:
            return
        self._last_data = time.monotonic()
        buffer = self._buffer
        if not buffer and data.endswith(b"\n"):  # the common case: whole frames, nothing kept
            self._handle_frames(data)
            return
        buffer += data
        start = 0
        while not self._closed:
            end = buffer.find(b"\n", start)
            if end < 0:
                break
            if end - start > self._hub.max_line:
                self._oversized()
                return
            if end > start:
                self._handle_line(bytes(buffer[start:end]))
            start = end + 1
        if self._closed:
            return
        if start:
            del buffer[:start]
        if len(buffer) > self._hub.max_line:
            self._oversized()
            return
        if not buffer:
            self._buffer = bytearray()  # give a large frame's memory back at once
        self._hub.frames.update(self, len(buffer))

    def _handle_frames(self, data: bytes) -> None:
        """Frames that arrived whole, each ending in a newline."""
        start = 0
        limit = self._hub.max_line
        while not self._closed and start < len(data):
            end = data.index(b"\n", start)
            if end - start > limit:
                self._oversized()
                return
            if end > start:
                self._handle_line(data[start:end])
            start = end + 1

    def eof_received(self) -> bool:
        self._eof = True
        self._close_when_idle()
        self._watch_hangup()
        return True  # keep the transport open for the replies still to come

    def _watch_hangup(self) -> None:
        """After end of input, tell a half-close (the client still reads) from a full close.

        A client that closed its socket entirely will never read a reply: its requests are
        cancelled at once (a shared call only loses a waiter) instead of when a reply fails.
        """
        if self._closed or not self._in_flight or self._transport is None:
            return
        sock = self._transport.get_extra_info("socket")
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLHUP)
        if any(events & select.POLLHUP for _, events in poller.poll(0)):
            log.info("connection %s (pid %s) hung up with %d request(s) in flight", self.id, self.peer.pid,
                     len(self._in_flight))
            self._transport.abort()  # connection_lost cancels the in-flight requests
            return
        asyncio.get_running_loop().call_later(HANGUP_POLL_INTERVAL, self._watch_hangup)

    def connection_lost(self, exc: Exception | None) -> None:
        was_open = not self._closed
        self._closed = True
        self._release_frame()
        for task in list(self._in_flight.values()):
            task.cancel()  # nobody is left to answer
        for callback in self._close_callbacks:
            try:
                callback()
            except Exception:
                log.exception("connection close callback failed")
        self._close_callbacks.clear()
        if was_open or self in self._hub.connections:
            self._hub.closed(self)

    def pause_writing(self) -> None:
        self._write_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        self._write_paused = False
        self._update_reading()

    def _update_reading(self) -> None:
        transport = self._transport
        if transport is None or self._closed or transport.is_closing():
            return
        if self._write_paused or self._frames_paused:
            transport.pause_reading()
        else:
            transport.resume_reading()

    # -- FrameHolder (the shared budget of unfinished frames) ----------------------------------

    @property
    def last_data(self) -> float:
        return self._last_data

    def pause_frames(self) -> None:
        self._frames_paused = True
        self._update_reading()

    def resume_frames(self) -> None:
        self._frames_paused = False
        self._last_data = time.monotonic()  # its stall clock starts when it may send again
        self._update_reading()

    def stalled(self, seconds: float) -> None:
        log.warning("connection %s (pid %s): unfinished frame of %d bytes stalled for %.0fs while others "
                    "wait; closing", self.id, self.peer.pid, len(self._buffer), seconds)
        self._refuse_frame(f"frame unfinished for {seconds:.0f}s while other clients wait; closing the connection")

    def _release_frame(self) -> None:
        self._buffer = bytearray()
        self._hub.frames.forget(self)

    # -- Connection interface ------------------------------------------------------------------

    def notify(self, method: str, params: dict[str, Any]) -> bool:
        transport = self._transport
        if self._closed or transport is None or transport.is_closing():
            return False
        if transport.get_write_buffer_size() > NOTIFY_BUFFER_LIMIT:
            self.dropped_notifications += 1
            return False
        transport.write(dumps({"jsonrpc": "2.0", "method": method, "params": params}))
        return True

    def on_close(self, callback: Callable[[], None]) -> None:
        if self._closed:
            callback()
        else:
            self._close_callbacks.append(callback)

    # -- requests ----------------------------------------------------------------------------

    @property
    def requests_in_flight(self) -> int:
        return len(self._in_flight)

    def abort_requests(self) -> None:
        """Cancel every in-flight request; each answers `shutting_down`."""
        self._aborting = True
        for task in list(self._in_flight.values()):
            task.cancel()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def _oversized(self) -> None:
        limit = self._hub.max_line
        log.warning("connection %s (pid %s): frame over %d bytes, closing", self.id, self.peer.pid, limit)
        self._refuse_frame(f"frame larger than {limit} bytes; closing the connection", limit=limit)

    def _refuse_frame(self, message: str, **data: Any) -> None:
        self._write(dumps(error_reply(protocol.INVALID_REQUEST, message, **data)))
        self._closed = True
        self._release_frame()
        assert self._transport is not None
        self._transport.close()  # flushes what is buffered, then closes

    def _handle_line(self, line: bytes) -> None:
        try:
            obj = loads(line)
        except orjson.JSONDecodeError:
            self._write(dumps(error_reply(protocol.PARSE_ERROR, "parse error: not valid JSON")))
            return
        if isinstance(obj, dict) and obj.get("method") == protocol.CANCEL_METHOD:
            self._cancel(obj)
            return
        key = request_key(obj)
        if key is None:
            key = ("anonymous", next(self._anonymous))
        elif key in self._in_flight:
            key = ("duplicate", next(self._anonymous))
        state = self._hub.services.state
        state.requests_in_flight += 1
        state.requests_total += 1
        if EAGER_TASKS:  # 3.12+: a handler that never suspends completes right here
            task = asyncio.Task(self._run(obj), loop=asyncio.get_running_loop(), eager_start=True)
        else:
            task = asyncio.get_running_loop().create_task(self._run(obj))
        # Bookkeeping and the reply live in a done-callback: a task cancelled before its first
        # step never runs its own `try`/`finally`.
        task.add_done_callback(functools.partial(self._finished, obj, key))
        self._in_flight[key] = task

    def _cancel(self, obj: dict[str, Any]) -> None:
        params = obj.get("params")
        if isinstance(params, dict):
            target = params.get("id")
        else:
            target = params[0] if isinstance(params, list) and params else None
        key = request_key({"id": target})
        task = self._in_flight.get(key) if key is not None else None
        if task is not None:
            task.cancel()

    async def _run(self, obj: Any) -> Any:
        if isinstance(obj, list):
            return await self._run_batch(obj)
        return await self._hub.dispatcher.dispatch_one(obj, self.context)

    def _finished(self, obj: Any, key: Any, task: asyncio.Task[Any]) -> None:
        self._in_flight.pop(key, None)
        self._hub.services.state.requests_in_flight -= 1
        reply: Any = None
        if task.cancelled():
            if isinstance(obj, dict) and "id" in obj:
                if self._aborting:
                    reply = error_reply(protocol.DAEMON_ERRORS["shutting_down"],
                                        "the daemon is shutting down; retry to reach a new one", request_key(obj))
                else:
                    reply = error_reply(protocol.REQUEST_CANCELLED, "request cancelled", request_key(obj))
        elif (exc := task.exception()) is not None:
            log.error("request failed outside its handler: %s", type(exc).__name__)
            reply = error_reply(protocol.INTERNAL_ERROR, "internal error", request_key(obj))
        else:
            reply = task.result()
        if reply is not None and not self._closed:
            self._write(dumps(reply))
        if self._eof:
            self._close_when_idle()

    async def _run_batch(self, batch: list[Any]) -> Any:
        if not batch:
            return error_reply(protocol.INVALID_REQUEST, "invalid request: empty batch")
        dispatch = self._hub.dispatcher.dispatch_one
        replies = await asyncio.gather(*(dispatch(item, self.context) for item in batch))
        return [r for r in replies if r is not None] or None

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def _close_when_idle(self) -> None:
        if not self._in_flight and self._transport is not None:
            self._transport.close()
