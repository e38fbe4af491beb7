"""Where the dash gets its data: a live daemon, or canned results for snapshots.

The app takes a `DataSource` as a constructor argument and only ever calls it from thread
workers. `LiveSource` wraps `swampd.client` (a small pool of connections for calls, plus
dedicated connections for the event stream and for following a log); `FixedSource`
replays canned RPC results so screenshots never vary.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterator
from typing import Any, Protocol

from swampd import protocol
from swampd.client import Client, DaemonUnavailable, RpcError, connect, start_daemon
from swampd.paths import Paths

METHOD_NOT_FOUND = protocol.METHOD_NOT_FOUND


def is_unavailable(error: BaseException) -> bool:
    """True when the daemon does not have the method at all (an older or smaller daemon)."""
    return isinstance(error, RpcError) and (error.code == METHOD_NOT_FOUND or error.kind == "method_not_found")


class DataSource(Protocol):
    """What the app needs from the daemon. Every method may block: call from a worker."""

    label: str
    requests_made: int
    """Calls this source sent (the overview leaves the console's own polling out of requests/s)."""

    def call(self, method: str, params: Any = None) -> Any: ...

    def events(self, topics: list[str], stop: threading.Event) -> Iterator[dict[str, Any] | None]:
        """Yield events ({topic, data}) and None now and then (so the reader can batch and stop).

        Raises DaemonUnavailable when the daemon goes away."""
        ...

    def follow_log(self, job_id: str, stop: threading.Event) -> Iterator[tuple[list[str], bool]]:
        """Yield (lines, live): a finished job's tail once (live False), or its lines as they come."""
        ...

    def start(self) -> None:
        """Start the daemon (the `s` key when none is running)."""
        ...

    def close(self) -> None: ...

    def now(self) -> float: ...


class LiveSource:
    """The real daemon on its Unix socket (never auto-started except by `start`)."""

    def __init__(self, paths: Paths, *, timeout: float = 10.0) -> None:
        self.paths = paths
        self.label = paths.socket
        self.timeout = timeout
        self._idle: list[Client] = []
        self._lock = threading.Lock()
        self.requests_made = 0

    def _connect(self) -> Client:
        try:
            return connect(self.paths, autostart=False, timeout=self.timeout)
        except OSError as exc:
            raise DaemonUnavailable(f"no daemon at {self.paths.socket}") from exc

    def call(self, method: str, params: Any = None) -> Any:
        """One call on a pooled connection (workers run in several threads at once)."""
        with self._lock:
            self.requests_made += 1
            client = self._idle.pop() if self._idle else None
        if client is None:
            client = self._connect()
        try:
            result = client.call(method, params)
        except RpcError:
            self._checkin(client)
            raise
        except (OSError, ValueError, DaemonUnavailable) as exc:
            client.close()
            raise DaemonUnavailable(f"lost the daemon at {self.paths.socket}") from exc
        self._checkin(client)
        return result

    def _checkin(self, client: Client) -> None:
        with self._lock:
            if len(self._idle) < 4:
                self._idle.append(client)
                return
        client.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for client in idle:
            client.close()

    def events(self, topics: list[str], stop: threading.Event) -> Iterator[dict[str, Any] | None]:
        client = self._connect()
        try:
            client.subscribe(topics)
            while not stop.is_set():
                try:
                    message = client.next_notification(timeout=0.2)
                except TimeoutError:
                    yield None
                    continue
                except (OSError, ValueError) as exc:
                    raise DaemonUnavailable("the daemon closed the event stream") from exc
                if message.get("method") == "events.event":
                    params = message.get("params") or {}
                    yield {"topic": params.get("topic"), "data": params.get("data") or {}, "ts": params.get("ts"),
                           "seq": params.get("seq")}
        except OSError as exc:
            raise DaemonUnavailable("the daemon closed the event stream") from exc
        finally:
            client.close()

    def follow_log(self, job_id: str, stop: threading.Event) -> Iterator[tuple[list[str], bool]]:
        client = self._connect()
        try:
            state = client.call("jobs.get", {"id": job_id}).get("state")
            if state not in ("queued", "running"):
                yield _lines(client.call("jobs.logs", {"id": job_id, "tail": 500})), False
                return
            # follow streams the log from its first line (the Log widget keeps the last 2,000)
            request_id = client.request("jobs.logs", {"id": job_id, "follow": True})
            client.settimeout(0.2)
            while not stop.is_set():
                try:
                    message = client.read_message()
                except TimeoutError:
                    continue
                if message.get("method") == "jobs.log":
                    yield _lines(message.get("params")), True
                elif message.get("id") == request_id:
                    return
        except (OSError, ValueError) as exc:
            raise DaemonUnavailable("lost the daemon while following a log") from exc
        finally:
            client.close()

    def start(self) -> None:
        start_daemon(self.paths)

    def now(self) -> float:
        return time.time()


def _lines(reply: Any) -> list[str]:
    lines = reply.get("lines") if isinstance(reply, dict) else None
    return [str(line) for line in lines] if isinstance(lines, list) else []


class FixedSource:
    """Canned RPC results: `results[method]` is a value, an exception to raise, or a callable.

    Every call is recorded in `calls`; logs are whatever was given; no events arrive.
    """

    def __init__(
        self,
        results: dict[str, Any],
        *,
        now: float = 1_795_000_000.0,
        label: str = "/run/user/1000/swampd/swampd.sock",
        logs: dict[str, list[str]] | None = None,
    ) -> None:
        self.results = results
        self.label = label
        self.calls: list[tuple[str, Any]] = []
        self.requests_made = 0
        self._now = now
        self._logs = logs or {}
        self._lock = threading.Lock()

    def call(self, method: str, params: Any = None) -> Any:
        with self._lock:
            self.calls.append((method, params))
        if method not in self.results:
            raise RpcError(METHOD_NOT_FOUND, f"method not found: {method}", {"kind": "method_not_found"})
        value = self.results[method]
        if isinstance(value, BaseException):
            raise value
        if callable(value):
            value = value(params)
        return copy.deepcopy(value)  # fresh objects per call, as from the wire

    def events(self, topics: list[str], stop: threading.Event) -> Iterator[dict[str, Any] | None]:
        while not stop.wait(0.2):
            yield None

    def follow_log(self, job_id: str, stop: threading.Event) -> Iterator[tuple[list[str], bool]]:
        yield list(self._logs.get(job_id, [])), False

    def start(self) -> None:
        return None

    def close(self) -> None:
        return None

    def now(self) -> float:
        return self._now
