"""events.*: subscribe to topics; events arrive as `events.event` notifications."""

from __future__ import annotations

from typing import Any

from swampd.api._context import CallContext
from swampd.api._registry import rpc
from swampd.errors import InvalidParams

KNOWN_TOPICS = ("daemon", "cache", "calls", "jobs", "vault", "extensions", "datastore", "fleet", "context")

_SCALARS = (str, int, float, bool, type(None))


def check_topics(topics: list[Any] | str | None) -> list[str]:
    if topics is None:
        return ["*"]
    if isinstance(topics, str):
        topics = [topics]
    unknown = [t for t in topics if not isinstance(t, str) or (t != "*" and t not in KNOWN_TOPICS)]
    if unknown or not topics:
        raise InvalidParams(f"unknown topic(s): {unknown}; known: {', '.join(KNOWN_TOPICS)} or *", param="topics")
    return topics


def check_where(where: dict[str, Any] | None) -> dict[str, Any]:
    """`{field: value or [values]}`: dotted field paths into the event data, JSON scalars to match."""
    for field, accepted in (where or {}).items():
        parts = field.split(".")
        if not all(parts):
            raise InvalidParams(f"where: {field!r} is not a field path (e.g. type, peer.pid)", param="where")
        values = accepted if isinstance(accepted, list) else [accepted]
        if not values or not all(isinstance(v, _SCALARS) for v in values):
            raise InvalidParams(f"where: {field} must be a JSON scalar or a non-empty list of them", param="where")
    return where or {}


@rpc("events.subscribe")
async def subscribe(ctx: CallContext, topics: list[Any] | str | None = None, where: dict[str, Any] | None = None,
                    since_start: bool = False) -> dict[str, Any]:
    """Subscribe to topics ("*" for all), filtered by `where` fields; `since_start` replays kept history first."""
    topics = check_topics(topics)
    sub_id, replayed, missed = ctx.services.bus.subscribe(ctx.connection, topics, where=check_where(where),
                                                          replay=since_start)
    result: dict[str, Any] = {"subscription": sub_id, "topics": sorted(set(topics))}
    if since_start:
        result.update(replayed=replayed, missed=missed)
    return result


@rpc("events.unsubscribe")
async def unsubscribe(ctx: CallContext, subscription: str) -> dict[str, Any]:
    """End a subscription of this connection."""
    return {"unsubscribed": ctx.services.bus.unsubscribe(subscription, ctx.connection)}


@rpc("events.topics")
async def topics(ctx: CallContext) -> dict[str, Any]:
    """The topics one can subscribe to, with counts of events published so far."""
    published = ctx.services.bus.published
    return {"topics": [{"topic": t, "published": published.get(t, 0)} for t in KNOWN_TOPICS],
            "last_seq": ctx.services.bus.last_seq}
