"""events.*: subscribe to topics; events arrive as `events.event` notifications."""

from __future__ import annotations

from typing import Any

from swampd.api._context import CallContext
from swampd.api._registry import rpc
from swampd.errors import InvalidParams

KNOWN_TOPICS = ("daemon", "cache", "calls", "jobs", "vault", "extensions", "datastore", "fleet")


@rpc("events.subscribe")
async def subscribe(ctx: CallContext, topics: list | str | None = None) -> dict[str, Any]:
    """Subscribe this connection to topics ("*" for all); returns the subscription id."""
    if topics is None:
        topics = ["*"]
    if isinstance(topics, str):
        topics = [topics]
    unknown = [t for t in topics if not isinstance(t, str) or (t != "*" and t not in KNOWN_TOPICS)]
    if unknown:
        raise InvalidParams(f"unknown topic(s): {unknown}; known: {', '.join(KNOWN_TOPICS)} or *", param="topics")
    sub_id = ctx.services.bus.subscribe(ctx.connection, topics)
    return {"subscription": sub_id, "topics": sorted(set(topics))}


@rpc("events.unsubscribe")
async def unsubscribe(ctx: CallContext, subscription: str) -> dict[str, Any]:
    """End a subscription of this connection."""
    return {"unsubscribed": ctx.services.bus.unsubscribe(subscription, ctx.connection)}


@rpc("events.topics")
async def topics(ctx: CallContext) -> dict[str, Any]:
    """The topics one can subscribe to, with counts of events published so far."""
    published = ctx.services.bus.published
    return {"topics": [{"topic": t, "published": published.get(t, 0)} for t in KNOWN_TOPICS]}
