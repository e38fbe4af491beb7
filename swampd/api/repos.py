"""repos.*: the repos this daemon serves (persisted under the data dir)."""

from __future__ import annotations

from typing import Any

from swampd.api import CallContext, NonEmptyStr, rpc
from swampd.workers import run_sync


@rpc("repos.register", mutating=True)
async def register(ctx: CallContext, path: NonEmptyStr, name: NonEmptyStr | None = None,
                   swamp_datastore: NonEmptyStr | None = None) -> dict[str, Any]:
    """Register a repo by absolute path; its datastore is resolved as swamp does (pass SWAMP_DATASTORE)."""
    # Registering opens the datastore (a boto3 client, a PostgreSQL pool): never on the event loop.
    handle = await run_sync(ctx.services.repos.register, path, name, swamp_datastore)
    return handle.describe()


@rpc("repos.list")
async def list_(ctx: CallContext) -> list[dict[str, Any]]:
    """List registered repos with their datastores."""
    return await run_sync(ctx.services.repos.list)


@rpc("repos.forget", mutating=True)
async def forget(ctx: CallContext, name: NonEmptyStr) -> dict[str, Any]:
    """Forget a registered repo (its datastore and cached data are left alone)."""
    return {"forgotten": await run_sync(ctx.services.repos.forget, name)}
