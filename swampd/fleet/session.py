"""One ssh session to one host's daemon, with JSON-RPC calls multiplexed over it.

`ssh -T DESTINATION swampd --stdio` relays the remote daemon's socket to our pipes (the
nix-daemon pattern), so one ssh connection carries every call, log stream and notification to
that host: a call is a line out and a line back, not an ssh handshake and a Python start-up.

Every wait is bounded: connecting (ssh's ConnectTimeout plus the remote handshake) by
`connect_timeout`, each call by its own timeout unless the caller asks for an unbounded one (a
job's end); ssh's keep-alives notice a dead peer. When the ssh process ends, every pending call
fails at once with `backend_unavailable`, naming the host and ssh's own last words.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import anyio
import orjson
from anyio.abc import Process, TaskGroup
from anyio.streams.buffered import BufferedByteReceiveStream

from swampd import protocol
from swampd.errors import BackendUnavailable, SwampdError, Timeout, VersionMismatch, from_error
from swampd.fleet.settings import FleetSettings, HostEntry

log = logging.getLogger("swampd.fleet")

MAX_LINE = protocol.MAX_LINE_BYTES + 1
STDERR_LINES = 20
SSH_EXIT_ERROR = 255
Listener = Callable[[dict[str, Any]], None]


def ssh_argv(entry: HostEntry, settings: FleetSettings) -> list[str]:
    """The ssh command line: batch mode (never a prompt), bounded connect, keep-alives."""
    argv = [settings.ssh, "-T", "-x", "-a",
            "-o", "BatchMode=yes",
            "-o", f"ConnectTimeout={max(1, math.ceil(settings.connect_timeout_for(entry)))}",
            "-o", "ServerAliveInterval=15",
            "-o", "ServerAliveCountMax=3",
            "-o", "ControlMaster=no",
            "-o", "ControlPath=none"]
    if settings.ssh_config_path:
        argv += ["-F", settings.ssh_config_path]
    argv += list(entry.ssh_options)
    argv += ["--", entry.destination, entry.command or settings.remote_command]
    return argv


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class SshSession:
    """A live `ssh HOST swampd --stdio` and the calls in flight on it."""

    def __init__(self, entry: HostEntry, settings: FleetSettings, task_group: TaskGroup,
                 on_lost: Callable[[SshSession], None] | None = None) -> None:
        self.entry = entry
        self.settings = settings
        self._tg = task_group
        self._on_lost = on_lost
        self._proc: Process | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[anyio.Event, list[dict[str, Any]]]] = {}
        self._listeners: dict[str, list[Listener]] = {}
        self._send_lock = anyio.Lock()
        self._stderr: deque[str] = deque(maxlen=STDERR_LINES)
        self._stderr_done = anyio.Event()
        self._stdout_done = anyio.Event()
        self.hello: dict[str, Any] = {}
        self.lost_reason: str | None = None
        self.opened_at = 0.0
        self.last_used = time.monotonic()
        self.calls_total = 0

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def connect_timeout(self) -> float:
        return self.settings.connect_timeout_for(self.entry)

    @property
    def alive(self) -> bool:
        return self._proc is not None and self.lost_reason is None

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    # -- lifecycle -----------------------------------------------------------------------

    async def open(self) -> dict[str, Any]:
        """Start ssh and shake hands; the whole of it within `connect_timeout`."""
        argv = ssh_argv(self.entry, self.settings)
        limit = self.connect_timeout
        try:
            self._proc = await anyio.open_process(
                argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:
            raise BackendUnavailable(f"cannot start {argv[0]} for host {self.name} (errno {exc.errno})",
                                     host=self.name) from None
        self._tg.start_soon(self._read_stdout)
        self._tg.start_soon(self._read_stderr)
        try:
            with anyio.fail_after(limit):
                hello = await self._call("daemon.hello", {"client_protocol": protocol.PROTOCOL_VERSION})
        except TimeoutError:
            await self.aclose()
            raise Timeout(f"host {self.name} did not answer within {limit:g}s "
                          f"(connect_timeout){self._stderr_hint()}", host=self.name) from None
        except BaseException:
            await self.aclose()
            raise
        if not isinstance(hello, dict):
            await self.aclose()
            raise BackendUnavailable(f"host {self.name} answered the handshake with something that is not "
                                     "swampd's", host=self.name)
        self.hello = hello
        if hello.get("protocol") != protocol.PROTOCOL_VERSION:
            await self.aclose()
            raise VersionMismatch(
                f"host {self.name} runs swampd {hello.get('version')} speaking protocol {hello.get('protocol')}; "
                f"this daemon speaks protocol {protocol.PROTOCOL_VERSION}: upgrade one side",
                host=self.name, remote_protocol=hello.get("protocol"), remote_version=hello.get("version"))
        self.opened_at = time.time()
        return hello

    async def aclose(self, reason: str = "closed") -> None:
        """End the session: the remote relay sees EOF; ssh gets SIGTERM, then SIGKILL, if it lingers."""
        proc = self._proc
        if proc is None:
            return
        self._mark_lost(reason)
        with anyio.CancelScope(shield=True):
            try:
                await proc.stdin.aclose()  # type: ignore[union-attr]
            except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                pass
            with anyio.move_on_after(2):
                await proc.wait()
            if proc.returncode is None:
                _kill_group(proc.pid, signal.SIGTERM)
                with anyio.move_on_after(2):
                    await proc.wait()
            if proc.returncode is None:
                _kill_group(proc.pid, signal.SIGKILL)
                await proc.wait()
            for stream in (proc.stdout, proc.stderr):
                if stream is not None:
                    await stream.aclose()

    # -- calls -----------------------------------------------------------------------------

    async def call(self, method: str, params: Any = None, *, timeout: float | None | bool = True,
                   touch: bool = True) -> Any:
        """Call `method` on the remote daemon.

        timeout: True for `[fleet] call_timeout`, a number of seconds, or None for no bound
        (a job's end, a log stream: the session's keep-alives still notice a dead host).
        touch: whether the call counts as use (a health ping does not keep an idle session open).
        """
        if not self.alive:
            raise BackendUnavailable(f"the session to host {self.name} is closed: {self.lost_reason}",
                                     host=self.name)
        limit = self.settings.call_timeout if timeout is True else timeout
        used = self.last_used
        try:
            if limit is None:
                return await self._call(method, params)
            with anyio.fail_after(float(limit)):
                return await self._call(method, params)
        except TimeoutError:
            raise Timeout(f"host {self.name} did not answer {method} within {float(limit):g}s",  # type: ignore[arg-type]
                          host=self.name, method=method) from None
        finally:
            self.last_used = time.monotonic() if touch else used

    async def _call(self, method: str, params: Any) -> Any:
        request_id = next(self._ids)
        done = anyio.Event()
        slot: list[dict[str, Any]] = []
        self._pending[request_id] = (done, slot)
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": request_id}
        if params is not None:
            message["params"] = params
        self.calls_total += 1
        try:
            await self._send(message)
            await done.wait()
        except BaseException:
            if self._pending.pop(request_id, None) is not None and self.alive:
                # Cancelled or timed out here: the remote daemon stops the request too.
                with anyio.CancelScope(shield=True), anyio.move_on_after(1):
                    await self._send({"jsonrpc": "2.0", "method": protocol.CANCEL_METHOD,
                                      "params": {"id": request_id}})
            raise
        reply = slot[0]
        if "error" in reply:
            raise self._remote_error(reply["error"])
        return reply.get("result")

    def _remote_error(self, error: Any) -> SwampdError:
        if isinstance(error, dict) and (error.get("data") or {}).get("kind") == "lost":
            return BackendUnavailable(str(error.get("message")), host=self.name)
        if not isinstance(error, dict):
            return BackendUnavailable(f"host {self.name} sent a malformed error", host=self.name)
        exc = from_error(error)
        exc.message = f"host {self.name}: {exc.message}"
        exc.args = (exc.message,)
        exc.data.setdefault("host", self.name)
        return exc

    async def _send(self, message: dict[str, Any]) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None:
            raise BackendUnavailable(f"the session to host {self.name} is closed", host=self.name)
        line = orjson.dumps(message) + b"\n"
        try:
            async with self._send_lock:
                await proc.stdin.send(line)
        except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
            raise BackendUnavailable(f"the connection to host {self.name} is broken{self._stderr_hint()}",
                                     host=self.name) from None

    async def notify(self, method: str, params: Any = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        await self._send(message)

    def listen(self, method: str, listener: Listener) -> Callable[[], None]:
        """Call `listener(params)` for every notification `method`; returns the remover."""
        self._listeners.setdefault(method, []).append(listener)

        def remove() -> None:
            listeners = self._listeners.get(method, [])
            if listener in listeners:
                listeners.remove(listener)

        return remove

    # -- the pipes -------------------------------------------------------------------------

    async def _read_stdout(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        stream = BufferedByteReceiveStream(self._proc.stdout)
        reason = "the remote side closed the connection"
        try:
            while True:
                line = await stream.receive_until(b"\n", MAX_LINE)
                self._dispatch(line)
        except (anyio.EndOfStream, anyio.IncompleteRead, anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass
        except anyio.DelimiterNotFound:
            reason = "the remote side sent a frame over the size limit"
        finally:
            self._stdout_done.set()
        with anyio.CancelScope(shield=True):
            await self._settle(reason)

    def _dispatch(self, line: bytes) -> None:
        try:
            message = orjson.loads(line)
        except orjson.JSONDecodeError:
            log.warning("fleet: host %s sent a line that is not JSON", self.name)
            return
        if isinstance(message, list):  # a batch reply: we send no batches, but be lenient
            for item in message:
                self._dispatch(orjson.dumps(item))
            return
        if not isinstance(message, dict):
            return
        if "method" in message and "id" not in message:
            for listener in list(self._listeners.get(str(message["method"]), ())):
                try:
                    listener(message.get("params") or {})
                except Exception:
                    log.exception("fleet: notification listener failed")
            return
        entry = self._pending.pop(message.get("id"), None)  # type: ignore[arg-type]
        if entry is not None:
            entry[1].append(message)
            entry[0].set()

    async def _read_stderr(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        stream = BufferedByteReceiveStream(self._proc.stderr)
        try:
            while True:
                line = await stream.receive_until(b"\n", 64 * 1024)
                text = line.decode("utf-8", "replace").strip()
                if text:
                    self._stderr.append(_short(text))
        except (anyio.EndOfStream, anyio.IncompleteRead, anyio.DelimiterNotFound,
                anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass
        finally:
            self._stderr_done.set()

    async def _settle(self, reason: str) -> None:
        """stdout ended: wait briefly for ssh's exit and last words, then fail what is pending."""
        proc = self._proc
        if proc is not None and self.lost_reason is None:
            with anyio.move_on_after(2):
                await proc.wait()
                await self._stderr_done.wait()
            code = proc.returncode
            if code == SSH_EXIT_ERROR:
                reason = f"ssh could not reach host {self.name}{self._stderr_hint()}"
            elif code not in (None, 0):
                reason = f"the remote command on host {self.name} exited with code {code}{self._stderr_hint()}"
            else:
                reason = f"{reason} (host {self.name}){self._stderr_hint()}"
        self._mark_lost(reason)

    def _mark_lost(self, reason: str) -> None:
        first = self.lost_reason is None
        if first:
            self.lost_reason = reason
        pending, self._pending = self._pending, {}
        for done, slot in pending.values():
            slot.append({"error": {"code": protocol.DAEMON_ERRORS["backend_unavailable"],
                                   "message": self.lost_reason, "data": {"kind": "lost"}}})
            done.set()
        if first and self._on_lost is not None:
            self._on_lost(self)

    def _stderr_hint(self) -> str:
        return f": {self._stderr[-1]}" if self._stderr else ""

    def stderr_tail(self) -> list[str]:
        return list(self._stderr)


def _kill_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
