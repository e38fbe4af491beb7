"""One client connection: NDJSON framing, concurrent requests, cancel, notifications.

The per-connection hot path is an asyncio Protocol: `transport.write` is synchronous and
buffered, so a reply costs no lock, no extra task and no await (measured ~5x cheaper per
request than anyio byte streams, see benchmarks/results/rpc.md). Each request runs in its
own task so that slow calls never block the connection and `$/cancelRequest` can reach them;
handlers use anyio freely inside it.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import os
import select
import socket
import struct
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson

from swampd import protocol
from swampd.api._context import CallContext
from swampd.api._registry import Registry
from swampd.peer import Connection, Peer
from swampd.rates import RECENT_WINDOW, RollingCounter
from swampd.server.admission import Admission
from swampd.server.framebudget import FrameBudget
from swampd.server.frames import batch_over, dumps, loads, request_key
from swampd.server.rpc import NOT_NOW, RpcDispatcher, error_reply
from swampd.workers import CallerShares, bind_caller

log = logging.getLogger("swampd.connection")

_ids = itertools.count(1)
_PEERCRED = struct.Struct("3i")

EAGER_TASKS = sys.version_info >= (3, 12)

LINES_PER_TURN = 64
"""Lines one connection may hand to the dispatcher before other connections get a turn."""
BATCH_SLICE = 64
"""Batch members started between two turns of the event loop."""
MAX_IN_FLIGHT = 1024
"""Requests one connection may have running; its further lines wait (unread) until some answer."""

HANGUP_POLL_INTERVAL = 0.25
"""Seconds between checks for a full close while a half-closed client still awaits replies."""

NOTIFY_BUFFER_LIMIT = 8 * 1024 * 1024
"""Bytes of unsent output above which notifications for a slow client are dropped (and counted)."""
READ_PAUSE_LIMIT = 32 * 1024 * 1024
"""Unsent replies above which we stop reading from the client until it catches up."""


def start_task(coro: Any) -> asyncio.Task[Any]:
    """A task for `coro`; on 3.12+ started eagerly (a handler that never suspends completes here)."""
    loop = asyncio.get_running_loop()
    if EAGER_TASKS:
        return asyncio.Task(coro, loop=loop, eager_start=True)  # type: ignore[call-arg]
    return loop.create_task(coro)


def peer_credentials(sock: socket.socket) -> Peer:
    """pid, uid and gid of the process on the other end (Linux SO_PEERCRED)."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
    pid, uid, gid = _PEERCRED.unpack(raw)
    return Peer(pid=pid, uid=uid, gid=gid)


class ConnectionHub:
    """What connections share: the dispatcher, services, registry, limits and the live set."""

    def __init__(self, dispatcher: RpcDispatcher, services: Any, registry: Registry, *, max_line: int,
                 frame_budget: FrameBudget | None = None, max_batch: int = protocol.MAX_BATCH,
                 admission: Admission | None = None) -> None:
        self.dispatcher = dispatcher
        self.services = services
        self.registry = registry
        self.max_line = max_line
        self.max_batch = max_batch
        self.frames = frame_budget or FrameBudget(max(4 * max_line, 64 * 1024 * 1024), stall_timeout=30.0)
        self.admission = admission or Admission(max_per_peer=128, max_total=1 << 20, fd_limit=1 << 20)
        self.threads = CallerShares()
        """Each calling process's share of the worker threads (swampd/workers.py)."""
        self.connections: set[ClientConnection] = set()
        self.on_change: Callable[[], None] = lambda: None

    def opened(self, conn: ClientConnection) -> None:
        self.connections.add(conn)
        self.admission.opened(conn.peer.pid)
        conn.threads = self.threads.acquire(conn.peer.pid)
        state = self.services.state
        state.connections += 1
        state.connections_total += 1
        self.services.publish("daemon", {"type": "connection.opened", "connection": conn.id, "pid": conn.peer.pid})
        self.on_change()

    def closed(self, conn: ClientConnection) -> None:
        if conn in self.connections:
            self.connections.discard(conn)
            self.admission.closed(conn.peer.pid)
            self.threads.release(conn.peer.pid)
            self.services.state.connections -= 1
            self.services.publish("daemon", {"type": "connection.closed", "connection": conn.id,
                                             "pid": conn.peer.pid})
            self.on_change()


class ClientConnection(asyncio.Protocol, Connection):
    def __init__(self, hub: ConnectionHub) -> None:
        self.id = next(_ids)
        self.peer = Peer(pid=None, uid=None, gid=None)
        self._hub = hub
        self.threads: Any = None
        """This caller's share of the worker threads (an anyio CapacityLimiter)."""
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._last_data = time.monotonic()
        self._write_paused = False
        self._frames_paused = False
        self._more_lines = False
        """Complete lines wait in the buffer for a later turn: read nothing more until they are handled."""
        self._turn_scheduled = False
        self._in_flight: dict[Any, asyncio.Task[None]] = {}
        self._cancel_at_start: set[asyncio.Task[None]] = set()
        self._anonymous = itertools.count()
        self._close_callbacks: list[Callable[[], None]] = []
        self._closed = False
        self._eof = False
        self._aborting = False
        self.dropped_notifications = 0
        self.opened_at = time.time()
        self.requests_total = 0
        self.requests_recent: RollingCounter = RollingCounter(RECENT_WINDOW)
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
            log.warning("refused a connection from pid %s uid %s (daemon uid %d)", self.peer.pid, self.peer.uid,
                        os.getuid())
            self._refuse("permission_denied", f"permission denied: this daemon serves uid {os.getuid()} only")
            return
        reason = self._hub.admission.admit(self.peer.pid)
        if reason is not None:
            self._refuse("too_large", reason)
            return
        transport.set_write_buffer_limits(high=READ_PAUSE_LIMIT)
        self._hub.opened(self)

    def _refuse(self, kind: str, message: str) -> None:
        assert self._transport is not None
        self._closed = True
        self._transport.write(dumps(error_reply(protocol.DAEMON_ERRORS[kind], message)))
        if kind == "too_large":  # over a connection limit: give the descriptor back at once
            self._transport.close()  # the reply stays readable by the peer (a Unix socket)
            return
        # Half-close and keep reading (and ignoring) until the peer leaves: closing with unread
        # data would reset the connection and the peer might never see the refusal.
        if self._transport.can_write_eof():
            self._transport.write_eof()
        asyncio.get_running_loop().call_later(1.0, self._transport.close)

    def data_received(self, data: bytes) -> None:
        if self._closed:
            return
        self._last_data = time.monotonic()
        if not self._buffer:
            # The common case: whole frames, handled straight from the bytes read (no copy).
            done = self._handle_lines(data)
            if done == len(data) or done < 0:
                return
            self._buffer = bytearray(memoryview(data)[done:])
        else:
            self._buffer += data
            done = self._handle_lines(self._buffer)
            if done < 0:
                return
            del self._buffer[:done]
        self._after_turn()

    def _handle_lines(self, data: bytes | bytearray) -> int:
        """Handle up to LINES_PER_TURN complete lines of `data`; how many bytes were used (-1: closed).

        The quota keeps one connection's flood from holding the event loop: what is left is
        handled on a later turn of the loop, after other connections had theirs.
        """
        start = 0
        limit = self._hub.max_line
        for _ in range(LINES_PER_TURN):
            if self._closed:
                return -1
            if len(self._in_flight) >= MAX_IN_FLIGHT:
                break  # read on when some of them have answered
            end = data.find(b"\n", start)
            if end < 0:
                break
            if end - start > limit:
                self._oversized()
                return -1
            if end > start:
                self._handle_line(bytes(data[start:end]))
            start = end + 1
        return -1 if self._closed else start

    def _after_turn(self) -> None:
        """Account for what is left in the buffer; come back for complete lines not yet handled."""
        buffer = self._buffer
        if b"\n" in buffer:
            self._more_lines = True
            if len(self._in_flight) < MAX_IN_FLIGHT and not self._turn_scheduled:
                self._turn_scheduled = True
                asyncio.get_running_loop().call_soon(self._next_turn)
        else:
            self._more_lines = False
            if len(buffer) > self._hub.max_line:
                self._oversized()
                return
            if not buffer:
                self._buffer = bytearray()  # give a large frame's memory back at once
        self._hub.frames.update(self, len(self._buffer))
        self._update_reading()

    def _next_turn(self) -> None:
        self._turn_scheduled = False
        if self._closed:
            return
        done = self._handle_lines(self._buffer)
        if done < 0:
            return
        del self._buffer[:done]
        self._after_turn()
        if self._eof:
            self._close_when_idle()

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
            self._cancel_task(task)  # nobody is left to answer
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
        if self._write_paused or self._frames_paused or self._more_lines:
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
            self._cancel_task(task)

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
        reply = self._hub.dispatcher.answer_again(line, self.context)
        if reply is not NOT_NOW:
            self._hub.services.state.requests_answered_again += 1
            self._answer_now(reply)
            return
        if line[:1] == b"[" and batch_over(line, self._hub.max_batch):
            self._write(dumps(self._batch_refusal()))
            return
        try:
            obj = loads(line)
        except orjson.JSONDecodeError:
            self._write(dumps(error_reply(protocol.PARSE_ERROR, "parse error: not valid JSON")))
            return
        if isinstance(obj, dict):
            method = obj.get("method")
            if method == protocol.CANCEL_METHOD:
                self._cancel(obj)
                return
            if self._hub.dispatcher.answers_now(method) and self._answered_now(obj, line):
                return
        key = request_key(obj)
        if key is None:
            key = ("anonymous", next(self._anonymous))
        elif key in self._in_flight:
            key = ("duplicate", next(self._anonymous))
        self._hub.services.state.requests_in_flight += 1
        self._count_request()
        task = start_task(self._run(obj, key))
        if not task.done():  # on 3.12 a handler that never suspends has answered already
            self._in_flight[key] = task

    def _answered_now(self, obj: dict[str, Any], line: bytes) -> bool:
        """Answer a hot read within this read of the socket, when its method's synchronous variant can
        (no task, no further turn of the event loop: half of such a request's cost otherwise)."""
        reply = self._hub.dispatcher.dispatch_now(obj, self.context, line)
        if reply is NOT_NOW:
            return False
        self._answer_now(reply)
        return True

    def _answer_now(self, reply: dict[str, Any]) -> None:
        self._hub.services.state.requests_answered_now += 1
        self._count_request()
        self._write(dumps(reply))

    def _count_request(self) -> None:
        self._hub.services.state.requests_total += 1
        self.requests_total += 1
        self.requests_recent.add()

    def _cancel(self, obj: dict[str, Any]) -> None:
        params = obj.get("params")
        if isinstance(params, dict):
            target = params.get("id")
        else:
            target = params[0] if isinstance(params, list) and params else None
        key = request_key({"id": target})
        task = self._in_flight.get(key) if key is not None else None
        if task is not None:
            self._cancel_task(task)

    def _cancel_task(self, task: asyncio.Task[None]) -> None:
        """Cancel one request. One whose task has not taken its first step is marked instead: cancelled
        now, its coroutine would never run and so never answer; marked, it cancels itself when it starts."""
        coro = task.get_coro()
        if inspect.iscoroutine(coro) and inspect.getcoroutinestate(coro) == inspect.CORO_CREATED:
            self._cancel_at_start.add(task)
        else:
            task.cancel()

    async def _run(self, obj: Any, key: Any) -> None:
        """Dispatch one line and answer it, in the request's own task.

        The reply is written here rather than in a done-callback: a callback would cost another turn
        of the event loop per request (and on 3.12 a handler that never suspends answers within
        `data_received`)."""
        reply: Any = None
        try:
            if self._cancel_at_start and asyncio.current_task() in self._cancel_at_start:
                self._cancel_at_start.discard(asyncio.current_task())
                raise asyncio.CancelledError
            bind_caller(self.threads)  # this task's blocking work stays within the caller's share
            if isinstance(obj, list):
                reply = await self._run_batch(obj)
            else:
                reply = await self._hub.dispatcher.dispatch_one(obj, self.context)
        except asyncio.CancelledError:
            if isinstance(obj, dict) and "id" in obj:
                if self._aborting:
                    reply = error_reply(protocol.DAEMON_ERRORS["shutting_down"],
                                        "the daemon is shutting down; retry to reach a new one", request_key(obj))
                else:
                    reply = error_reply(protocol.REQUEST_CANCELLED, "request cancelled", request_key(obj))
        except Exception as exc:  # noqa: BLE001 - answered, never raised into the event loop
            log.error("request failed outside its handler: %s", type(exc).__name__)
            reply = error_reply(protocol.INTERNAL_ERROR, "internal error", request_key(obj))
        self._finished(key, reply)

    def _finished(self, key: Any, reply: Any) -> None:
        self._in_flight.pop(key, None)
        self._hub.services.state.requests_in_flight -= 1
        if reply is not None and not self._closed:
            self._write(dumps(reply))
        if self._more_lines and len(self._in_flight) < MAX_IN_FLIGHT and not self._turn_scheduled \
                and not self._closed:
            self._turn_scheduled = True
            asyncio.get_running_loop().call_soon(self._next_turn)
        if self._eof:
            self._close_when_idle()

    async def _run_batch(self, batch: list[Any]) -> Any:
        if not batch:
            return error_reply(protocol.INVALID_REQUEST, "invalid request: empty batch")
        if len(batch) > self._hub.max_batch:
            return self._batch_refusal()
        dispatch = self._hub.dispatcher.dispatch_one
        # Members start a slice at a time with a turn of the event loop in between, so that a
        # large batch never holds other connections back for long; they still run concurrently.
        tasks: list[asyncio.Task[Any]] = []
        try:
            for i, item in enumerate(batch):
                if i and i % BATCH_SLICE == 0:
                    await asyncio.sleep(0)
                tasks.append(start_task(dispatch(item, self.context)))
            replies = await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            raise
        return [r for r in replies if r is not None] or None

    def _batch_refusal(self) -> dict[str, Any]:
        limit = self._hub.max_batch
        return error_reply(protocol.INVALID_REQUEST, f"batch of more than {limit} requests; split it", limit=limit)

    def _write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def _close_when_idle(self) -> None:
        if not self._in_flight and not self._more_lines and self._transport is not None:
            self._transport.close()
