"""The daemon: listen on the Unix socket, serve connections, exit on stop, signal or idle."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from typing import Any

import anyio
from anyio.abc import TaskStatus

from swampd import protocol
from swampd.api._registry import Registry, load_registry
from swampd.config import Config
from swampd.server.admission import OUT_OF_FDS, Admission, Listener, default_max_total
from swampd.server.connection import ClientConnection, ConnectionHub
from swampd.server.framebudget import FrameBudget
from swampd.server.lifecycle import (
    DaemonLock,
    clear_stale,
    ensure_private_dir,
    raise_fd_limit,
    write_pidfile,
)
from swampd.server.logrepeat import RepeatFilter
from swampd.server.rpc import RpcDispatcher
from swampd.services import Services

log = logging.getLogger("swampd.daemon")

LISTEN_BACKLOG = 512
"""Connections the kernel queues while the daemon is busy (capped by net.core.somaxconn)."""


class Daemon:
    def __init__(self, config: Config, *, registry: Registry | None = None, fd_limit: int | None = None,
                 log_repeats: RepeatFilter | None = None) -> None:
        self.config = config
        self.log_repeats = log_repeats
        self.services = Services(config)
        self.services.control = self
        self.registry = registry or load_registry()
        self.dispatcher = RpcDispatcher(self.registry)
        settings = config.daemon
        self.hub = ConnectionHub(self.dispatcher, self.services, self.registry, max_line=settings.max_line_bytes,
                                 frame_budget=FrameBudget(settings.max_unfinished_bytes,
                                                          stall_timeout=settings.frame_stall_timeout),
                                 max_batch=settings.max_batch, admission=Admission(
                                     max_per_peer=settings.max_connections_per_peer,
                                     max_total=settings.max_connections or default_max_total(fd_limit or 1024),
                                     fd_limit=fd_limit or 0))
        self.hub.on_change = self._touch
        self._stop: anyio.Event | None = None
        self._stop_requested = False
        self._stop_reason = ""
        self._stop_announced = False
        self._last_activity = time.monotonic()
        self._lock = DaemonLock(config.paths.lockfile)

    def _touch(self) -> None:
        self._last_activity = time.monotonic()

    # -- control ---------------------------------------------------------------------------

    def request_stop(self, reason: str) -> None:
        if not self._stop_requested:
            self._stop_requested = True
            self._stop_reason = reason
            log.info("stopping: %s", reason)
            if self._stop is not None:
                self._stop.set()

    def connections(self) -> list[ClientConnection]:
        return list(self.hub.connections)

    def limits(self) -> dict[str, Any]:
        return {**self.hub.admission.stats(), "unfinished_frames": self.hub.frames.stats(),
                "log_records_held_back": self.log_repeats.suppressed_total if self.log_repeats else 0}

    @property
    def stopping(self) -> bool:
        return self._stop_requested

    # -- startup -----------------------------------------------------------------------------

    def prepare(self) -> bool:
        """Check dirs and take the lock. False when another daemon holds it."""
        paths = self.config.paths
        ensure_private_dir(paths.runtime_dir, what="runtime directory")
        if not self._lock.try_acquire():
            return False
        removed = clear_stale(paths)
        if removed:
            log.info("recovered stale files from a previous daemon: %s", ", ".join(removed))
        return True

    async def run(self, ready_fd: int | None = None) -> None:
        paths = self.config.paths
        state = self.services.state
        self._stop = anyio.Event()
        if self._stop_requested:
            self._stop.set()
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(self._loop_exception)
        self.services.bus.bind_loop(loop)
        server: asyncio.AbstractServer | None = None
        try:
            async with anyio.create_task_group() as tg:
                # Signals first: a SIGTERM during startup must drain, not kill.
                await tg.start(self._watch_signals)
                await self.services.start()
                server = await self._listen(loop)
                write_pidfile(paths.pidfile)
                log.info("swampd %s listening on %s (pid %d, protocol %d)", state.version, paths.socket,
                         state.pid, protocol.PROTOCOL_VERSION)
                self.services.publish("daemon", {"type": "daemon.started", "pid": state.pid,
                                                 "version": state.version})
                if ready_fd is not None:
                    try:
                        os.write(ready_fd, b"ready\n")
                        os.close(ready_fd)
                    except OSError:
                        pass
                tg.start_soon(self._watch_idle)
                tg.start_soon(self._watch_stalled_frames)
                tg.start_soon(self._flush_log_repeats)
                await self._stop.wait()
                self._announce_stop()  # followers (`swamp events`) learn why before the drain
                server.close()  # stop accepting; open connections carry on
                await self._drain()
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                if server is not None:
                    server.close()
                self._announce_stop()
                for conn in list(self.hub.connections):
                    conn.close()  # flushes what is queued (the announcement too), then closes
                await self.services.aclose()
                for path in (paths.socket, paths.pidfile):
                    try:
                        os.unlink(path)
                    except FileNotFoundError:
                        pass
                self._lock.release()
                log.info("stopped (%s)", self._stop_reason or "exit")

    def _announce_stop(self) -> None:
        if not self._stop_announced:
            self._stop_announced = True
            self.services.publish("daemon", {"type": "daemon.stopping", "reason": self._stop_reason or "exit"})

    async def _listen(self, loop: asyncio.AbstractEventLoop) -> asyncio.AbstractServer:
        path = self.config.paths.socket
        sock = Listener(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.on_exhausted = self.hub.admission.accept_failed
        old_umask = os.umask(0o177)  # the socket is born 0600: no window where others may connect
        try:
            sock.bind(path)
        finally:
            os.umask(old_umask)
        os.chmod(path, 0o600)
        # asyncio calls listen() again with its own backlog (default 100): pass ours.
        return await loop.create_unix_server(lambda: ClientConnection(self.hub), sock=sock,
                                             backlog=LISTEN_BACKLOG)

    async def _drain(self) -> None:
        """Let in-flight requests answer within the grace, then cancel what is left."""
        state = self.services.state
        state.draining = True
        grace = self.config.daemon.drain_grace
        with anyio.move_on_after(grace):
            while state.requests_in_flight:
                await anyio.sleep(0.02)
        if state.requests_in_flight:
            log.warning("drain grace of %.1fs over: cancelling %d request(s)", grace, state.requests_in_flight)
            for conn in list(self.hub.connections):
                conn.abort_requests()
            with anyio.move_on_after(1):
                while state.requests_in_flight:
                    await anyio.sleep(0.01)
        await anyio.sleep(0.05)  # let the last replies leave the transports' buffers

    async def _watch_signals(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
            task_status.started()
            async for signum in signals:
                if signum == signal.SIGHUP:
                    log.info("SIGHUP: nothing to reload yet")
                    continue
                if self._stop_requested:
                    log.warning("second signal: exiting now")
                    os._exit(1)
                self.request_stop(f"signal {signal.Signals(signum).name}")

    def _loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, object]) -> None:
        exc = context.get("exception")
        if isinstance(exc, OSError) and exc.errno in OUT_OF_FDS and "accept" in str(context.get("message")):
            return  # counted and reported once by Admission, not a traceback per attempt
        loop.default_exception_handler(context)

    async def _flush_log_repeats(self) -> None:
        if self.log_repeats is None:
            return
        while True:
            await anyio.sleep(self.log_repeats.window)
            self.log_repeats.flush()

    async def _watch_stalled_frames(self) -> None:
        budget = self.hub.frames
        while True:
            await anyio.sleep(max(0.05, budget.stall_timeout / 4))
            budget.check_stalls()

    async def _watch_idle(self) -> None:
        idle = self.config.daemon.idle_timeout
        if idle <= 0:
            return
        tick = max(0.05, min(idle / 4, 5.0))
        state = self.services.state
        seen_requests = state.requests_total
        while True:
            await anyio.sleep(tick)
            if self.services.busy_reasons() or state.requests_total != seen_requests:
                seen_requests = state.requests_total
                self._last_activity = time.monotonic()
                continue
            if time.monotonic() - self._last_activity >= idle:
                self.request_stop(f"idle for {idle:g}s")
                return


def run_daemon(config: Config, *, ready_fd: int | None = None, log_repeats: RepeatFilter | None = None) -> int:
    before, fd_limit = raise_fd_limit()
    if fd_limit != before:
        log.info("raised the open-file limit from %d to %d", before, fd_limit)
    daemon = Daemon(config, fd_limit=fd_limit, log_repeats=log_repeats)
    if not daemon.prepare():
        log.info("another daemon holds %s; exiting", config.paths.lockfile)
        return 0
    anyio.run(daemon.run, ready_fd)
    return 0
