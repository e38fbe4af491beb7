"""rpc.*: what the daemon can do."""

from __future__ import annotations

from typing import Any

import anyio

from swampd.api._context import CallContext
from swampd.api._registry import rpc
from swampd.errors import InvalidParams


@rpc("rpc.discover")
async def discover(ctx: CallContext) -> dict[str, Any]:
    """Every method with its params and one-line doc."""
    registry = ctx.registry
    return {"methods": [spec.describe() for spec in registry.specs()]}


@rpc("rpc.echo")
async def echo(ctx: CallContext, value: Any = None) -> Any:
    """Return `value` unchanged (a wire check for scripts and benchmarks)."""
    return value


MAX_SLEEP = 300.0


@rpc("rpc.sleep")
async def sleep(ctx: CallContext, seconds: float = 1.0) -> dict[str, Any]:
    """Wait `seconds` (at most 300) and answer: a slow call for testing cancel and drain."""
    if not 0 <= seconds <= MAX_SLEEP:
        raise InvalidParams(f"seconds must be between 0 and {MAX_SLEEP:g}", param="seconds")
    await anyio.sleep(seconds)
    return {"slept": seconds}
