"""Singleflight for the daemon: identical calls that overlap in time run once.

A *flight* is one execution of a shared piece of work, identified by a canonical key
(`canonical_key(method, params, scope)`; the scope is normally the repo). The first caller
starts the flight; callers that arrive while it is in the air become waiters of the same
flight. When the flight ends every waiter receives the same result or the same error.

Rules (see docs/jobs.md and reference/prior-art.md §3 for the pitfalls they avoid):

- The work runs in a task group owned by the Coalescer (the daemon's scope), never in the
  first caller's task: a caller that disconnects or is cancelled only detaches.
- The work is cancelled when its last waiter leaves, or by `cancel(key)`. A cancelled
  flight is removed from the table at once, so the next caller starts a fresh one.
- Errors are delivered to every waiter and never cached: the key is forgotten when the
  flight ends, so the next call runs again.
- The coalescer only dedupes *overlapping* calls. A caller's `fn` must re-check the hot
  tier first thing inside the flight (the value may have landed while it queued).
- Exceptions that are not `SwampdError`s are reported as `CallFailed` without their text.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import orjson

from swampd.errors import CallFailed, InvalidParams, ShuttingDown, SwampdError
from swampd.peer import Peer
from swampd.taskhost import TaskHost

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

T = TypeVar("T")
Publish = Callable[[str, dict[str, Any]], None]

TOPIC = "calls"
PHASES = {"call.started": "started", "call.joined": "joined", "call.left": "detached", "call.ended": "finished"}
"""Each calls event's phase in a flight's life (the event types predate the phase names)."""
log = logging.getLogger(__name__)


def canonical_key(method: str, params: Any, scope: str = "") -> str:
    """A stable hash of (scope, method, params): dict key order never matters."""
    try:
        blob = orjson.dumps(
            {"scope": scope, "method": method, "params": params},
            option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
        )
    except TypeError:
        # orjson stops at 64-bit integers; the stdlib encoder is slower but has no such limit.
        try:
            blob = json.dumps({"scope": scope, "method": method, "params": params},
                              sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                              allow_nan=False).encode()
        except (TypeError, ValueError):
            raise InvalidParams(f"params of {method} are not JSON values; cannot coalesce") from None
    return hashlib.sha256(blob).hexdigest()


def _process_start(pid: int) -> str | None:
    """The start time field of /proc/<pid>/stat; None when the process is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rpartition(b")")[2].split()
    except OSError:
        return None
    if not fields or fields[0] in (b"Z", b"X") or len(fields) < 20:
        return None
    return fields[19].decode()


async def while_peer_lives(
    peer: Peer | None, fn: Callable[[], Awaitable[T]], *, poll: float = 0.25
) -> T:
    """Await `fn()` as the peer's waiter, but detach as soon as the peer process has exited.

    A client process that dies (or is killed) leaves its socket to be closed by the kernel;
    watching its pid lets its waiter leave the flight at once, whatever the transport does
    with a request whose connection is gone. The daemon's own pid (in-process) is not watched.
    """
    pid = peer.pid if peer is not None else None
    start = _process_start(pid) if pid else None
    if not pid or pid == os.getpid() or start is None:
        return await fn()
    outcome: list[T] = []
    errors: list[Exception] = []
    async with anyio.create_task_group() as tg:

        async def call() -> None:
            try:
                outcome.append(await fn())
            except Exception as exc:  # noqa: BLE001 - re-raised below, outside the task group
                errors.append(exc)
            tg.cancel_scope.cancel()

        async def watch() -> None:
            while _process_start(pid) == start:
                await anyio.sleep(poll)
            tg.cancel_scope.cancel()

        tg.start_soon(call)
        tg.start_soon(watch)
    if errors:
        raise errors[0]
    if not outcome:
        raise CallFailed(f"the calling process {pid} exited; its call was detached", detached=True)
    return outcome[0]


def _copy_error(error: SwampdError) -> SwampdError:
    """A fresh exception per waiter (a shared instance would collect every waiter's traceback)."""
    try:
        return type(error)(error.message, **error.data)
    except Exception:  # noqa: BLE001 - a subclass with another signature: share the instance
        return error


@dataclass
class Flight:
    key: str
    method: str
    model: str | None
    started: float
    started_monotonic: float
    waiters: dict[int, Peer | None] = field(default_factory=dict)
    done: anyio.Event = field(default_factory=anyio.Event)
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    result: Any = None
    error: SwampdError | None = None
    finished: bool = False
    cancelled: bool = False
    cancel_reason: str = ""
    joined_total: int = 1
    held: bool = False
    """Held by the daemon (a detached job): it runs on when every waiter has left."""
    detail: str | None = None
    """What the work is, for people: a command job's command line, say."""
    origin: str = "client"
    """`client` when a client's call started it; `job` for a detached job a client submitted
    (held by the daemon); `daemon` for the daemon's own work (hot-tier reads and revalidations)."""
    joined: dict[int, float] = field(default_factory=dict)
    """waiter -> time.monotonic() when it joined (per-peer wait time)."""

    @property
    def age(self) -> float:
        return time.monotonic() - self.started_monotonic

    def describe(self) -> dict[str, Any]:
        """The flight for `calls.inflight`. `peers` lists client processes only (each with how
        long it has waited and its parent); waiters without a peer are the daemon's own and
        are counted in `internal_waiters`, never listed as null."""
        now = time.monotonic()
        peers = []
        for waiter, peer in self.waiters.items():
            if peer is not None:
                joined = self.joined.get(waiter, self.started_monotonic)
                peers.append({**peer.describe(), "waited": round(now - joined, 3)})
        return {
            "key": self.key,
            "method": self.method,
            "model": self.model,
            "detail": self.detail,
            "origin": self.origin,
            "internal": self.origin == "daemon" and not peers,
            "started": self.started,
            "age": round(self.age, 3),
            "waiters": len(self.waiters),
            "internal_waiters": len(self.waiters) - len(peers),
            "held": self.held,
            "peers": peers,
        }


class Coalescer:
    """Runs identical overlapping calls once; the daemon owns the scope of the shared work.

    Give it a task group, or call `start()` / `aclose()` (the daemon's lifecycle does,
    through `Services.start()` / `Services.aclose()`; asyncio backend), or use it as
    `async with Coalescer(publish) as co: ...`.
    """

    def __init__(
        self, publish: Publish | None = None, *, task_group: TaskGroup | None = None
    ) -> None:
        self._publish = publish or (lambda topic, data: None)
        self._tg = task_group
        self._host = TaskHost("swampd fan-out")
        self._flights: dict[str, Flight] = {}
        self._waiter_ids = itertools.count(1)
        self.calls_total = 0
        self.flights_total = 0
        self.coalesced_total = 0
        self.executions_saved = 0
        self.errors_total = 0
        self.cancelled_total = 0
        self.detached_total = 0

    # lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the daemon-owned task group in a host task of its own (swampd/taskhost.py), so
        `aclose()` may be called from any task, inside any cancel scope."""
        if self._tg is not None:
            return
        self._tg = await self._host.start()

    async def aclose(self) -> None:
        """Cancel every flight (its waiters get `CallFailed`) and stop the task group."""
        for flight in list(self._flights.values()):
            self._cancel_flight(flight, "the daemon is shutting down")
        if self._host.group is None:
            return
        self._tg = None
        await self._host.aclose()

    async def __aenter__(self) -> Coalescer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # the call ----------------------------------------------------------------------------

    async def run(
        self,
        key: str,
        fn: Callable[[], Awaitable[T]],
        *,
        method: str,
        model: str | None = None,
        peer: Peer | None = None,
        detail: str | None = None,
    ) -> T:
        """Run `fn` once for every overlapping caller with this `key`; share its outcome.

        A caller that is cancelled while waiting detaches; when the last waiter detaches the
        work is cancelled. `fn` runs in the daemon's task group, not in the caller's task.
        """
        if self._tg is None:
            raise ShuttingDown("the fan-out coordinator is not running")
        self.calls_total += 1
        flight = self._flights.get(key)
        if flight is None:
            flight = self._launch(key, fn, method=method, model=model, detail=detail,
                                  origin="client" if peer is not None else "daemon")
            waiter = self._add_waiter(flight, peer)
            self._emit("call.started", flight, peer=peer)
        else:
            flight.joined_total += 1
            self.coalesced_total += 1
            waiter = self._add_waiter(flight, peer)
            self._emit("call.joined", flight, peer=peer)
        try:
            await flight.done.wait()
        finally:
            if not flight.finished:
                self._detach(flight, waiter)
        if flight.error is not None:
            raise _copy_error(flight.error)
        return flight.result  # type: ignore[no-any-return]

    async def call(
        self,
        method: str,
        params: Any,
        fn: Callable[[], Awaitable[T]],
        *,
        scope: str = "",
        model: str | None = None,
        peer: Peer | None = None,
    ) -> T:
        """Opt an RPC method in: coalesce on `canonical_key(method, params, scope)`.

        The caller detaches as soon as its process exits (see `while_peer_lives`).
        """
        key = canonical_key(method, params, scope)
        return await while_peer_lives(
            peer, lambda: self.run(key, fn, method=method, model=model, peer=peer)
        )

    def hold(
        self, key: str, fn: Callable[[], Awaitable[Any]], *, method: str, model: str | None = None,
        detail: str | None = None,
    ) -> Flight:
        """Join or start the flight `key` on the daemon's behalf: it runs on without waiters.

        Used for detached work (`jobs.submit` with wait=false). Only `cancel(key)` or the
        end of the work ends a held flight. Synchronous: the flight exists on return.
        """
        if self._tg is None:
            raise ShuttingDown("the fan-out coordinator is not running")
        flight = self._flights.get(key)
        if flight is None:
            flight = self._launch(key, fn, method=method, model=model, detail=detail, origin="job")
            self._emit("call.started", flight, held=True)
        flight.held = True
        return flight

    def _launch(
        self, key: str, fn: Callable[[], Awaitable[Any]], *, method: str, model: str | None,
        detail: str | None = None, origin: str = "client",
    ) -> Flight:
        assert self._tg is not None
        flight = Flight(key=key, method=method, model=model, started=time.time(),
                        started_monotonic=time.monotonic(), detail=detail, origin=origin)
        self._flights[key] = flight
        self.flights_total += 1
        self._tg.start_soon(self._execute, flight, fn, name=f"flight {method} {key[:12]}")
        return flight

    def _add_waiter(self, flight: Flight, peer: Peer | None) -> int:
        waiter = next(self._waiter_ids)
        flight.waiters[waiter] = peer
        flight.joined[waiter] = time.monotonic()
        return waiter

    def _detach(self, flight: Flight, waiter: int) -> None:
        peer = flight.waiters.pop(waiter, None)
        flight.joined.pop(waiter, None)
        self.detached_total += 1
        self._emit("call.left", flight, peer=peer)
        if not flight.waiters and not flight.held:
            self._cancel_flight(flight, "every waiter left")

    async def _execute(self, flight: Flight, fn: Callable[[], Awaitable[Any]]) -> None:
        try:
            with flight.scope:
                flight.result = await fn()
            if flight.scope.cancelled_caught or flight.cancelled:
                flight.result = None
                flight.error = CallFailed(
                    f"{flight.method} was cancelled: {flight.cancel_reason or 'cancelled'}",
                    cancelled=True,
                )
        except SwampdError as exc:
            flight.error = exc
        except Exception as exc:
            log.warning("shared call %s failed: %s", flight.method, type(exc).__name__,
                        exc_info=True)
            flight.error = CallFailed(f"{flight.method} failed ({type(exc).__name__})")
        finally:
            flight.finished = True
            if flight.error is not None:
                self.errors_total += 1
            if not flight.cancelled and len(flight.waiters) > 1:
                self.executions_saved += len(flight.waiters) - 1
            if self._flights.get(flight.key) is flight:
                del self._flights[flight.key]
            flight.done.set()
            ended: dict[str, Any] = {"outcome": self._outcome(flight), "duration": round(flight.age, 3)}
            if flight.error is not None:
                ended["error"] = flight.error.kind
            self._emit("call.ended", flight, **ended)

    @staticmethod
    def _outcome(flight: Flight) -> str:
        if flight.cancelled:
            return "cancelled"
        return "failed" if flight.error is not None else "succeeded"

    def _cancel_flight(self, flight: Flight, reason: str) -> None:
        if flight.finished or flight.cancelled:
            return
        flight.cancelled = True
        flight.cancel_reason = reason
        self.cancelled_total += 1
        if self._flights.get(flight.key) is flight:
            del self._flights[flight.key]  # the next caller starts afresh
        flight.scope.cancel()

    # control and introspection ---------------------------------------------------------

    def cancel(self, key: str, reason: str = "cancelled by request") -> dict[str, Any]:
        """Cancel a flight for every waiter (they receive `CallFailed` with `cancelled`)."""
        flight = self._flights.get(key)
        if flight is None:
            from swampd.errors import NotFound

            raise NotFound(f"no call in flight with key {key}")
        waiters = len(flight.waiters)
        self._cancel_flight(flight, reason)
        return {"key": key, "method": flight.method, "cancelled": True, "waiters": waiters}

    def inflight(self) -> list[dict[str, Any]]:
        """Every flight in the air, oldest first."""
        flights = sorted(self._flights.values(), key=lambda f: f.started_monotonic)
        return [f.describe() for f in flights]

    def get(self, key: str) -> Flight | None:
        return self._flights.get(key)

    def stats(self) -> dict[str, Any]:
        ages = [f.age for f in self._flights.values()]
        return {
            "flights": len(self._flights),
            "waiters": sum(len(f.waiters) for f in self._flights.values()),
            "oldest_age": round(max(ages), 3) if ages else 0.0,
            "calls_total": self.calls_total,
            "flights_total": self.flights_total,
            "coalesced_total": self.coalesced_total,
            "executions_saved": self.executions_saved,
            "errors_total": self.errors_total,
            "cancelled_total": self.cancelled_total,
            "detached_total": self.detached_total,
        }

    def busy_reason(self) -> str | None:
        if self._flights:
            return f"{len(self._flights)} call(s) in flight"
        return None

    def _emit(self, kind: str, flight: Flight, *, peer: Peer | None = None, **extra: Any) -> None:
        data: dict[str, Any] = {
            "type": kind,
            "phase": PHASES[kind],
            "key": flight.key,
            "method": flight.method,
            "model": flight.model,
            "detail": flight.detail,
            "origin": flight.origin,
            "waiters": len(flight.waiters),
            "age": round(flight.age, 3),
            **extra,
        }
        if peer is not None:
            data["peer"] = peer.describe()  # pid, command line and parent: /proc read once per connection
        try:
            self._publish(TOPIC, data)
        except Exception:
            log.debug("publishing %s failed", kind, exc_info=True)
