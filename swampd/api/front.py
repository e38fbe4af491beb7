"""front.*: the `swamp` front end's accelerated commands."""

from __future__ import annotations

from typing import Any

from swampd.api._context import CallContext
from swampd.api._registry import rpc
from swampd.errors import InvalidParams


@rpc("front.answer")
async def answer(ctx: CallContext, argv: list, cwd: str, env: dict, ttys: list | None = None) -> dict[str, Any]:
    """swamp's exact stdout/stderr/exit for a swamp command line, or {pass: reason} for the real swamp."""
    if not all(isinstance(a, str) for a in argv):
        raise InvalidParams("argv must be a list of strings", param="argv")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise InvalidParams("env must map strings to strings", param="env")
    flags = [bool(t) for t in (ttys or [False, False, False])][:3]
    return await ctx.services.front.answer(argv, cwd, env, flags)
