"""context.*: a scratch space a parent agent and its subagents share, kept until its TTL.

A scope is a name an agent chooses (its run id); each key in it holds one JSON value with a
TTL (default and maximum from `[context]`). Writes may be compare-and-set (`if_version`:
0 = create only), so subagents updating one key never lose a write. Values live in the
context store under the cache dir (diskcache: they survive a daemon restart until their
TTL) and are written to a datastore only on request (`persist`), as swamp data whose
duration `lifetime` lets swamp's own GC remove it.

Changes are published on the `context` topic with metadata only; a `context.watch`
subscription also receives the new value (the bus's per-subscription detail).
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import orjson

from swampd.context.settings import ContextSettings
from swampd.context.store import ContextStore, Item, store_key
from swampd.errors import Conflict, InvalidParams, NotFound, TooLarge, Unsupported
from swampd.storage.layout import check_data_name
from swampd.workers import run_sync

log = logging.getLogger(__name__)

TOPIC = "context"
PERSIST_TYPE = "swampd/context"
"""The swamp model type persisted context is written under: data/swampd/context/{uuid5(scope)}/{key}."""
_PERSIST_NAMESPACE = uuid.UUID("5b0c6a5e-2f0b-4c55-9a55-7a3d0c0f6e11")

SCOPE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@+=-]{0,127}$")
MAX_KEY_CHARS = 256
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

Publish = Callable[..., None]
PersistWriter = Callable[..., Awaitable[dict[str, Any]]]
"""`DataService.put`'s shape: (repo, type, model, name, content, *, content_type, tags, lifetime)."""


def check_scope(scope: Any) -> str:
    if not isinstance(scope, str) or not SCOPE_RE.match(scope):
        raise InvalidParams(
            f"scope {scope!r} is not valid: 1-128 characters, letters, digits and . _ : @ + = -, "
            "starting with a letter or a digit (e.g. a run id)", param="scope")
    return scope


def check_key(key: Any) -> str:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_CHARS or _CONTROL.search(key):
        raise InvalidParams(f"key must be 1-{MAX_KEY_CHARS} characters without control characters", param="key")
    return key


def persist_model_id(scope: str) -> str:
    """The swamp model id persisted values of `scope` are written under (stable across hosts)."""
    return str(uuid.uuid5(_PERSIST_NAMESPACE, scope))


def swamp_lifetime(ttl: float) -> str:
    """A ttl as swamp's duration lifetime: whole minutes (swamp's smallest unit), rounded up."""
    return f"{max(1, math.ceil(ttl / 60))}m"


class ContextService:
    def __init__(self, settings: ContextSettings, directory: str, publish: Publish | None = None, *,
                 persist: PersistWriter | None = None) -> None:
        self.settings = settings
        self.store = ContextStore(directory, max_store_bytes=settings.max_store_bytes)
        self._publish = publish or (lambda topic, data, detail=None: None)
        self._persist = persist
        self._deadlines: list[tuple[float, str, int]] = []  # (expires_at, store key, version), a heap
        self._wake: anyio.Event | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._start_lock = anyio.Lock()
        self.expired_total = 0

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Remove what expired while no daemon ran, then sweep at each deadline (once; every call starts it)."""
        if self._sweeper is not None:
            return
        async with self._start_lock:
            if self._sweeper is not None:
                return
            now = time.time()
            await anyio.to_thread.run_sync(self.store.expire_all, now)
            items = await anyio.to_thread.run_sync(self.store.items, None)
            self._deadlines = [(i.expires_at, store_key(i.scope, i.key), i.version) for i in items]
            heapq.heapify(self._deadlines)
            self._wake = anyio.Event()
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep(), name="swampd context expiry")

    async def aclose(self) -> None:
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.cancel()
            with anyio.CancelScope(shield=True):
                try:
                    await sweeper
                except asyncio.CancelledError:
                    pass
        await anyio.to_thread.run_sync(self.store.close)

    async def _sweep(self) -> None:
        while True:
            wake = self._wake = anyio.Event()
            delay = self._deadlines[0][0] - time.time() if self._deadlines else math.inf
            if delay > 0:
                with anyio.move_on_after(delay):
                    await wake.wait()
                continue
            now = time.time()
            due = []
            while self._deadlines and self._deadlines[0][0] <= now:
                _, skey, version = heapq.heappop(self._deadlines)
                due.append((skey, version))
            try:
                expired = await anyio.to_thread.run_sync(self.store.expire_due, due, now)
            except Exception:
                log.warning("context: removing expired keys failed; retrying", exc_info=True)
                for skey, version in due:
                    heapq.heappush(self._deadlines, (now + 1.0, skey, version))
                continue
            self.expired_total += len(expired)
            for item in expired:
                self._emit("context.expired", item)

    def _schedule(self, item: Item) -> None:
        heapq.heappush(self._deadlines, (item.expires_at, store_key(item.scope, item.key), item.version))
        if self._wake is not None and self._deadlines[0][2] == item.version:
            self._wake.set()  # the new deadline comes first: sleep less

    # -- the calls -------------------------------------------------------------------------------

    def _ttl(self, ttl: float | None) -> float:
        if ttl is None:
            return self.settings.default_ttl
        if not math.isfinite(ttl) or ttl <= 0 or ttl > self.settings.max_ttl:
            raise InvalidParams(f"ttl must be > 0 and at most {self.settings.max_ttl:g} seconds ([context] max_ttl)",
                                param="ttl", max_ttl=self.settings.max_ttl)
        return float(ttl)

    def _encode(self, value: Any) -> bytes:
        try:
            blob = orjson.dumps(value)
        except TypeError:
            raise InvalidParams("value must be JSON (integers within 64 bits)", param="value") from None
        if len(blob) > self.settings.max_value_bytes:
            raise TooLarge(f"value is {len(blob)} bytes of JSON; the limit is {self.settings.max_value_bytes} "
                           "([context] max_value_bytes)", limit=self.settings.max_value_bytes, size=len(blob))
        return blob

    async def put(self, scope: str, key: str, value: Any, *, ttl: float | None = None,
                  if_version: int | None = None, persist: bool = False, repo: str | None = None,
                  pid: int | None = None) -> dict[str, Any]:
        check_scope(scope)
        check_key(key)
        seconds = self._ttl(ttl)
        if if_version is not None and if_version < 0:
            raise InvalidParams("if_version must be >= 0 (0: only if the key does not exist)", param="if_version")
        if persist and not repo:
            raise InvalidParams("persist needs a repo (a registered repo name or path)", param="repo")
        if repo and not persist:
            raise InvalidParams("repo is only used with persist", param="repo")
        if persist:
            try:
                check_data_name(key)
            except InvalidParams:
                raise InvalidParams(f"with persist the key is a swamp data name, and {key!r} is not one "
                                    "(no /, \\ or .., not 'latest')", param="key") from None
        blob = self._encode(value)
        await self.start()
        persisted = None
        if persist:
            assert repo is not None
            if if_version is not None:  # a stale version must change nothing, not even the datastore
                await self._check_version(scope, key, if_version)
            persisted = await self._write_persisted(repo, scope, key, blob, seconds)
        item, _ = await self._put(scope, key, blob, seconds, if_version)
        self._schedule(item)
        self._emit("context.put", item, pid=pid, detail={"value": value})
        result = item.describe(item.updated_at)
        if persisted is not None:
            result["persisted"] = persisted
        return result

    async def _put(self, scope: str, key: str, blob: bytes, ttl: float,
                   if_version: int | None) -> tuple[Item, Item | None]:
        try:
            return await run_sync(self._put_now, scope, key, blob, ttl, if_version)
        except TooLarge as exc:
            if exc.data.get("reason") != "store_full":
                raise
        await self._expire_everything()  # full of expired entries the sweeper does not know: clear and retry
        return await run_sync(self._put_now, scope, key, blob, ttl, if_version)

    def _put_now(self, scope: str, key: str, blob: bytes, ttl: float,
                 if_version: int | None) -> tuple[Item, Item | None]:
        return self.store.put(scope, key, blob, ttl=ttl, if_version=if_version, now=time.time())

    async def _check_version(self, scope: str, key: str, if_version: int) -> None:
        found = self.store.get(scope, key, time.time())
        current = found[1].version if found is not None else 0
        if current != if_version:
            raise Conflict(f"context {scope}/{key} is at version {current}, not {if_version}; read it again and retry",
                           current_version=current, expected_version=if_version)

    async def _write_persisted(self, repo: str, scope: str, key: str, blob: bytes, ttl: float) -> dict[str, Any]:
        if self._persist is None:
            raise Unsupported("persisting context needs the data service")
        lifetime = swamp_lifetime(ttl)
        tags = {"scope": scope, "source": "swampd-context"}
        written = await self._persist(repo, PERSIST_TYPE, persist_model_id(scope), key, blob,
                                      content_type="application/json", tags=tags, lifetime=lifetime)
        return {k: written[k] for k in ("repo", "type", "model_id", "name", "version") if k in written} | {
            "lifetime": lifetime}

    async def _expire_everything(self) -> None:
        expired = await run_sync(self.store.expire_all, time.time())
        self.expired_total += len(expired)
        for item in expired:
            self._emit("context.expired", item)

    async def get(self, scope: str, key: str) -> dict[str, Any]:
        check_scope(scope)
        check_key(key)
        await self.start()
        now = time.time()
        found = self.store.get(scope, key, now)  # a diskcache read: microseconds, on the loop like the hot tier's
        if found is None:
            raise NotFound(f"no context key {key!r} in scope {scope!r} (never set, dropped or expired)")
        blob, item = found
        return {**item.describe(now), "value": orjson.loads(blob)}

    async def list(self, scope: str | None = None) -> dict[str, Any]:
        """With a scope: its keys. Without: every scope with its key count, bytes and nearest expiry."""
        if scope is not None:
            check_scope(scope)
        await self.start()
        now = time.time()
        items = [i for i in await run_sync(self.store.items, scope) if i.live(now)]
        if scope is not None:
            return {"scope": scope, "keys": [i.describe(now) for i in items]}
        scopes: dict[str, dict[str, Any]] = {}
        for i in items:
            entry = scopes.setdefault(i.scope, {"scope": i.scope, "keys": 0, "bytes": 0, "next_expiry": i.expires_at,
                                                "last_expiry": i.expires_at, "updated_at": i.updated_at})
            entry["keys"] += 1
            entry["bytes"] += i.size
            entry["next_expiry"] = min(entry["next_expiry"], i.expires_at)
            entry["last_expiry"] = max(entry["last_expiry"], i.expires_at)
            entry["updated_at"] = max(entry["updated_at"], i.updated_at)
        for entry in scopes.values():
            entry["ttl_left"] = round(max(0.0, entry["last_expiry"] - now), 3)
        used = await run_sync(self.store.used_bytes)
        return {"scopes": list(scopes.values()), "bytes": used, "max_bytes": self.settings.max_store_bytes}

    async def drop(self, scope: str, key: str | None = None, *, pid: int | None = None) -> dict[str, Any]:
        check_scope(scope)
        if key is not None:
            check_key(key)
        await self.start()
        removed = await run_sync(self.store.drop, scope, key, time.time())
        if key is not None:
            for item in removed:
                self._emit("context.dropped", item, pid=pid)
        elif removed:
            self._publish(TOPIC, {"type": "context.scope_dropped", "scope": scope, "keys": len(removed),
                                  "peer": {"pid": pid}})
        return {"scope": scope, "key": key, "dropped": len(removed)}

    # -- events ----------------------------------------------------------------------------------

    def _emit(self, kind: str, item: Item, *, pid: int | None = None,
              detail: dict[str, Any] | None = None) -> None:
        data: dict[str, Any] = {"type": kind, "scope": item.scope, "key": item.key, "version": item.version,
                                "size": item.size, "expires_at": item.expires_at}
        if pid is not None:
            data["peer"] = {"pid": pid}
        try:
            self._publish(TOPIC, data, detail)
        except Exception:
            log.debug("publishing %s failed", kind, exc_info=True)

    def stats(self) -> dict[str, Any]:
        return {"deadlines": len(self._deadlines), "expired_total": self.expired_total}
