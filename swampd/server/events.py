"""Publish/subscribe: services publish `(topic, data)`; subscribed connections get notifications.

Services receive `bus.publish` as a plain callable and never import this module. `publish`
may be called from worker threads; delivery always happens on the event loop.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from swampd.api._context import Connection
from swampd.errors import TooLarge
from swampd.protocol import EVENT_METHOD

WILDCARD = "*"
MAX_SUBSCRIPTIONS_PER_CONNECTION = 64
"""Each event is one notification per subscription: one connection may not multiply them without end."""


@dataclass
class Subscription:
    id: str
    connection: Connection
    topics: frozenset[str]

    def wants(self, topic: str) -> bool:
        return WILDCARD in self.topics or topic in self.topics


class EventBus:
    def __init__(self) -> None:
        self._subs: dict[str, Subscription] = {}
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self.published: Counter[str] = Counter()
        self.dropped = 0

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._loop_thread = threading.get_ident()

    def subscribe(self, connection: Connection, topics: Iterable[str]) -> str:
        held = sum(1 for s in self._subs.values() if s.connection is connection)
        if held >= MAX_SUBSCRIPTIONS_PER_CONNECTION:
            raise TooLarge(f"this connection holds {held} subscriptions, the most allowed; unsubscribe or "
                           "subscribe to several topics at once", limit=MAX_SUBSCRIPTIONS_PER_CONNECTION)
        sub = Subscription(id=f"sub-{next(self._ids)}", connection=connection, topics=frozenset(topics))
        self._subs[sub.id] = sub
        connection.on_close(lambda: self._subs.pop(sub.id, None))
        return sub.id

    def unsubscribe(self, sub_id: str, connection: Connection | None = None) -> bool:
        sub = self._subs.get(sub_id)
        if sub is None or (connection is not None and sub.connection is not connection):
            return False
        del self._subs[sub_id]
        return True

    @property
    def subscription_count(self) -> int:
        return len(self._subs)

    def has_subscribers(self, topic: str) -> bool:
        return any(s.wants(topic) for s in self._subs.values())

    def publish(self, topic: str, data: dict[str, Any]) -> None:
        """Send `data` to every subscriber of `topic`. Never blocks; safe from any thread."""
        if self._loop is not None and threading.get_ident() != self._loop_thread:
            try:
                self._loop.call_soon_threadsafe(self._deliver, topic, data)
            except RuntimeError:  # loop closed: the daemon is stopping
                pass
            return
        self._deliver(topic, data)

    def _deliver(self, topic: str, data: dict[str, Any]) -> None:
        self.published[topic] += 1
        for sub in list(self._subs.values()):
            if sub.wants(topic):
                params = {"subscription": sub.id, "topic": topic, "data": data}
                if not sub.connection.notify(EVENT_METHOD, params):
                    self.dropped += 1
