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
    labels: list[Any] | str | None = None,
    command: NonEmptyStr | None = None,
    ssh_options: list[Any] | None = None,
    token_secret: NonEmptyStr | None = None,
    token_repo: NonEmptyStr | None = None,
    token_file: NonEmptyStr | None = None,
    connect_timeout: float | None = None,
    replace: bool = False,
) -> dict[str, Any]:
    """Add a host (ssh destination running swampd) or a swamp serve endpoint (url) to the host config."""
    return await ctx.services.fleet.add(
        name, destination=destination, url=url, labels=_strings(labels, "labels"), command=command,
        ssh_options=_strings(ssh_options, "ssh_options"), token_secret=token_secret, token_repo=token_repo,
        token_file=token_file, connect_timeout=connect_timeout, replace=replace,
    )


@rpc("fleet.remove", mutating=True)
async def remove(ctx: CallContext, name: NonEmptyStr) -> dict[str, Any]:
    """Remove a host or serve endpoint from the host config (its session is closed)."""
    return await ctx.services.fleet.remove(name)


@rpc("fleet.ping")
async def ping(ctx: CallContext, names: list[Any] | str | None = None) -> dict[str, Any]:
    """Contact hosts (default: all) concurrently, each within the connect timeout; their fresh state."""
    return {"hosts": await ctx.services.fleet.ping(_strings(names, "names"))}


@rpc("fleet.call", mutating=True)
async def call(ctx: CallContext, host: NonEmptyStr, method: NonEmptyStr,
               params: dict[str, Any] | list[Any] | None = None, timeout: float | None = None) -> Any:
    """Call an RPC method on a host's daemon over the shared ssh session; its result or error."""
    if timeout is not None and timeout <= 0:
        raise InvalidParams("timeout must be a positive number of seconds", param="timeout")
    return await ctx.services.fleet.call(host, method, params, timeout=True if timeout is None else timeout)


PROGRESS_NOTIFICATION = "fleet.push.progress"


@rpc("fleet.push", mutating=True)
async def push(
    ctx: CallContext,
    host: NonEmptyStr,
    extension: NonEmptyStr | None = None,
    secret: NonEmptyStr | None = None,
    repo: NonEmptyStr | None = None,
    to_vault: NonEmptyStr | None = None,
    to_repo: NonEmptyStr | None = None,
    overwrite: bool = False,
    force: bool = False,
) -> dict[str, Any]:
    """Copy an installed extension (checksum-verified) or a VAULT/KEY secret (audited) to a host's daemon."""
    if (extension is None) == (secret is None):
        raise InvalidParams("give extension (@collective/name[@version]) or secret (VAULT/KEY)", param="extension")

    def progress(data: dict[str, Any]) -> None:
        ctx.connection.notify(PROGRESS_NOTIFICATION, data)

    pusher = ctx.services.fleet.pusher
    if extension is not None:
        if repo or to_vault or to_repo or overwrite:
            raise InvalidParams("repo, to_vault, to_repo and overwrite belong to secret pushes", param="repo")
        return await pusher.push_extension(host, extension, force=force, progress=progress)
    if force:
        raise InvalidParams("force belongs to extension pushes; a secret takes overwrite", param="force")
    assert secret is not None
    return await pusher.push_secret(host, secret, repo=repo, to_vault=to_vault, to_repo=to_repo,
                                    overwrite=overwrite, pid=ctx.peer.pid, progress=progress)


# -- the receiving side of a push (called by another host's daemon over ssh) --------------------


@rpc("fleet.upload.begin", mutating=True)
async def upload_begin(ctx: CallContext, name: NonEmptyStr, version: NonEmptyStr, checksum: NonEmptyStr,
                       size: int, sha256: NonEmptyStr, force: bool = False, origin: str = "") -> dict[str, Any]:
    """Open an extension upload (or answer unchanged when the same checksum is installed and intact)."""
    inbox = ctx.services.fleet.inbox
    result, upload = await inbox.begin(name=name, version=version, checksum=checksum, size=size, sha256=sha256,
                                       force=force, origin=origin)
    if upload is not None:
        ctx.connection.on_close(inbox.abort_soon(upload))  # the sender left: drop what it sent
    return result


@rpc("fleet.upload.chunk", mutating=True)
async def upload_chunk(ctx: CallContext, upload: NonEmptyStr, offset: int, data: str) -> dict[str, Any]:
    """Append one base64 chunk at `offset` (chunks arrive in order)."""
    if offset < 0:
        raise InvalidParams("offset must be >= 0", param="offset")
    return await ctx.services.fleet.inbox.chunk(upload, offset, data)


@rpc("fleet.upload.commit", mutating=True)
async def upload_commit(ctx: CallContext, upload: NonEmptyStr) -> dict[str, Any]:
    """Check size and sha256, install into the host store, and verify the checksum the sender declared."""
    return await ctx.services.fleet.inbox.commit(upload)


@rpc("fleet.upload.abort", mutating=True)
async def upload_abort(ctx: CallContext, upload: NonEmptyStr) -> dict[str, Any]:
    """Drop an upload in progress."""
    return await ctx.services.fleet.inbox.abort(upload)


@rpc("fleet.secret.store", mutating=True)
async def secret_store(ctx: CallContext, vault: NonEmptyStr, key: NonEmptyStr, value: str,
                       repo: NonEmptyStr | None = None, overwrite: bool = False, origin: str = "") -> dict[str, Any]:
    """Store a secret pushed from another host (audited with where it came from); never echoes the value."""
    return await ctx.services.fleet.inbox.store_secret(vault=vault, key=key, value=value, repo=repo,
                                                       overwrite=overwrite, origin=origin, pid=ctx.peer.pid)
