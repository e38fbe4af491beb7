"""extensions.*: the host-level extension store shared by every swamp project on the host."""

from __future__ import annotations

import os
from typing import Any

from swampd.api._context import CallContext
from swampd.api._registry import NonEmptyStr, rpc
from swampd.errors import InvalidParams


def _abs_path(value: str, param: str) -> str:
    if not os.path.isabs(value):
        raise InvalidParams(f"{param} must be an absolute path (the client resolves relative paths)")
    return value


def _specs(value: Any, param: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise InvalidParams(f"{param} must be a list of @collective/name[@version]")
    return value


@rpc("extensions.install", mutating=True)
async def install(ctx: CallContext, source: NonEmptyStr, force: bool = False) -> dict[str, Any]:
    """Install an extension from a directory or an extension.tar.gz into the host store."""
    return await ctx.services.extensions.install(_abs_path(source, "source"), force=force)


@rpc("extensions.list")
async def list_(ctx: CallContext) -> dict[str, Any]:
    """Installed extensions: name, version, kinds, types, size, checksum, linked projects."""
    return {"extensions": await ctx.services.extensions.list()}


@rpc("extensions.remove", mutating=True)
async def remove(ctx: CallContext, name: NonEmptyStr, version: NonEmptyStr | None = None,
                 force: bool = False) -> dict[str, Any]:
    """Remove an extension (refused while a project links it, unless force)."""
    return await ctx.services.extensions.remove(name, version, force=force)


@rpc("extensions.verify")
async def verify(ctx: CallContext, name: NonEmptyStr | None = None,
                 version: NonEmptyStr | None = None) -> dict[str, Any]:
    """Re-hash installed extensions and report changed, missing and added files."""
    return await ctx.services.extensions.verify(name, version)


@rpc("extensions.resolve")
async def resolve(ctx: CallContext, project: NonEmptyStr, type: NonEmptyStr) -> dict[str, Any]:
    """Where a type comes from for a project (local > host store/sources > pulled), and why."""
    return await ctx.services.extensions.resolve(_abs_path(project, "project"), type)


@rpc("extensions.link", mutating=True)
async def link(ctx: CallContext, project: NonEmptyStr, extensions: str | list[str] | None = None) -> dict[str, Any]:
    """Add host store entries (default: newest of each) to a project's .swamp-sources.yaml."""
    return await ctx.services.extensions.link(_abs_path(project, "project"), _specs(extensions, "extensions"))


@rpc("extensions.unlink", mutating=True)
async def unlink(ctx: CallContext, project: NonEmptyStr,
                 extensions: str | list[str] | None = None) -> dict[str, Any]:
    """Remove host store entries from a project's .swamp-sources.yaml, restoring it."""
    return await ctx.services.extensions.unlink(_abs_path(project, "project"), _specs(extensions, "extensions"))
