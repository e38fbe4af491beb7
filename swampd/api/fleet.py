"""fleet.*: other hosts' daemons over ssh and swamp serve endpoints; push, and the receiving side of a push."""

from __future__ import annotations

from typing import Any

from swampd.api._context import CallContext
from swampd.api._registry import NonEmptyStr, rpc
from swampd.errors import InvalidParams


def _strings(value: Any, param: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InvalidParams(f"{param} must be a list of non-empty strings", param=param)
    return value


@rpc("fleet.list")
async def list_(ctx: CallContext) -> dict[str, Any]:
    """Hosts and serve endpoints with their state: reachable, version, protocol, round trip, last seen."""
    return {"hosts": await ctx.services.fleet.list()}


@rpc("fleet.add", mutating=True)
async def add(
    ctx: CallContext,
    name: NonEmptyStr,
    destination: NonEmptyStr | None = None,
    url: NonEmptyStr | None = None,
    labels: list | str | None = None,
    command: NonEmptyStr | None = None,
    ssh_options: list | None = None,
    token_secret: NonEmptyStr | None = None,
    token_repo: NonEmptyStr | None = None,
    token_file: NonEmptyStr | None = None,
    replace: bool = False,
) -> dict[str, Any]:
    """Add a host (ssh destination running swampd) or a swamp serve endpoint (url) to the host config."""
    return await ctx.services.fleet.add(
        name, destination=destination, url=url, labels=_strings(labels, "labels"), command=command,
        ssh_options=_strings(ssh_options, "ssh_options"), token_secret=token_secret, token_repo=token_repo,
        token_file=token_file, replace=replace,
    )


@rpc("fleet.remove", mutating=True)
async def remove(ctx: CallContext, name: NonEmptyStr) -> dict[str, Any]:
    """Remove a host or serve endpoint from the host config (its session is closed)."""
    return await ctx.services.fleet.remove(name)


@rpc("fleet.ping")
async def ping(ctx: CallContext, names: list | str | None = None) -> dict[str, Any]:
    """Contact hosts (default: all) concurrently, each within the connect timeout; their fresh state."""
    return {"hosts": await ctx.services.fleet.ping(_strings(names, "names"))}


@rpc("fleet.call", mutating=True)
async def call(ctx: CallContext, host: NonEmptyStr, method: NonEmptyStr, params: dict | list | None = None,
               timeout: float | None = None) -> Any:
    """Call an RPC method on a host's daemon over the shared ssh session; its result or error."""
    if timeout is not None and timeout <= 0:
        raise InvalidParams("timeout must be a positive number of seconds", param="timeout")
    return await ctx.services.fleet.call(host, method, params, timeout=True if timeout is None else timeout)
