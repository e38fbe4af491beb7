"""rpc.*: what the daemon can do."""

from __future__ import annotations

from typing import Any

from swampd.api._context import CallContext
from swampd.api._registry import rpc


@rpc("rpc.discover")
async def discover(ctx: CallContext) -> dict[str, Any]:
    """Every method with its params and one-line doc."""
    registry = ctx.registry
    return {"methods": [spec.describe() for spec in registry.specs()]}
