"""A small synchronous client for the swampd socket, using the standard library only.

The CLI's hot path imports this module, so it avoids `socket`, `json`, `subprocess` and
friends: `_socket` and `_json` give the same primitives without their import cost. The cold
path (starting a daemon) imports what it needs when it needs it.
"""

from __future__ import annotations

import _socket
import _struct
import errno
import os
import sys
import time

from swampd import protocol
from swampd.envvars import ConfigError, parse_flag, read_config_file
from swampd.paths import Paths, resolve_paths

TYPE_CHECKING = False
if TYPE_CHECKING:  # `typing` costs ~2 ms to import: only type checkers need it here
    from typing import Any

try:  # the C accelerators behind `json`, without importing `json` (and `re`)
    import _json

    class _ScanContext:
        strict = True
        object_hook = None
        object_pairs_hook = None
        parse_float = float
        parse_int = int
        parse_constant = float  # NaN / Infinity / -Infinity, as `json` accepts them

    _scan = _json.make_scanner(_ScanContext())  # type: ignore[arg-type]  # duck-typed, as json.decoder does
    _encode = _json.make_encoder(
        None, None, _json.encode_basestring, None, ":", ",", False, False, True  # type: ignore[arg-type]  # no default
    )

    def dumps(obj: Any) -> str:
        """Compact JSON (UTF-8 text, non-ASCII kept as is)."""
        return "".join(_encode(obj, 0))

    def loads(text: str) -> Any:
        i = 0
        n = len(text)
        while i < n and text[i] in " \t\r\n":
            i += 1
        try:
            obj, end = _scan(text, i)
        except StopIteration:
            raise ValueError("not valid JSON") from None
        except SystemError:
            # The C scanner reports syntax errors through json.decoder.JSONDecodeError, which it
            # only finds once `json` is imported: on this (cold) error path, let `json` say it.
            import json

            return json.loads(text)
        while end < n and text[end] in " \t\r\n":
            end += 1
        if end != n:
            raise ValueError("extra data after JSON value")
        return obj

except ImportError:  # pragma: no cover - CPython always has _json
    import json as _stdjson

    def dumps(obj: Any) -> str:
        return _stdjson.dumps(obj, separators=(",", ":"), ensure_ascii=False)

    def loads(text: str) -> Any:
        return _stdjson.loads(text)


START_TIMEOUT = 10.0
"""Seconds to wait for an auto-started daemon to accept connections (sccache's default)."""

CONNECT_TIMEOUT = 5.0
"""Seconds to wait for the daemon to accept a connection (its listen backlog may be full)."""
ANSWER_TIMEOUT = 10.0
"""Seconds within which a live daemon answers the handshake or a liveness probe."""
PROBE_INTERVAL = 5.0
"""Seconds of silence during a call after which the client checks that the daemon still answers."""
CALL_TIMEOUT = 300.0
"""Default deadline of a call whose work is bounded (`LONG_METHODS` have none: they wait as
long as their work runs, as long as the daemon keeps answering probes)."""
LONG_METHODS = frozenset({
    "jobs.submit", "jobs.wait", "jobs.logs", "jobs.cancel", "vault.rotate", "extensions.install",
    "cache.prefetch", "rpc.sleep", "daemon.stop", "fleet.push", "fleet.call",
})
PROBE_PREFIX = "swampd-probe-"
_DEFAULT: Any = object()


class RpcError(Exception):
    """Raised when the daemon answers a call with a JSON-RPC error."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data if isinstance(data, dict) else {}

    @classmethod
    def of(cls, error: Any) -> RpcError:
        """A reply's `error` member as the exception."""
        error = error if isinstance(error, dict) else {}
        return cls(error.get("code", protocol.INTERNAL_ERROR), error.get("message", ""), error.get("data"))

    @property
    def kind(self) -> str:
        return str(self.data.get("kind") or protocol.kind_for_code(self.code))

    def to_error(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": {"kind": self.kind, **self.data}}


class DaemonUnavailable(Exception):
    """Raised when no daemon answers and none could (or may) be started."""


class ConnectionClosed(DaemonUnavailable):
    """Raised when the daemon closed the connection."""


class DaemonNotAnswering(DaemonUnavailable):
    """Raised when a daemon's socket exists but nothing accepts or answers within the deadline."""


class CallTimeout(RpcError):
    """Raised when a call ran past its deadline or the daemon stopped answering during it.

    Not a `DaemonUnavailable`: the request was sent and may have run, so nothing falls back
    to running it again in-process.
    """

    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(protocol.DAEMON_ERRORS["timeout"], message, {"kind": "timeout", **data})


class Client:
    """One connection to the daemon. Not thread-safe; use one per thread.

    `timeout` is the deadline of each call and of raw reads (None: calls use their default,
    `CALL_TIMEOUT`, or no deadline for `LONG_METHODS`). While a call waits, a daemon silent for
    `PROBE_INTERVAL` seconds is sent a liveness probe on the same connection; one that does not
    answer it within `ANSWER_TIMEOUT` ends the call with `CallTimeout`.

    The socket stays in blocking mode and waits are bounded by the kernel (`SO_RCVTIMEO`,
    `SO_SNDTIMEO`), set only when the wanted bound changes: a call is one `send` and one `recv`.
    Python's socket timeouts would add a `poll` before each of them and an `ioctl` per change of
    timeout, four system calls more per call. Code that reads the raw socket itself calls
    `settimeout` first, which puts the kernel's bounds to what it asks.
    """

    def __init__(self, socket_path: str, *, timeout: float | None = None,
                 connect_timeout: float | None = None) -> None:
        self.socket_path = socket_path
        self._sock = connect_socket(socket_path, connect_timeout)
        self._sock.settimeout(None)
        self._recv_bound: float | None = None
        self._send_bound: float | None = None
        self.timeout: float | None = None
        self.settimeout(timeout)
        self._buffer = b""
        self._next_id = 0
        self._probes = 0
        self.notifications: list[dict[str, Any]] = []
        self.hello: dict[str, Any] | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def settimeout(self, timeout: float | None) -> None:
        """The deadline of each following call and raw read (None: the method's default), and the
        bound of each wait on the raw socket (None: none)."""
        self.timeout = timeout
        self._bound_recv(timeout)
        if timeout != self._send_bound:
            self._sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_SNDTIMEO, _timeval(timeout))
            self._send_bound = timeout

    # -- wire --------------------------------------------------------------------------------

    def send_line(self, data: bytes) -> None:
        try:
            self._sock.sendall(data if data.endswith(b"\n") else data + b"\n")
        except BlockingIOError:  # SO_SNDTIMEO ran out: the daemon stopped reading
            raise TimeoutError("timed out sending to the daemon") from None
        except (BrokenPipeError, ConnectionResetError):
            self._raise_refusal()
            raise

    def _raise_refusal(self) -> None:
        """After a failed send: the daemon may have refused this connection (a limit, another uid) and
        closed it; its reply is still readable. Raise it as the RpcError it is, if it came."""
        while True:
            try:
                chunk = self._sock.recv(65536, _socket.MSG_DONTWAIT)
            except OSError:
                break
            if not chunk:
                break
            self._buffer += chunk
        for line in self._buffer.split(b"\n"):
            try:
                message = loads(line.decode())
            except ValueError:
                continue
            if _is_refusal(message):
                raise RpcError.of(message["error"])

    def send(self, message: Any) -> None:
        self.send_line(dumps(message).encode() + b"\n")

    def _bound_recv(self, seconds: float | None) -> None:
        if seconds != self._recv_bound:
            self._sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_RCVTIMEO, _timeval(seconds))
            self._recv_bound = seconds

    def _recv(self, seconds: float | None, *, early: bool = False) -> bytes:
        """One read of what the daemon sent, waiting at most `seconds` (None: no bound);
        TimeoutError when nothing came. With `early`, the caller takes a TimeoutError that comes
        sooner: a bound already set between half of `seconds` and `seconds` is kept, and a new
        one is set a quarter short, so that calls in a row (each waiting a little less than
        PROBE_INTERVAL) set it once."""
        if not early:
            self._bound_recv(seconds)
        elif seconds is None or self._recv_bound is None or not seconds / 2 <= self._recv_bound <= seconds:
            self._bound_recv(None if seconds is None else seconds * 0.75)
        try:
            chunk: bytes = self._sock.recv(65536)  # below malloc's mmap threshold: no mmap per call
        except BlockingIOError:  # SO_RCVTIMEO ran out
            raise TimeoutError("timed out") from None
        if not chunk:
            raise ConnectionClosed("the daemon closed the connection")
        return chunk

    def read_line(self, timeout: Any = _DEFAULT) -> bytes:
        """The next line, each wait for more bytes bounded by `timeout` (default: the client's)."""
        if timeout is _DEFAULT:
            timeout = self.timeout
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line, self._buffer = self._buffer[:end], self._buffer[end + 1:]
                return line
            self._buffer += self._recv(timeout)

    def read_message(self, timeout: Any = _DEFAULT) -> Any:
        return loads(self.read_line(timeout).decode())

    # -- calls -------------------------------------------------------------------------------

    def request(self, method: str, params: Any = None) -> int:
        """Send a request without waiting; returns its id."""
        self._next_id += 1
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        message["id"] = self._next_id  # last: the daemon answers a line it has seen but for the id sooner
        self.send(message)
        return self._next_id

    def wait_reply(self, request_id: Any, *, timeout: Any = _DEFAULT, method: str = "") -> dict[str, Any]:
        """Read until the reply to `request_id` arrives; notifications on the way are kept.

        Raises CallTimeout when the deadline passes (the request is then cancelled) or when the
        daemon does not answer a liveness probe.
        """
        if timeout is _DEFAULT:
            timeout = self.timeout
        while True:
            message = self.next_message(timeout, method=method, request_id=request_id)
            if isinstance(message, dict) and "id" not in message and "method" in message:
                self.notifications.append(message)
                continue
            if isinstance(message, dict) and message.get("id") == request_id:
                return message
            if _is_refusal(message):
                raise RpcError.of(message["error"])

    def next_message(self, timeout: float | None = None, *, method: str = "", request_id: Any = None) -> Any:
        """The next message from the daemon, within `timeout` seconds (None: no deadline).

        Silence is never trusted: after `PROBE_INTERVAL` seconds without a message the daemon is
        asked `daemon.hello` on this connection, and must answer within `ANSWER_TIMEOUT`.
        Probe replies are consumed here.
        """
        now = time.monotonic()
        deadline = None if timeout is None else now + timeout
        probe_deadline: float | None = None
        heard = now  # when the daemon last sent anything
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line, self._buffer = self._buffer[:end], self._buffer[end + 1:]
                message = loads(line.decode())
                if isinstance(message, dict) and str(message.get("id", "")).startswith(PROBE_PREFIX):
                    continue
                return message
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                if request_id is not None:
                    self._try_cancel(request_id)
                raise CallTimeout(f"{method or 'the call'} did not finish within {timeout:g}s; "
                                  "it was cancelled (it may have done part of its work)",
                                  method=method or None, timeout=timeout)
            if probe_deadline is not None and now >= probe_deadline:
                raise CallTimeout(
                    f"the daemon at {self.socket_path} stopped answering during {method or 'a call'} "
                    f"(no reply to a liveness probe within {ANSWER_TIMEOUT:g}s: stopped or overloaded); "
                    "the call may or may not have completed",
                    method=method or None)
            if probe_deadline is None and now >= heard + PROBE_INTERVAL:
                self._send_probe()
                probe_deadline = now + ANSWER_TIMEOUT
            wake = probe_deadline if probe_deadline is not None else heard + PROBE_INTERVAL
            if deadline is not None:
                wake = min(wake, deadline)
            try:
                chunk = self._recv(max(0.001, wake - now), early=True)
            except TimeoutError:
                continue
            heard = time.monotonic()
            probe_deadline = None  # any bytes show the daemon is alive
            self._buffer += chunk

    def _send_probe(self) -> None:
        self._probes += 1
        self.send({"jsonrpc": "2.0", "method": "daemon.hello", "id": f"{PROBE_PREFIX}{self._probes}"})

    def _try_cancel(self, request_id: Any) -> None:
        try:
            self.cancel(request_id)
        except OSError:
            pass

    def call(self, method: str, params: Any = None, *, timeout: Any = _DEFAULT) -> Any:
        """Call `method` and return its result; raises RpcError for an error reply.

        `timeout`: seconds (None = no deadline, only liveness probes); by default the client's
        `timeout`, else `CALL_TIMEOUT`, or none for `LONG_METHODS`.
        """
        if timeout is _DEFAULT:
            timeout = self.timeout
            if timeout is None and method not in LONG_METHODS:
                timeout = CALL_TIMEOUT
        reply = self.wait_reply(self.request(method, params), timeout=timeout, method=method)
        if "error" in reply:
            raise RpcError.of(reply["error"])
        return reply.get("result")

    def notify(self, method: str, params: Any = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    def cancel(self, request_id: Any) -> None:
        self.notify(protocol.CANCEL_METHOD, {"id": request_id})

    def subscribe(self, topics: list[str] | None = None) -> str:
        return str(self.call("events.subscribe", {"topics": topics or ["*"]})["subscription"])

    def next_notification(self, timeout: float | None = None) -> dict[str, Any]:
        """The next notification (kept ones first); raises TimeoutError after `timeout`."""
        if self.notifications:
            return self.notifications.pop(0)
        while True:
            message = self.read_message(timeout)
            if isinstance(message, dict) and "method" in message and "id" not in message:
                return message

    def handshake(self, timeout: float | None = None) -> dict[str, Any]:
        """`daemon.hello`; DaemonNotAnswering when it has no answer within `timeout` seconds."""
        timeout = ANSWER_TIMEOUT if timeout is None else timeout
        try:
            self.hello = self.call("daemon.hello", {"client_protocol": protocol.PROTOCOL_VERSION}, timeout=timeout)
        except CallTimeout:
            raise DaemonNotAnswering(
                f"the daemon at {self.socket_path} is not answering: it accepted the connection but did not "
                f"answer the handshake within {timeout:g}s (stopped, overloaded, or not a swampd socket); "
                "check `swamp daemon status`"
            ) from None
        return self.hello


def _is_refusal(message: Any) -> bool:
    """An error reply to no request: the daemon refusing the connection or a line it could not read."""
    return isinstance(message, dict) and message.get("id") is None and "error" in message


def _timeval(seconds: float | None) -> bytes:
    """A `struct timeval` for SO_RCVTIMEO / SO_SNDTIMEO (zero: no bound; never zero for a bound)."""
    if seconds is None:
        return _struct.pack("@ll", 0, 0)
    micros = max(1, int(seconds * 1_000_000))
    return _struct.pack("@ll", micros // 1_000_000, micros % 1_000_000)


def connect_socket(path: str, timeout: float | None = None) -> Any:
    """A connected Unix socket. A listener whose backlog is full is retried until `timeout`,
    then DaemonNotAnswering; no listener at all raises the OSError (ENOENT, ECONNREFUSED)."""
    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    deadline = time.monotonic() + timeout
    while True:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        try:
            sock.connect(path)
            return sock
        except (BlockingIOError, TimeoutError) as exc:
            sock.close()
            busy = isinstance(exc, TimeoutError) or exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK)
            if not busy:
                raise
            if time.monotonic() >= deadline:
                raise DaemonNotAnswering(
                    f"the daemon at {path} is not answering: its socket exists but no connection was "
                    f"accepted within {timeout:g}s (stopped or overloaded); check `swamp daemon status`"
                ) from None
            time.sleep(0.02)
        except BaseException:
            sock.close()
            raise


# -- finding or starting the daemon ---------------------------------------------------------


def autostart_enabled(paths: Paths, env: Any = None) -> bool:
    """`SWAMPD_AUTOSTART`, else `autostart` in the host config file, else on.

    A value that is not yes/no, or a config file that cannot be read as TOML (a FIFO, a device,
    bad syntax), raises ConfigError rather than guessing.
    """
    env = os.environ if env is None else env
    flag = parse_flag("SWAMPD_AUTOSTART", env.get("SWAMPD_AUTOSTART"))
    if flag is not None:
        return flag
    data = read_config_file(paths.config_file)
    if data is None:
        return True
    import tomllib

    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        raise ConfigError(f"config file {paths.config_file} is not valid TOML") from None
    daemon = raw.get("daemon", {})
    setting = daemon.get("autostart", raw.get("autostart", True)) if isinstance(daemon, dict) else True
    if not isinstance(setting, bool):
        raise ConfigError(f"[daemon] autostart must be true or false, not {setting!r} (in {paths.config_file})")
    return setting


def daemon_command() -> list[str]:
    """How to start the daemon: the interpreter running us, so venvs and tests just work."""
    return [sys.executable, "-m", "swampd"]


def start_daemon(paths: Paths, *, timeout: float = START_TIMEOUT) -> None:
    """Start a daemon in the background and wait until it accepts connections.

    A client-side flock serializes concurrent starters: fifty agents calling at once end
    with one daemon, and the other forty-nine simply connect to it.
    """
    import fcntl
    import select
    import subprocess
    import time

    os.makedirs(paths.runtime_dir, mode=0o700, exist_ok=True)
    spawn_lock = os.open(os.path.join(paths.runtime_dir, "spawn.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(spawn_lock, fcntl.LOCK_EX)
        if _can_connect(paths.socket):
            return
        read_fd, write_fd = os.pipe()
        try:
            # Never a member of a job (swampd/jobs/process.py): a client run by a job starts a
            # daemon that must outlive that job.
            env = {k: v for k, v in os.environ.items() if k != "SWAMPD_JOB_ID"}
            proc = subprocess.Popen(
                [*daemon_command(), "--ready-fd", str(write_fd)], env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                pass_fds=(write_fd,),
                start_new_session=True,
                close_fds=True,
            )
        finally:
            os.close(write_fd)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([read_fd], [], [], max(0.0, deadline - time.monotonic()))
                if not ready:
                    break
                data = os.read(read_fd, 64)
                if data.startswith(b"ready") or not data:
                    break
        finally:
            os.close(read_fd)
        while time.monotonic() < deadline:
            if _can_connect(paths.socket):
                _detach(proc)
                return
            if proc.poll() is not None and proc.returncode != 0:
                err = (proc.stderr.read() if proc.stderr else b"").decode(errors="replace").strip()
                last = err.splitlines()[-1] if err else f"exit code {proc.returncode}"
                raise DaemonUnavailable(f"swampd failed to start: {last}")
            time.sleep(0.02)
        raise DaemonUnavailable(
            f"swampd did not accept connections on {paths.socket} within {timeout:g}s; "
            "run `swampd --foreground` to see why"
        )
    finally:
        os.close(spawn_lock)


def _detach(proc: Any) -> None:
    if proc.stderr is not None:
        proc.stderr.close()
    proc.returncode = 0  # never reaped by us: it outlives this process by design


def _can_connect(path: str, timeout: float = 1.0) -> bool:
    try:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    except OSError:
        return False
    sock.settimeout(timeout)
    try:
        sock.connect(path)
        return True
    except OSError:
        return False
    finally:
        sock.close()


def stop_daemon(paths: Paths, *, timeout: float = 30.0) -> bool:
    """Ask a running daemon to drain and wait until it has gone; False if none answered."""
    import time

    try:
        with Client(paths.socket, timeout=timeout) as client:
            client.call("daemon.stop", {"reason": "stop requested"})
    except (OSError, RpcError, DaemonUnavailable):
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _can_connect(paths.socket) and not lock_held(paths.lockfile):
            return True
        time.sleep(0.02)
    return False


def lock_held(path: str) -> bool:
    """Whether a live daemon holds the start lock at `path` (probed without keeping it)."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def connect(
    paths: Paths | None = None,
    *,
    autostart: bool | None = None,
    timeout: float | None = None,
) -> Client:
    """Connect to the daemon (starting it when allowed) and check the protocol version.

    Raises DaemonUnavailable when no daemon answers and none may be started, and RpcError
    (kind `version_mismatch`) when the daemon speaks another protocol and may not be restarted.
    """
    paths = paths or resolve_paths()
    try:
        client = Client(paths.socket, timeout=timeout)
    except DaemonNotAnswering:
        raise  # a daemon is there but stalled: starting another cannot help
    except OSError as exc:
        allowed = autostart_enabled(paths) if autostart is None else autostart
        if not allowed:
            if isinstance(exc, ConnectionRefusedError):
                raise DaemonUnavailable(
                    f"no daemon is listening at {paths.socket} (a stale socket) and autostart is off; "
                    "start one with `swamp daemon start`"
                ) from None
            raise DaemonUnavailable(
                f"no daemon at {paths.socket} and autostart is off; start one with `swamp daemon start`"
            ) from None
        start_daemon(paths)
        client = Client(paths.socket, timeout=timeout)
    try:
        hello = client.handshake()
    except BaseException:
        client.close()
        raise
    if hello.get("protocol") != protocol.PROTOCOL_VERSION:
        client.close()
        allowed = autostart_enabled(paths) if autostart is None else autostart
        if not allowed:
            raise RpcError(
                protocol.DAEMON_ERRORS["version_mismatch"],
                f"the running daemon speaks protocol {hello.get('protocol')}, this client {protocol.PROTOCOL_VERSION}; "
                "fix: swamp daemon restart",
                {"kind": "version_mismatch"},
            )
        stop_daemon(paths)
        start_daemon(paths)
        client = Client(paths.socket, timeout=timeout)
        client.handshake()
    return client
