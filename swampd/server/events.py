"""Publish/subscribe: services publish `(topic, data)`; subscribed connections get notifications.

Services receive `bus.publish` as a plain callable and never import this module. `publish`
may be called from worker threads; delivery always happens on the event loop, where each
event gets its sequence number. Every event is stamped with the wall-clock time it was
published (`ts`) and kept in a bounded history, so a subscriber may ask for what happened
since the daemon started before it follows the live stream.

A subscription may filter on the event's fields (`where`: dotted paths into `data`, each
with the values it accepts) and may ask for the *detail* a publisher attaches for
subscribers that asked for it (a context watcher gets the new value; everyone else only
the metadata).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from swampd.config import settings_from_table
from swampd.errors import InvalidInput, TooLarge
from swampd.peer import Connection
from swampd.protocol import EVENT_METHOD

WILDCARD = "*"
DEFAULT_HISTORY = 10_000
MAX_SUBSCRIPTIONS_PER_CONNECTION = 64
"""Each event is one notification per subscription: one connection may not multiply them without end."""

Where = tuple[tuple[tuple[str, ...], tuple[Any, ...]], ...]
"""(path into the event data, the values accepted there): every path must accept its value."""


def parse_where(where: Mapping[str, Any] | None) -> Where:
    """`{"peer.pid": 12, "type": ["call.joined", "call.left"]}` -> the compiled filter."""
    if not where:
        return ()
    compiled = []
    for field, accepted in where.items():
        values = tuple(accepted) if isinstance(accepted, (list, tuple)) else (accepted,)
        compiled.append((tuple(field.split(".")), values))
    return tuple(compiled)


def _as_text(value: Any) -> str:
    """How a value is written on a command line: strings bare, everything else as JSON."""
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return str(value)


def _accepts(actual: Any, expected: Any) -> bool:
    if isinstance(expected, str):
        return _as_text(actual) == expected  # `peer.pid=12` from a shell matches the number 12
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual is expected
    return bool(actual == expected)


_MISSING = object()


def matches(data: Mapping[str, Any], where: Where) -> bool:
    for path, accepted in where:  # plain loops and dict checks: this runs per event per filtered subscriber
        value: Any = data
        for part in path:
            if not isinstance(value, dict):
                return False
            value = value.get(part, _MISSING)
            if value is _MISSING:
                return False
        for expected in accepted:
            if _accepts(value, expected):
                break
        else:
            return False
    return True


@dataclass
class Subscription:
    id: str
    connection: Connection
    topics: frozenset[str]
    where: Where = ()
    detail: bool = False

    def wants(self, topic: str, data: Mapping[str, Any]) -> bool:
        if WILDCARD not in self.topics and topic not in self.topics:
            return False
        return not self.where or matches(data, self.where)


Event = tuple[int, float, str, dict[str, Any]]
"""A kept event: (seq, ts, topic, data). A plain tuple: the history takes one per publish."""


class EventBus:
    def __init__(self, history: int = DEFAULT_HISTORY) -> None:
        self._subs: dict[str, Subscription] = {}
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._seq = 0
        self._history: deque[Event] = deque(maxlen=max(0, history))
        self.published: Counter[str] = Counter()
        self.dropped = 0

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._loop_thread = threading.get_ident()

    def subscribe(self, connection: Connection, topics: Iterable[str], *, where: Mapping[str, Any] | None = None,
                  detail: bool = False, replay: bool = False) -> tuple[str, int, int]:
        """Add a subscription; returns (its id, events replayed from history, events no longer kept).

        `where` maps dotted field paths to a value or a list of values (any of them matches).
        With `replay`, the kept events that match are sent first, in order, before any live one.
        """
        held = sum(1 for s in self._subs.values() if s.connection is connection)
        if held >= MAX_SUBSCRIPTIONS_PER_CONNECTION:
            raise TooLarge(f"this connection holds {held} subscriptions, the most allowed; unsubscribe or "
                           "subscribe to several topics at once", limit=MAX_SUBSCRIPTIONS_PER_CONNECTION)
        sub = Subscription(id=f"sub-{next(self._ids)}", connection=connection, topics=frozenset(topics),
                           where=parse_where(where), detail=detail)
        replayed = 0
        if replay:
            for seq, ts, topic, data in list(self._history):
                if sub.wants(topic, data):
                    replayed += self._send(sub, seq, ts, topic, data)
        self._subs[sub.id] = sub

        def forget() -> None:
            self._subs.pop(sub.id, None)

        connection.on_close(forget)
        return sub.id, replayed, self._seq - len(self._history)

    def unsubscribe(self, sub_id: str, connection: Connection | None = None) -> bool:
        sub = self._subs.get(sub_id)
        if sub is None or (connection is not None and sub.connection is not connection):
            return False
        del self._subs[sub_id]
        return True

    @property
    def subscription_count(self) -> int:
        return len(self._subs)

    @property
    def last_seq(self) -> int:
        return self._seq

    def has_subscribers(self, topic: str) -> bool:
        return any(WILDCARD in s.topics or topic in s.topics for s in self._subs.values())

    def publish(self, topic: str, data: dict[str, Any], detail: dict[str, Any] | None = None) -> None:
        """Send `data` to every subscriber of `topic`. Never blocks; safe from any thread.

        `detail` is merged into `data` only for subscriptions that asked for it, and is not kept
        in the history.
        """
        ts = time.time()
        if self._loop is not None and threading.get_ident() != self._loop_thread:
            try:
                self._loop.call_soon_threadsafe(self._deliver, topic, data, ts, detail)
            except RuntimeError:  # loop closed: the daemon is stopping
                pass
            return
        self._deliver(topic, data, ts, detail)

    def _deliver(self, topic: str, data: dict[str, Any], ts: float, detail: dict[str, Any] | None) -> None:
        self._seq = seq = self._seq + 1
        self._history.append((seq, ts, topic, data))
        self.published[topic] += 1
        if not self._subs:
            return
        for sub in list(self._subs.values()):  # inlined `wants` and `_send`: this runs for every event
            topics = sub.topics
            if (WILDCARD in topics or topic in topics) and (not sub.where or matches(data, sub.where)):
                params = {"subscription": sub.id, "topic": topic, "ts": ts, "seq": seq,
                          "data": {**data, **detail} if detail and sub.detail else data}
                if not sub.connection.notify(EVENT_METHOD, params):
                    self.dropped += 1

    def _send(self, sub: Subscription, seq: int, ts: float, topic: str, data: dict[str, Any]) -> int:
        params = {"subscription": sub.id, "topic": topic, "ts": ts, "seq": seq, "data": data}
        if sub.connection.notify(EVENT_METHOD, params):
            return 1
        self.dropped += 1
        return 0


@dataclass(frozen=True)
class EventSettings:
    history: int = DEFAULT_HISTORY
    """Events kept for subscribers that ask for what happened since the daemon started."""

    @classmethod
    def from_mapping(cls, raw: dict[str, Any]) -> EventSettings:
        settings = settings_from_table(cls, raw, "events")
        if not 0 <= settings.history <= 1_000_000:
            raise InvalidInput("[events] history must be between 0 and 1000000")
        return settings
