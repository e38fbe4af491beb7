"""datastore.*: the state of the datastores behind the registered repos."""

from __future__ import annotations

from typing import Any

from swampd.api import CallContext, rpc


@rpc("datastore.health")
async def health(ctx: CallContext) -> dict[str, Any]:
    """Ping every datastore of the registered repos: state and latency."""
    return await ctx.services.cache.health()
