"""jobs.*: submit, list, follow, wait for and cancel model method runs and commands."""

from __future__ import annotations

import math
from typing import Any

from swampd.api._context import CallContext
from swampd.api._registry import NonEmptyStr, rpc
from swampd.errors import InvalidParams
from swampd.fanout import while_peer_lives

LOG_NOTIFICATION = "jobs.log"


@rpc("jobs.submit", mutating=True)
async def submit(
    ctx: CallContext,
    kind: str = "swamp",
    model: str | None = None,
    method: str | None = None,
    inputs: dict[str, Any] | None = None,
    repo: str | None = None,
    argv: list[Any] | None = None,
    cwd: str | None = None,
    env: dict[str, Any] | None = None,
    wait: bool = True,
    dedupe: bool = True,
    workflow: str | None = None,
    target: NonEmptyStr | None = None,
) -> dict[str, Any]:
    """Run a model method (kind=swamp), a workflow (kind=workflow) or an argv (kind=command); here or on a target."""
    if kind == "swamp":
        if argv is not None or cwd is not None or workflow is not None:
            raise InvalidParams("argv, cwd and workflow do not belong to kind=swamp", param="argv")
        spec: dict[str, Any] = {"model": model, "method": method, "inputs": inputs, "repo": repo}
    elif kind == "workflow":
        if argv is not None or cwd is not None or model is not None or method is not None:
            raise InvalidParams("argv, cwd, model and method do not belong to kind=workflow", param="model")
        spec = {"workflow": workflow, "inputs": inputs, "repo": repo}
    elif kind == "command":
        if (model is not None or method is not None or inputs is not None or repo is not None
                or workflow is not None):
            raise InvalidParams("model, method, workflow, inputs and repo belong to kind=swamp or workflow",
                                param="model")
        spec = {"argv": argv, "cwd": cwd}
    else:
        raise InvalidParams("kind must be swamp, workflow or command", param="kind")
    if env is not None:
        spec["env"] = env
    jobs = ctx.services.jobs
    if not wait:
        return await jobs.submit(kind, spec, wait=False, dedupe=dedupe, peer=ctx.peer, target=target)
    return await while_peer_lives(
        ctx.peer, lambda: jobs.submit(kind, spec, wait=True, dedupe=dedupe, peer=ctx.peer, target=target)
    )


@rpc("jobs.list")
async def list_jobs(ctx: CallContext, state: str | list[Any] | None = None, limit: int = 100,
                    created_since: float | None = None) -> dict[str, Any]:
    """Jobs, newest first; `state` filters (queued, running, succeeded, failed, cancelled);
    `created_since` (a daemon time, as in `created_at`) keeps the jobs created then or later."""
    states = [state] if isinstance(state, str) else state
    if states is not None and not all(isinstance(s, str) for s in states):
        raise InvalidParams("state must be a state name or a list of them", param="state")
    if created_since is not None and (isinstance(created_since, bool) or not isinstance(created_since, int | float)
                                      or not math.isfinite(created_since)):
        raise InvalidParams("created_since must be a number (seconds since the epoch)", param="created_since")
    return {"jobs": await ctx.services.jobs.list(states, limit, created_since)}


@rpc("jobs.get")
async def get(ctx: CallContext, id: NonEmptyStr) -> dict[str, Any]:
    """One job's record: state, kind, spec, pid, pgid, exit code, timings, log path, waiters."""
    return await ctx.services.jobs.get(id)


@rpc("jobs.wait")
async def wait(ctx: CallContext, id: NonEmptyStr, timeout: float | None = None) -> dict[str, Any]:
    """Wait for a job to end (as one more waiter of its run) and return its final record."""
    if timeout is not None and timeout < 0:
        raise InvalidParams("timeout must be a non-negative number of seconds", param="timeout")
    jobs = ctx.services.jobs
    return await while_peer_lives(ctx.peer, lambda: jobs.wait(id, timeout, peer=ctx.peer))


@rpc("jobs.logs")
async def logs(
    ctx: CallContext, id: NonEmptyStr, follow: bool = False, tail: int | None = None
) -> dict[str, Any]:
    """A job's output lines; follow=true streams `jobs.log` notifications until it ends."""
    if tail is not None and tail < 0:
        raise InvalidParams("tail must be a non-negative integer", param="tail")
    manager = ctx.services.jobs
    if not follow:
        return await manager.logs(id, tail)
    sent = 0
    async for lines in manager.follow(id):
        if not ctx.connection.notify(LOG_NOTIFICATION, {"id": id, "lines": lines}):
            break  # the client is gone or not reading
        sent += len(lines)
    record = await manager.get(id)
    return {"id": id, "state": record["state"], "lines_sent": sent}


@rpc("jobs.cancel", mutating=True)
async def cancel(
    ctx: CallContext, id: str | None = None, all: bool = False,
    wait: float | None = None,
) -> dict[str, Any]:
    """Cancel one job (or all): SIGTERM to its group, SIGKILL after the grace; honest status."""
    if wait is not None and wait < 0:
        raise InvalidParams("wait must be a non-negative number of seconds", param="wait")
    manager = ctx.services.jobs
    if all:
        if id is not None:
            raise InvalidParams("give either id or all=true", param="id")
        return {"cancelled": await manager.cancel_all(wait=wait)}
    if not id:
        raise InvalidParams("id must be a job id (or all=true)", param="id")
    return await manager.cancel(id, wait=wait)
