"""calls.*: the fan-out coordinator's flights (identical in-flight calls run once)."""

from __future__ import annotations

from typing import Any

from swampd.api._context import CallContext
from swampd.api._registry import NonEmptyStr, rpc


@rpc("calls.inflight")
async def inflight(ctx: CallContext) -> dict[str, Any]:
    """Every flight in the air: key, method, model, started, age, waiters and their peers."""
    return {"calls": ctx.services.fanout.inflight()}


@rpc("calls.stats")
async def stats(ctx: CallContext) -> dict[str, Any]:
    """Flights and waiters now, coalesced calls and executions saved so far."""
    return ctx.services.fanout.stats()


@rpc("calls.cancel", mutating=True)
async def cancel(ctx: CallContext, key: NonEmptyStr) -> dict[str, Any]:
    """Cancel a flight for every waiter (they receive a `call_failed` error marked cancelled)."""
    return ctx.services.fanout.cancel(key)
