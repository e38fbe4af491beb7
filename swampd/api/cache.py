"""cache.*: inspect and control the hot tier."""

from __future__ import annotations

from functools import partial
from typing import Any

from swampd.api import CallContext, NonEmptyStr, rpc
from swampd.workers import run_sync


@rpc("cache.stats")
async def stats(ctx: CallContext) -> dict[str, Any]:
    """Hit/miss counters, bytes, items, evictions and backend latency, overall and per backend."""
    return await run_sync(ctx.services.cache.stats)  # diskcache counts are SQLite queries


@rpc("cache.keys")
async def keys(ctx: CallContext, repo: NonEmptyStr | None = None, filter: NonEmptyStr | None = None,
               offset: int = 0, limit: int = 100) -> dict[str, Any]:
    """List cached keys (filter by substring, paged) with size, age, backend and stale flag."""
    return await run_sync(ctx.services.cache.keys, repo, filter, offset, limit)


@rpc("cache.evict", mutating=True)
async def evict(ctx: CallContext, repo: NonEmptyStr | None = None, key: NonEmptyStr | None = None,
                prefix: NonEmptyStr | None = None, type: NonEmptyStr | None = None, model: NonEmptyStr | None = None,
                all: bool = False) -> dict[str, Any]:
    """Evict a key, a prefix, a model, or everything (of one repo, or of the whole cache)."""
    return await run_sync(partial(ctx.services.cache.evict, repo, key=key, prefix=prefix, model_type=type,
                                  model=model, everything=all))


@rpc("cache.prefetch", mutating=True)
async def prefetch(ctx: CallContext, repo: NonEmptyStr, type: NonEmptyStr | None = None,
                   model: NonEmptyStr | None = None, prefix: NonEmptyStr | None = None,
                   keys: list[str] | None = None) -> dict[str, Any]:
    """Warm the hot tier with a model, a prefix or a key list in the background (progress on topic `cache`)."""
    return await run_sync(ctx.services.cache.prefetch, repo, type, model, prefix, keys)
