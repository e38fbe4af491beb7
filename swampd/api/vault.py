"""vault.*: the host vault and repo local_encryption vaults; names and metadata, values only on reveal."""

from __future__ import annotations

from typing import Any

from swampd.api._context import CallContext
from swampd.api._registry import rpc
from swampd.errors import InvalidParams


def _caller(ctx: CallContext, method: str) -> str:
    """The audit trail's callerContext: the method and the calling pid (never its command line)."""
    pid = ctx.peer.pid
    return f"swampd:{method}:pid={pid}" if pid else f"swampd:{method}"


def _labels(labels: dict[str, Any] | None) -> dict[str, str] | None:
    if labels is None:
        return None
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise InvalidParams("labels must map strings to strings", param="labels")
    return labels


@rpc("vault.list")
async def list_vaults(ctx: CallContext, vault: str | None = None, repo: str | None = None) -> dict[str, Any]:
    """Vaults (host and every registered repo's) with their keys and metadata; never values."""
    return await ctx.services.vault.list(vault, repo)


@rpc("vault.get")
async def get(
    ctx: CallContext, vault: str, key: str, repo: str | None = None, reveal: bool = False
) -> dict[str, Any]:
    """A secret's metadata; its value only with reveal: true (audited)."""
    return await ctx.services.vault.get(vault, key, repo=repo, reveal=reveal, caller=_caller(ctx, "vault.get"))


@rpc("vault.put", mutating=True)
async def put(
    ctx: CallContext,
    vault: str,
    key: str,
    value: str,
    repo: str | None = None,
    overwrite: bool = False,
    labels: dict[str, Any] | None = None,
    refresh_command: str | None = None,
    refresh_ttl: float | None = None,
    allow_empty: bool = False,
) -> dict[str, Any]:
    """Store a secret; replacing one needs overwrite: true, an empty value allow_empty: true."""
    return await ctx.services.vault.put(
        vault,
        key,
        value,
        repo=repo,
        overwrite=overwrite,
        labels=_labels(labels),
        refresh_command=refresh_command,
        refresh_ttl=refresh_ttl,
        allow_empty=allow_empty,
        caller=_caller(ctx, "vault.put"),
    )


@rpc("vault.delete", mutating=True)
async def delete(ctx: CallContext, vault: str, key: str, repo: str | None = None) -> dict[str, Any]:
    """Remove a secret with its annotation and refresh hook (noOp when absent)."""
    return await ctx.services.vault.delete(vault, key, repo=repo, caller=_caller(ctx, "vault.delete"))


@rpc("vault.rotate", mutating=True)
async def rotate(
    ctx: CallContext,
    vault: str,
    key: str,
    repo: str | None = None,
    length: int | None = None,
    alphabet: str | None = None,
    command: str | None = None,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Replace a secret with a random value (length, alphabet) or a refresh command's output."""
    return await ctx.services.vault.rotate(
        vault,
        key,
        repo=repo,
        length=length,
        alphabet=alphabet,
        command=command,
        timeout=timeout,
        caller=_caller(ctx, "vault.rotate"),
    )


@rpc("vault.audit")
async def audit(
    ctx: CallContext,
    vault: str | None = None,
    key: str | None = None,
    action: str | None = None,
    since: str | float | None = "7d",
    until: str | float | None = None,
    limit: int = 100,
    repo: str | None = None,
) -> dict[str, Any]:
    """The vault audit trail (swamp's JSONL), newest `limit` entries: {entries, returnedCount, truncated}."""
    return await ctx.services.vault.audit(
        vault=vault, key=key, action=action, since=since, until=until, limit=limit, repo=repo
    )


@rpc("vault.lock", mutating=True)
async def lock(ctx: CallContext) -> dict[str, Any]:
    """Drop every warm key from memory; value operations fail with vault_locked until unlock."""
    return await ctx.services.vault.lock()


@rpc("vault.unlock", mutating=True)
async def unlock(ctx: CallContext) -> dict[str, Any]:
    """Allow value operations again."""
    return await ctx.services.vault.unlock()


@rpc("vault.status")
async def status(ctx: CallContext) -> dict[str, Any]:
    """Locked or not, warm keys, key-cache hits and derivations, host vault and keyring backend."""
    return ctx.services.vault.status()
