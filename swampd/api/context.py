"""context.*: shared agent context, scoped JSON values with TTLs and compare-and-set."""

from __future__ import annotations

from typing import Any

from swampd.api._context import CallContext
from swampd.api._registry import NonEmptyStr, rpc
from swampd.context.service import TOPIC, check_scope


@rpc("context.put", mutating=True)
async def put(ctx: CallContext, scope: NonEmptyStr, key: NonEmptyStr, value: Any, ttl: float | None = None,
              if_version: int | None = None, persist: bool = False,
              repo: NonEmptyStr | None = None) -> dict[str, Any]:
    """Set scope/key to a JSON value for ttl seconds; if_version makes it compare-and-set (0: create only)."""
    return await ctx.services.context.put(scope, key, value, ttl=ttl, if_version=if_version, persist=persist,
                                          repo=repo, pid=ctx.peer.pid)


@rpc("context.get")
async def get(ctx: CallContext, scope: NonEmptyStr, key: NonEmptyStr) -> dict[str, Any]:
    """One key's value with its version, size and ttl left (not_found once dropped or expired)."""
    return await ctx.services.context.get(scope, key)


@rpc("context.list")
async def list_(ctx: CallContext, scope: NonEmptyStr | None = None) -> dict[str, Any]:
    """A scope's keys (version, size, ttl left), or without scope every scope with its keys and bytes."""
    return await ctx.services.context.list(scope)


@rpc("context.drop", mutating=True)
async def drop(ctx: CallContext, scope: NonEmptyStr, key: NonEmptyStr | None = None) -> dict[str, Any]:
    """Remove one key, or without key the whole scope."""
    return await ctx.services.context.drop(scope, key, pid=ctx.peer.pid)


@rpc("context.watch")
async def watch(ctx: CallContext, scope: NonEmptyStr, values: bool = True) -> dict[str, Any]:
    """Follow a scope's changes as events.event notifications on topic context (with the new values)."""
    check_scope(scope)
    await ctx.services.context.start()  # expiry events need the sweeper running
    sub_id, _, _ = ctx.services.bus.subscribe(ctx.connection, [TOPIC], where={"scope": scope}, detail=values)
    return {"subscription": sub_id, "scope": scope, "topic": TOPIC}
