"""front.*: the `swamp` front end's accelerated commands."""

from __future__ import annotations

import base64
from typing import Any

import anyio

from swampd.api._context import CallContext
from swampd.api._registry import rpc
from swampd.errors import InvalidParams, SwampdError
from swampd.fanout import while_peer_lives

OUTPUT_NOTIFICATION = "front.output"


def _check(argv: list[Any], env: dict[str, Any]) -> None:
    if not argv or not all(isinstance(a, str) for a in argv):
        raise InvalidParams("argv must be a non-empty list of strings", param="argv")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise InvalidParams("env must map strings to strings", param="env")


@rpc("front.answer")
async def answer(ctx: CallContext, argv: list[Any], cwd: str, env: dict[str, Any],
                 ttys: list[Any] | None = None) -> dict[str, Any]:
    """swamp's exact stdout/stderr/exit for a swamp command line, or {pass: reason} for the real swamp."""
    _check(argv, env)
    flags = [bool(t) for t in (ttys or [False, False, False])][:3]
    return await ctx.services.front.answer(argv, cwd, env, flags)


@rpc("front.run", mutating=True)
async def run(ctx: CallContext, argv: list[Any], cwd: str, env: dict[str, Any],
              ttys: list[Any] | None = None) -> dict[str, Any]:
    """`swamp model method run ...` coalesced: front.output notifications {fd, data (base64)} stream the
    one execution's stdout/stderr live; the reply is {exit}; or {pass: reason} for the real swamp."""
    _check(argv, env)
    services = ctx.services
    planned = services.front.plan_run(argv, cwd, env, [bool(t) for t in (ttys or [])][:3],
                                      services.config.paths.config_file)
    if "pass" in planned:
        return planned
    jobs = services.jobs
    job_ids: list[str] = []
    known = anyio.Event()
    sent = 0

    def on_job(job_id: str) -> None:
        job_ids.append(job_id)
        known.set()

    async def stream() -> None:
        nonlocal sent
        await known.wait()
        async for fd, chunk in jobs.follow_outputs(job_ids[0]):
            if not ctx.connection.notify(OUTPUT_NOTIFICATION, {"fd": fd, "data": base64.b64encode(chunk).decode()}):
                return
            sent += len(chunk)

    async with anyio.create_task_group() as tg:
        tg.start_soon(stream)
        try:
            record = await while_peer_lives(ctx.peer, lambda: jobs.submit(
                "swamp_cli", planned["spec"], wait=True, dedupe=True, peer=ctx.peer, on_job=on_job))
        except SwampdError:
            tg.cancel_scope.cancel()
            if sent:
                raise
            return services.front.passed_back("job_failed")
    code = record.get("exit_code")
    if record.get("state") == "cancelled" or not isinstance(code, int) or code < 0:
        if not sent and record.get("state") == "failed":
            return services.front.passed_back("job_failed")  # it never ran: swamp answers
        return {"exit": 128 + 15 if not isinstance(code, int) or code >= 0 else 128 - code,
                "interrupted": (record.get("error") or {}).get("message", record.get("state"))}
    services.front.counters.answered("model method run")
    return {"exit": code, "job": record["id"]}
