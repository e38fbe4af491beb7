"""extensions.*: the host-level extension store shared by every swamp project on the host."""

from __future__ import annotations

import os
from typing import Any

from swampd.api._context import CallContext
from swampd.api._registry import rpc
from swampd.errors import InvalidParams


def _abs_path(value: Any, param: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidParams(f"{param} must be a path string")
    if not os.path.isabs(value):
        raise InvalidParams(f"{param} must be an absolute path (the client resolves relative paths)")
    return value


def _opt_str(value: Any, param: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise InvalidParams(f"{param} must be a non-empty string")
    return value


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidParams("name must be an extension name like @collective/name")
    return value


def _bool(value: Any, param: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidParams(f"{param} must be true or false")
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
async def install(ctx: CallContext, source: str, force: bool = False) -> dict[str, Any]:
    """Install an extension from a directory or an extension.tar.gz into the host store."""
    return await ctx.services.extensions.install(_abs_path(source, "source"), force=_bool(force, "force"))


@rpc("extensions.list")
async def list_(ctx: CallContext) -> dict[str, Any]:
    """Installed extensions: name, version, kinds, types, size, checksum, linked projects."""
    return {"extensions": await ctx.services.extensions.list()}


@rpc("extensions.remove", mutating=True)
async def remove(ctx: CallContext, name: str, version: str | None = None, force: bool = False) -> dict[str, Any]:
    """Remove an extension (refused while a project links it, unless force)."""
    return await ctx.services.extensions.remove(
        _name(name), _opt_str(version, "version"), force=_bool(force, "force")
    )


@rpc("extensions.verify")
async def verify(ctx: CallContext, name: str | None = None, version: str | None = None) -> dict[str, Any]:
    """Re-hash installed extensions and report changed, missing and added files."""
    return await ctx.services.extensions.verify(_opt_str(name, "name"), _opt_str(version, "version"))


@rpc("extensions.resolve")
async def resolve(ctx: CallContext, project: str, type: str) -> dict[str, Any]:
    """Where a type comes from for a project (local > host store/sources > pulled), and why."""
    if not isinstance(type, str) or not type:
        raise InvalidParams("type must be a string like @collective/name")
    return await ctx.services.extensions.resolve(_abs_path(project, "project"), type)


@rpc("extensions.link", mutating=True)
async def link(ctx: CallContext, project: str, extensions: list[str] | None = None) -> dict[str, Any]:
    """Add host store entries (default: newest of each) to a project's .swamp-sources.yaml."""
    return await ctx.services.extensions.link(_abs_path(project, "project"), _specs(extensions, "extensions"))


@rpc("extensions.unlink", mutating=True)
async def unlink(ctx: CallContext, project: str, extensions: list[str] | None = None) -> dict[str, Any]:
    """Remove host store entries from a project's .swamp-sources.yaml, restoring it."""
    return await ctx.services.extensions.unlink(_abs_path(project, "project"), _specs(extensions, "extensions"))
