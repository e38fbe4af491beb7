"""The daemon: listen on the Unix socket, serve connections, exit on stop, signal or idle."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import struct
import time
from typing import Any

import anyio
from anyio.abc import SocketAttribute, SocketStream

from swampd import protocol
from swampd.api._context import Peer
from swampd.api._registry import Registry, load_registry
from swampd.config import Config
from swampd.server.connection import ClientConnection, dumps
from swampd.server.lifecycle import (
    DaemonLock,
    clear_stale,
    ensure_private_dir,
    write_pidfile,
)
from swampd.server.rpc import RpcDispatcher, error_reply
from swampd.services import Services

log = logging.getLogger("swampd.daemon")

_PEERCRED = struct.Struct("3i")


def peer_credentials(sock: socket.socket) -> Peer:
    """pid, uid and gid of the process on the other end (Linux SO_PEERCRED)."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
    pid, uid, gid = _PEERCRED.unpack(raw)
    return Peer(pid=pid, uid=uid, gid=gid)


class Daemon:
    def __init__(self, config: Config, *, registry: Registry | None = None) -> None:
        self.config = config
        self.services = Services(config)
        self.services.control = self
        self.registry = registry or load_registry()
        self.dispatcher = RpcDispatcher(self.registry)
        self.connections: set[ClientConnection] = set()
        self._stop: anyio.Event | None = None
        self._stop_requested = False
        self._stop_reason = ""
        self._last_activity = time.monotonic()
        self._lock = DaemonLock(config.paths.lockfile)

    # -- control ---------------------------------------------------------------------------

    def request_stop(self, reason: str) -> None:
        if not self._stop_requested:
            self._stop_requested = True
            self._stop_reason = reason
            log.info("stopping: %s", reason)
            if self._stop is not None:
                self._stop.set()

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
        self._stop = anyio.Event()
        if self._stop_requested:
            self._stop.set()
        state = self.services.state
        old_umask = os.umask(0o177)
        try:
            listener = await anyio.create_unix_listener(paths.socket)
        finally:
            os.umask(old_umask)
        os.chmod(paths.socket, 0o600)
        write_pidfile(paths.pidfile)
        self.services.bus.bind_loop(asyncio.get_running_loop())
        await self.services.start()
        log.info("swampd %s listening on %s (pid %d, protocol %d)", state.version, paths.socket, state.pid,
                 protocol.PROTOCOL_VERSION)
        self.services.publish("daemon", {"type": "daemon.started", "pid": state.pid, "version": state.version})
        if ready_fd is not None:
            try:
                os.write(ready_fd, b"ready\n")
                os.close(ready_fd)
            except OSError:
                pass
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._watch_signals)
                tg.start_soon(self._watch_idle)
                async with anyio.create_task_group() as conn_tg:
                    tg.start_soon(self._accept, listener, conn_tg)
                    await self._stop.wait()
                    await listener.aclose()
                    await self._drain(conn_tg)
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                self.services.publish("daemon", {"type": "daemon.stopping", "reason": self._stop_reason})
                await self.services.aclose()
                for path in (paths.socket, paths.pidfile):
                    try:
                        os.unlink(path)
                    except FileNotFoundError:
                        pass
                self._lock.release()
                log.info("stopped (%s)", self._stop_reason or "exit")

    async def _accept(self, listener: Any, tg: Any) -> None:
        try:
            async with listener:
                while not self._stop_requested:
                    stream = await listener.accept()
                    tg.start_soon(self._handle, stream)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass

    async def _handle(self, stream: SocketStream) -> None:
        raw = stream.extra(SocketAttribute.raw_socket)
        try:
            peer = peer_credentials(raw)
        except OSError:
            await stream.aclose()
            return
        if peer.uid != os.getuid():
            log.warning("refused a connection from pid %s uid %s (daemon uid %d)", peer.pid, peer.uid, os.getuid())
            msg = error_reply(
                protocol.DAEMON_ERRORS["permission_denied"],
                f"permission denied: this daemon serves uid {os.getuid()} only",
            )
            try:
                await stream.send(dumps(msg))
                await stream.send_eof()
                # Read (and ignore) what the peer already sent: closing with unread data would
                # reset the connection and the peer might never see the refusal.
                with anyio.move_on_after(1):
                    while await stream.receive(65536):
                        pass
            except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
                pass
            finally:
                await stream.aclose()
            return
        await self.serve_stream(stream, stream, peer)

    async def serve_stream(self, receive: Any, send: Any, peer: Peer) -> None:
        state = self.services.state
        conn = ClientConnection(receive, send, peer, self.dispatcher, self.services, self.registry,
                                max_line=self.config.daemon.max_line_bytes)
        self.connections.add(conn)
        state.connections += 1
        state.connections_total += 1
        self._last_activity = time.monotonic()
        self.services.publish("daemon", {"type": "connection.opened", "connection": conn.id, "pid": peer.pid})
        try:
            await conn.serve()
        finally:
            self.connections.discard(conn)
            state.connections -= 1
            self._last_activity = time.monotonic()
            self.services.publish("daemon", {"type": "connection.closed", "connection": conn.id, "pid": peer.pid})

    async def _drain(self, conn_tg: Any) -> None:
        """Let in-flight requests answer within the grace, then cancel what is left."""
        state = self.services.state
        state.draining = True
        grace = self.config.daemon.drain_grace
        with anyio.move_on_after(grace):
            while state.requests_in_flight:
                await anyio.sleep(0.02)
        if state.requests_in_flight:
            log.warning("drain grace of %.1fs over: cancelling %d request(s)", grace, state.requests_in_flight)
            for conn in list(self.connections):
                conn.abort_requests()
            with anyio.move_on_after(1):
                while state.requests_in_flight:
                    await anyio.sleep(0.01)
        conn_tg.cancel_scope.cancel()

    async def _watch_signals(self) -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
            async for signum in signals:
                if signum == signal.SIGHUP:
                    log.info("SIGHUP: nothing to reload yet")
                    continue
                if self._stop_requested:
                    log.warning("second signal: exiting now")
                    os._exit(1)
                self.request_stop(f"signal {signal.Signals(signum).name}")

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


def run_daemon(config: Config, *, ready_fd: int | None = None) -> int:
    daemon = Daemon(config)
    if not daemon.prepare():
        log.info("another daemon holds %s; exiting", config.paths.lockfile)
        return 0
    anyio.run(daemon.run, ready_fd)
    return 0
