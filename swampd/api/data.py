"""data.*: swamp's versioned model data through the hot tier."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from swampd.api import CallContext, NonEmptyStr, rpc
from swampd.errors import InvalidParams


def _check_path_above(path_above: int | None) -> None:
    if path_above is not None and path_above < 0:
        raise InvalidParams("path_above must be an integer >= 0")


def get_now(ctx: CallContext, repo: str, type: str, model: str, name: str, version: int | None = None,
            as_path: bool = False, path_above: int | None = None) -> dict[str, Any] | None:
    """data.get from memory: a fresh hot hit, or None."""
    _check_path_above(path_above)
    return ctx.services.data.get_now(repo, type, model, name, version, as_path=as_path, path_above=path_above)


@rpc("data.get", now=get_now)
async def get(ctx: CallContext, repo: NonEmptyStr, type: NonEmptyStr, model: NonEmptyStr, name: NonEmptyStr,
              version: int | None = None, as_path: bool = False, path_above: int | None = None) -> dict[str, Any]:
    """Read one data version (default latest): text as text, binary as base64, or a cached file path."""
    _check_path_above(path_above)
    return await ctx.services.data.get(repo, type, model, name, version, as_path=as_path, path_above=path_above)


@rpc("data.put", mutating=True)
async def put(ctx: CallContext, repo: NonEmptyStr, type: NonEmptyStr, model: NonEmptyStr, name: NonEmptyStr,
              content: str | None = None, content_base64: str | None = None,
              content_type: NonEmptyStr | None = None, tags: dict[str, str] | None = None,
              owner: dict[str, str] | None = None, lifetime: NonEmptyStr = "infinite",
              garbage_collection: int | str = 10) -> dict[str, Any]:
    """Write a new version in swamp's order; acknowledged once the datastore has it."""
    if (content is None) == (content_base64 is None):
        raise InvalidParams("give exactly one of content (text) or content_base64")
    if content is not None:
        data = content.encode("utf-8")
        content_type = content_type or "text/plain"
    else:
        try:
            data = base64.b64decode(content_base64 or "", validate=True)
        except (binascii.Error, ValueError):
            raise InvalidParams("content_base64 is not valid base64") from None
        content_type = content_type or "application/octet-stream"
    return await ctx.services.data.put(repo, type, model, name, data, content_type=content_type, tags=tags,
                                       owner=owner, lifetime=lifetime, garbage_collection=garbage_collection)


@rpc("data.list")
async def list_(ctx: CallContext, repo: NonEmptyStr, type: NonEmptyStr,
                model: NonEmptyStr | None = None) -> dict[str, Any]:
    """List a model's data names with their latest versions (or, without model, the type's model ids)."""
    return await ctx.services.data.list(repo, type, model)


@rpc("data.versions")
async def versions(ctx: CallContext, repo: NonEmptyStr, type: NonEmptyStr, model: NonEmptyStr,
                   name: NonEmptyStr) -> dict[str, Any]:
    """List the complete versions of one data name, ascending."""
    return await ctx.services.data.versions(repo, type, model, name)
