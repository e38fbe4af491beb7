"""A small synchronous client for the swampd socket, using the standard library only.

The CLI's hot path imports this module, so it avoids `socket`, `json`, `subprocess` and
friends: `_socket` and `_json` give the same primitives without their import cost. The cold
path (starting a daemon) imports what it needs when it needs it.
"""

from __future__ import annotations

import _socket
import os
import sys

from swampd import protocol
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

    _scan = _json.make_scanner(_ScanContext())
    _encode = _json.make_encoder(
        None, None, _json.encode_basestring, None, ":", ",", False, False, True
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


class RpcError(Exception):
    """Raised when the daemon answers a call with a JSON-RPC error."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data if isinstance(data, dict) else {}

    @property
    def kind(self) -> str:
        return str(self.data.get("kind") or protocol.kind_for_code(self.code))

    def to_error(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "data": {"kind": self.kind, **self.data}}


class DaemonUnavailable(Exception):
    """Raised when no daemon answers and none could (or may) be started."""


class ConnectionClosed(DaemonUnavailable):
    """Raised when the daemon closed the connection."""


class Client:
    """One connection to the daemon. Not thread-safe; use one per thread."""

    def __init__(self, socket_path: str, *, timeout: float | None = None) -> None:
        self.socket_path = socket_path
        self._sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        if timeout is not None:
            self._sock.settimeout(timeout)
        try:
            self._sock.connect(socket_path)
        except OSError:
            self._sock.close()
            raise
        self._buffer = b""
        self._next_id = 0
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
        self._sock.settimeout(timeout)

    # -- wire --------------------------------------------------------------------------------

    def send_line(self, data: bytes) -> None:
        self._sock.sendall(data if data.endswith(b"\n") else data + b"\n")

    def send(self, message: Any) -> None:
        self.send_line(dumps(message).encode() + b"\n")

    def read_line(self) -> bytes:
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line, self._buffer = self._buffer[:end], self._buffer[end + 1:]
                return line
            chunk = self._sock.recv(65536)  # below malloc's mmap threshold: no mmap per call
            if not chunk:
                raise ConnectionClosed("the daemon closed the connection")
            self._buffer += chunk

    def read_message(self) -> Any:
        return loads(self.read_line().decode())

    # -- calls -------------------------------------------------------------------------------

    def request(self, method: str, params: Any = None) -> int:
        """Send a request without waiting; returns its id."""
        self._next_id += 1
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": self._next_id}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self._next_id

    def wait_reply(self, request_id: Any) -> dict[str, Any]:
        """Read until the reply to `request_id` arrives; notifications on the way are kept."""
        while True:
            message = self.read_message()
            if isinstance(message, dict) and "id" not in message and "method" in message:
                self.notifications.append(message)
                continue
            if isinstance(message, dict) and message.get("id") == request_id:
                return message
            if isinstance(message, dict) and message.get("id") is None and "error" in message:
                err = message["error"]
                raise RpcError(err.get("code", protocol.INTERNAL_ERROR), err.get("message", ""), err.get("data"))

    def call(self, method: str, params: Any = None) -> Any:
        """Call `method` and return its result; raises RpcError for an error reply."""
        reply = self.wait_reply(self.request(method, params))
        if "error" in reply:
            err = reply["error"]
            raise RpcError(err.get("code", protocol.INTERNAL_ERROR), err.get("message", ""), err.get("data"))
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
        old = self._sock.gettimeout()
        self._sock.settimeout(timeout)
        try:
            while True:
                message = self.read_message()
                if isinstance(message, dict) and "method" in message and "id" not in message:
                    return message
        finally:
            self._sock.settimeout(old)

    def handshake(self) -> dict[str, Any]:
        self.hello = self.call("daemon.hello", {"client_protocol": protocol.PROTOCOL_VERSION})
        return self.hello


# -- finding or starting the daemon ---------------------------------------------------------


def autostart_enabled(paths: Paths, env: Any = None) -> bool:
    """`SWAMPD_AUTOSTART`, else `autostart` in the host config file, else on."""
    env = os.environ if env is None else env
    value = env.get("SWAMPD_AUTOSTART")
    if value is not None:
        return value.strip().lower() not in ("0", "false", "no", "off", "")
    try:
        import tomllib

        with open(paths.config_file, "rb") as fh:
            raw = tomllib.load(fh)
    except (OSError, ValueError):
        return True
    daemon = raw.get("daemon", {})
    setting = daemon.get("autostart", raw.get("autostart", True)) if isinstance(daemon, dict) else True
    return bool(setting)


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
            proc = subprocess.Popen(
                [*daemon_command(), "--ready-fd", str(write_fd)],
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


def _can_connect(path: str) -> bool:
    try:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    except OSError:
        return False
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
    except OSError:
        return False
    except RpcError:
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
    except OSError:
        allowed = autostart_enabled(paths) if autostart is None else autostart
        if not allowed:
            raise DaemonUnavailable(
                f"no daemon at {paths.socket} and autostart is off; start one with `swamp daemon start`"
            ) from None
        start_daemon(paths)
        client = Client(paths.socket, timeout=timeout)
    hello = client.handshake()
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
