"""data.*: swamp's versioned model data through the hot tier."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from swampd.api import CallContext, rpc
from swampd.errors import InvalidParams


def need_str(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidParams(f"{name} must be a non-empty string")
    return value


def opt_str(name: str, value: Any) -> str | None:
    return None if value is None else need_str(name, value)


@rpc("data.get")
async def get(ctx: CallContext, repo: str, type: str, model: str, name: str, version: int | None = None,
              as_path: bool = False) -> dict[str, Any]:
    """Read one data version (default latest): text as text, binary as base64, or a cached file path."""
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        raise InvalidParams("version must be an integer")
    if not isinstance(as_path, bool):
        raise InvalidParams("as_path must be a boolean")
    return await ctx.services.data.get(need_str("repo", repo), need_str("type", type), need_str("model", model),
                                       need_str("name", name), version, as_path=as_path)


@rpc("data.put", mutating=True)
async def put(ctx: CallContext, repo: str, type: str, model: str, name: str, content: str | None = None,
              content_base64: str | None = None, content_type: str | None = None,
              tags: dict[str, str] | None = None, owner: dict[str, str] | None = None,
              lifetime: str = "infinite", garbage_collection: int | str = 10) -> dict[str, Any]:
    """Write a new version in swamp's order; acknowledged once the datastore has it."""
    if (content is None) == (content_base64 is None):
        raise InvalidParams("give exactly one of content (text) or content_base64")
    if content is not None:
        if not isinstance(content, str):
            raise InvalidParams("content must be a string (use content_base64 for bytes)")
        data = content.encode("utf-8")
        content_type = content_type or "text/plain"
    else:
        try:
            data = base64.b64decode(need_str("content_base64", content_base64) if content_base64 else "",
                                    validate=True)
        except (binascii.Error, ValueError):
            raise InvalidParams("content_base64 is not valid base64") from None
        content_type = content_type or "application/octet-stream"
    if tags is not None and not isinstance(tags, dict):
        raise InvalidParams("tags must be an object of strings")
    if owner is not None and not isinstance(owner, dict):
        raise InvalidParams("owner must be an object with ownerType and ownerRef")
    if not isinstance(garbage_collection, (int, str)) or isinstance(garbage_collection, bool):
        raise InvalidParams("garbage_collection must be a count or a duration")
    return await ctx.services.data.put(
        need_str("repo", repo), need_str("type", type), need_str("model", model), need_str("name", name), data,
        content_type=need_str("content_type", content_type), tags=tags, owner=owner,
        lifetime=need_str("lifetime", lifetime), garbage_collection=garbage_collection)


@rpc("data.list")
async def list_(ctx: CallContext, repo: str, type: str, model: str | None = None) -> dict[str, Any]:
    """List a model's data names with their latest versions (or, without model, the type's model ids)."""
    return await ctx.services.data.list(need_str("repo", repo), need_str("type", type), opt_str("model", model))


@rpc("data.versions")
async def versions(ctx: CallContext, repo: str, type: str, model: str, name: str) -> dict[str, Any]:
    """List the complete versions of one data name, ascending."""
    return await ctx.services.data.versions(need_str("repo", repo), need_str("type", type),
                                            need_str("model", model), need_str("name", name))
