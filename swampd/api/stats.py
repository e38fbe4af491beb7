"""stats.*: the daemon's recent past for charts (kept in the daemon, so consoles share it)."""

from __future__ import annotations

from typing import Any

from swampd.api._context import CallContext
from swampd.api._registry import rpc


@rpc("stats.history")
async def history(ctx: CallContext, window: int = 60, points: int = 60) -> dict[str, Any]:
    """Hit ratio and requests/s over the last `window` seconds (10..3600) in `points` buckets."""
    return ctx.services.history.window(window, points)
