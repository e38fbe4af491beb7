"""cache.*: inspect and control the hot tier."""

from __future__ import annotations

from functools import partial
from typing import Any

from anyio.to_thread import run_sync

from swampd.api import CallContext, rpc
from swampd.api.data import opt_str
from swampd.errors import InvalidParams


@rpc("cache.stats")
async def stats(ctx: CallContext) -> dict[str, Any]:
    """Hit/miss counters, bytes, items, evictions and backend latency, overall and per backend."""
    return await run_sync(ctx.services.cache.stats)  # diskcache counts are SQLite queries


@rpc("cache.keys")
async def keys(ctx: CallContext, repo: str | None = None, filter: str | None = None, offset: int = 0,
               limit: int = 100) -> dict[str, Any]:
    """List cached keys (filter by substring, paged) with size, age, backend and stale flag."""
    return await run_sync(ctx.services.cache.keys, opt_str("repo", repo), opt_str("filter", filter), offset, limit)


@rpc("cache.evict", mutating=True)
async def evict(ctx: CallContext, repo: str | None = None, key: str | None = None, prefix: str | None = None,
                type: str | None = None, model: str | None = None, all: bool = False) -> dict[str, Any]:
    """Evict a key, a prefix, a model, or everything (of one repo, or of the whole cache)."""
    if not isinstance(all, bool):
        raise InvalidParams("all must be a boolean")
    return await run_sync(partial(
        ctx.services.cache.evict, opt_str("repo", repo), key=opt_str("key", key), prefix=opt_str("prefix", prefix),
        model_type=opt_str("type", type), model=opt_str("model", model), everything=all))


@rpc("cache.prefetch", mutating=True)
async def prefetch(ctx: CallContext, repo: str, type: str | None = None, model: str | None = None,
                   prefix: str | None = None, keys: list[str] | None = None) -> dict[str, Any]:
    """Warm the hot tier with a model, a prefix or a key list in the background (progress on topic `cache`)."""
    return await run_sync(ctx.services.cache.prefetch, str(repo), opt_str("type", type), opt_str("model", model),
                          opt_str("prefix", prefix), keys)
