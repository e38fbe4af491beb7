"""The data service: swamp's versioned data through the hot tier.

Reads: a `latest` pointer (mutable, revalidated within the staleness bound or on a
backend change signal) → the version's `metadata.yaml` and `raw` (immutable, cached until
evicted). Writes: swamp's order under the per-model lock: claim the version, metadata,
raw, then `latest` last; acknowledged once the backend has all of it.
"""

from __future__ import annotations

import base64
import errno
import hashlib
import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Protocol, TypeVar

import anyio
import orjson

from swampd.errors import BackendUnavailable, Conflict, InvalidParams, NotFound, ShuttingDown, TooLarge
from swampd.storage import catalog
from swampd.storage.base import NOT_MODIFIED, Blob, ObjectStore, OutcomeUnknown, StoreDown, StoreFull
from swampd.storage.hottier import CacheSettings, Entry, HotTier
from swampd.storage.layout import (
    MAX_CLAIM_ATTEMPTS,
    DataRef,
    build_metadata,
    check_data_name,
    dump_metadata,
    format_latest,
    is_text_type,
    load_metadata,
    parse_latest,
)
from swampd.storage.locks import model_lock_held
from swampd.storage.repos import RepoHandle, RepoRegistry, known_model_id, resolve_model_id, store_id
from swampd.storage.stats import CacheStats, Publish
from swampd.workers import run_sync

T = TypeVar("T")
MAX_READ_ATTEMPTS = 3
"""Reads of a version whose `raw` and `metadata.yaml` disagree, before giving up."""
MAX_RENAME_HOPS = 5
BUILT_REPLY_BYTES = 16 * 1024 * 1024
"""Bytes of value `get_now` keeps in built replies (each at most the memory tier's item limit)."""
CHECKED_LIMIT = 200_000
log = logging.getLogger(__name__)


def _describe_os_error(exc: BaseException) -> str:
    """A short cause for the log: the errno name, or SQLite's own (never secret) text."""
    if isinstance(exc, OSError):
        return errno.errorcode.get(exc.errno or 0, type(exc).__name__)
    return f"sqlite: {exc}"


class Coalescer(Protocol):
    async def run(self, key: str, fn: Callable[[], Awaitable[T]], *, method: str,
                  model: str | None = None, peer: Any = None) -> T: ...


class KeyLocks:
    """The fallback singleflight: one lock per key; followers re-check the hot tier after the leader."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[anyio.Lock, int]] = {}

    async def run(self, key: str, fn: Callable[[], Awaitable[T]], *, method: str,
                  model: str | None = None, peer: Any = None) -> T:
        lock, users = self._locks.get(key) or (anyio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                return await fn()
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class _Flights:
    """Misses go through the daemon's fan-out coordinator when it runs, else through key locks."""

    def __init__(self, coalescer: Coalescer | None) -> None:
        self.coalescer = coalescer
        self.local = KeyLocks()

    async def run(self, key: str, fn: Callable[[], Awaitable[T]], *, method: str, model: str | None = None) -> T:
        if self.coalescer is not None:
            try:
                return await self.coalescer.run(f"hot:{key}", fn, method=method, model=model)
            except ShuttingDown:
                pass  # not started (in-process CLI) or stopping: coalesce locally
        return await self.local.run(key, fn, method=method, model=model)


class _OwnerMemo:
    """The owner of the latest version swampd wrote per name, with that `latest`'s validator (LRU)."""

    LIMIT = 10_000

    def __init__(self) -> None:
        self._items: OrderedDict[str, tuple[str, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[str, dict[str, Any]] | None:
        with self._lock:
            return self._items.get(key)

    def remember(self, key: str, etag: str, owner: dict[str, Any]) -> None:
        with self._lock:
            self._items[key] = (etag, owner)
            self._items.move_to_end(key)
            while len(self._items) > self.LIMIT:
                self._items.popitem(last=False)


def _identity(metadata: dict[str, Any]) -> tuple[Any, ...]:
    """What tells one version from another written under the same number."""
    return tuple(metadata.get(k) for k in ("id", "version", "createdAt", "size", "checksum"))


def content_matches(metadata: dict[str, Any], content: bytes) -> bool:
    """Whether `content` is what the version's `metadata.yaml` describes: its sha256 `checksum`, or its
    `size` where swamp left no checksum (a streaming append drops it)."""
    checksum = metadata.get("checksum")
    if isinstance(checksum, str) and checksum:
        return hashlib.sha256(content).hexdigest() == checksum.lower()
    size = metadata.get("size")
    return not isinstance(size, int) or size == len(content)


class _ContentMismatch(BackendUnavailable):
    """A version's `raw` disagrees with its `metadata.yaml`: rewritten between the two reads. A
    SwampdError, so the fan-out coordinator hands it to every waiter as itself (`get` reads again)."""


def _owner_ident(owner: dict[str, Any]) -> dict[str, Any]:
    return {"ownerType": owner.get("ownerType"), "ownerRef": owner.get("ownerRef")}


def _valid_data_name(name: str) -> bool:
    try:
        check_data_name(name)
    except InvalidParams:
        return False
    return True


def _versions_from_keys(keys: list[str], name_dir: str) -> list[int]:
    """Versions that have both `metadata.yaml` and `raw` (a half-written version is not listed)."""
    seen: dict[int, set[str]] = {}
    cut = len(name_dir) + 1
    for key in keys:
        rest = key[cut:].split("/")
        if len(rest) == 2 and rest[0].isdigit() and rest[1] in ("raw", "metadata.yaml"):
            seen.setdefault(int(rest[0]), set()).add(rest[1])
    return sorted(v for v, files in seen.items() if len(files) == 2 and v >= 1)


class _BuiltReply:
    """A hot reply `get_now` built, valid while the memory tier still holds the very entries it was built
    from (`latest` when no version was asked, the metadata, the value), fresh, for the same repo handle
    and model id."""

    __slots__ = ("entries", "handle", "item", "model_id", "reply", "size")

    def __init__(self, handle: RepoHandle, model_id: str, entries: tuple[tuple[str, Entry, bool], ...],
                 item: str, reply: dict[str, Any], size: int) -> None:
        self.handle, self.model_id, self.entries, self.item = handle, model_id, entries, item
        self.reply, self.size = reply, size


def _check_version(version: Any) -> None:
    if version is not None and (not isinstance(version, int) or isinstance(version, bool) or version < 1):
        raise InvalidParams("version must be an integer >= 1")


def _wants_path(metadata: dict[str, Any], as_path: bool, path_above: int | None) -> bool:
    """Whether the reply names the cached file: asked for, or the value is at least `path_above`."""
    if path_above is not None and not as_path:
        size = metadata.get("size")
        return isinstance(size, int) and size >= path_above
    return as_path


class DataService:
    def __init__(self, repos: RepoRegistry, hot: HotTier, settings: CacheSettings, publish: Publish,
                 coalescer: Coalescer | None = None) -> None:
        self.repos = repos
        self.hot = hot
        self.settings = settings
        self.publish = publish
        self.stats = CacheStats(publish, settings.events_per_second, evictions=lambda: hot.evictions)
        self.flights = _Flights(coalescer)
        self.coalescer_kind = "fanout" if coalescer is not None else "local-key-locks"
        self._checked: dict[str, float] = {}
        self._checked_prune_at = CHECKED_LIMIT
        self._built: OrderedDict[tuple[Any, ...], _BuiltReply] = OrderedDict()
        self._built_bytes = 0
        self._model_locks = KeyLocks()
        self._owners = _OwnerMemo()
        self._catalogs_to_invalidate: set[str] = set()
        self._health: dict[str, dict[str, Any]] = {}
        self.cache_write_failures = 0
        """Hot-tier writes that failed (a full cache dir): the data was served or stored regardless."""
        self.prefetches: dict[str, Any] = {}
        repos.on_store_opened.append(self._watch)
        for store in repos.stores():
            self._watch(store)

    # -- plumbing ----------------------------------------------------------------------------

    def _watch(self, store: ObjectStore) -> None:
        sid = store_id(store)
        store.set_listener(lambda path: self._invalidate(sid, path), interval=self.settings.staleness)

    def _invalidate(self, sid: str, path: str) -> None:
        """A backend change signal (any thread): the pointer and the listings above it go stale."""
        if path == "*":
            for key in [k for k in list(self._checked) if k.startswith(sid + "/")]:
                self._checked.pop(key, None)
            return
        self._checked.pop(f"{sid}/{path}", None)
        parts = path.split("/")
        for i in range(1, len(parts)):
            listing = f"{sid}/{'/'.join(parts[:i])}/"
            self._checked.pop(listing, None)
            self._checked.pop(listing + "*", None)

    @staticmethod
    def key(handle: RepoHandle, path: str) -> str:
        return f"{handle.store_id}/{path}"

    def _mark_checked(self, key: str, at: float) -> None:
        """Record a revalidation; past CHECKED_LIMIT keys, those too old to count are dropped
        (a check older than the longest staleness bound is the same as none)."""
        self._checked[key] = at
        if len(self._checked) > self._checked_prune_at:
            horizon = time.monotonic() - max(self.settings.staleness, self.settings.signal_staleness)
            self._checked = {k: t for k, t in list(self._checked.items()) if t >= horizon}
            self._checked_prune_at = max(CHECKED_LIMIT, 2 * len(self._checked))  # amortised under a burst

    def _fresh(self, key: str, store: ObjectStore) -> bool:
        checked = self._checked.get(key)
        if checked is None:
            return False
        bound = self.settings.signal_staleness if store.has_change_signal else self.settings.staleness
        return time.monotonic() - checked <= bound

    async def _backend(self, handle: RepoHandle, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking store call in a worker thread; time it; map failures to our errors."""
        started = time.perf_counter()
        try:
            result = await run_sync(partial(fn, *args))
        except StoreFull as exc:  # reachable, but no room: name the cause, do not call it unreachable
            self.stats.backend_call(handle.store.kind, time.perf_counter() - started, ok=False)
            self._set_health(handle.store, "full", str(exc))
            raise BackendUnavailable(f"{handle.store.kind} datastore of repo {handle.name} is full: {exc}",
                                     backend=handle.store.kind, repo=handle.name, cause=exc.cause) from None
        except OutcomeUnknown:
            self.stats.backend_call(handle.store.kind, time.perf_counter() - started, ok=False)
            self._set_health(handle.store, "down", "connection lost while committing a write")
            raise BackendUnavailable(f"{handle.store.kind} datastore of repo {handle.name}: the connection was lost "
                                     "while the write was committing, so it may have been written; it was not "
                                     "retried (read the data back before writing it again)",
                                     backend=handle.store.kind, repo=handle.name, outcome="unknown") from None
        except StoreDown as exc:
            self.stats.backend_call(handle.store.kind, time.perf_counter() - started, ok=False)
            self._set_health(handle.store, "down", str(exc))
            raise BackendUnavailable(f"{handle.store.kind} datastore of repo {handle.name} is unreachable",
                                     backend=handle.store.kind, repo=handle.name) from None
        except ValueError:
            raise InvalidParams("path leaves the datastore") from None
        self.stats.backend_call(handle.store.kind, time.perf_counter() - started, ok=True)
        self._set_health(handle.store, "up", None)
        return result

    async def _remember(self, entries: list[tuple[str, bytes, dict[str, Any]]]) -> None:
        """Store entries in the hot tier from a worker thread: a value of a few MiB is a file write
        plus an SQLite insert (milliseconds), too long for the event loop."""

        def store_all() -> None:
            for key, value, meta in entries:
                self.hot.set(key, value, meta)

        try:
            await run_sync(store_all)
        except (OSError, sqlite3.Error) as exc:
            # The hot tier is a copy: a full cache dir must not fail a read or a write the
            # datastore has already acknowledged (a client would retry and write it twice).
            self.cache_write_failures += 1
            log.warning("hot tier write failed (%s); serving without caching", _describe_os_error(exc))

    def _set_health(self, store: ObjectStore, state: str, message: str | None) -> None:
        sid = store_id(store)
        previous = self._health.get(sid, {}).get("state")
        self._health[sid] = {"state": state, "message": message, "at": time.time()}
        if previous is not None and previous != state:
            self.publish("datastore", {"type": "datastore.state", "store_id": sid, "backend": store.kind,
                                       "state": state})

    async def _ref(self, handle: RepoHandle, model_type: str, model: str, name: str) -> DataRef:
        """The data's path; a model name is looked up in the repo's models/ in a worker thread."""
        model_id = known_model_id(handle, model_type, model) if isinstance(model, str) else None
        if model_id is None:
            model_id = await run_sync(resolve_model_id, handle, model_type, model)
        return DataRef.of(model_type, model_id, name)

    # -- reads -------------------------------------------------------------------------------

    async def latest_version(self, handle: RepoHandle, ref: DataRef) -> tuple[int, bool]:
        """The version `latest` names, and whether it is stale (the backend could not be asked)."""
        key = self.key(handle, ref.latest)
        held = self._latest_now(handle, key)
        if held is not None:
            return held, False

        async def revalidate() -> tuple[int, bool]:
            held = self._latest_now(handle, key)
            if held is not None:
                return held, False
            entry = self.hot.get(key)
            etag = entry.meta.get("etag") if entry is not None else None
            try:
                checked_at = time.monotonic()
                version, new_etag = await self._backend(handle, self._read_latest, handle.store, ref, etag)
            except BackendUnavailable:
                if entry is not None:
                    return int(entry.value), True
                raise
            if version is NOT_MODIFIED and entry is not None:
                self._mark_checked(key, checked_at)
                return int(entry.value), False
            if not isinstance(version, int):
                raise NotFound(f"no data {ref.name} for model {ref.model_id}", repo=handle.name)
            self.hot.set(key, format_latest(version), {"backend": handle.store.kind, "etag": new_etag,
                                                        "mutable": True})
            self._mark_checked(key, checked_at)
            return version, False

        return await self.flights.run(key, revalidate, method="data.latest", model=ref.model_dir)

    def _latest_now(self, handle: RepoHandle, key: str) -> int | None:
        """The version `latest` names when the hot tier holds it fresh (else None: ask the backend)."""
        entry = self.hot.get(key)
        return int(entry.value) if entry is not None and self._fresh(key, handle.store) else None

    def _read_latest(self, store: ObjectStore, ref: DataRef, etag: str | None) -> tuple[Any, str]:
        got = store.get(ref.latest, if_none_match=etag)
        if got is NOT_MODIFIED:
            return NOT_MODIFIED, etag or ""
        if isinstance(got, Blob) and (version := parse_latest(got.data)) is not None:
            return version, got.etag
        link = getattr(store, "read_latest_link", None)
        if link is not None and (target := link(ref.latest)) is not None:
            if (version := parse_latest(target)) is not None:
                return version, f"link:{version}"
        versions = _versions_from_keys(store.list(ref.name_dir, recursive=True), ref.name_dir)
        return (versions[-1], f"scan:{versions[-1]}") if versions else (None, "")

    async def _metadata(self, handle: RepoHandle, ref: DataRef, version: int, *, with_raw: bool = False
                        ) -> tuple[dict[str, Any], bool, bool]:
        """A version's metadata: (metadata, served from the hot tier, stale). `with_raw`: on a cold
        miss read `raw` in the same backend call (the caller wants the content next).

        A version never changes while it exists, but swamp can delete it (`data delete --version`,
        `gc`, `prune`) and a deleted number can be claimed again. So a cached version is re-checked
        like `latest`: when older than the staleness bound (or on a change signal), with a
        conditional read of its `metadata.yaml` (filesystem: a stat; S3: ETag; Postgres: revision).
        Gone: it is evicted with its content; replaced: re-read.
        """
        mkey = self.key(handle, ref.metadata(version))
        held = self._metadata_now(handle, mkey)
        if held is not None:
            return held, True, False

        async def revalidate() -> tuple[dict[str, Any], bool, bool]:
            held = self._metadata_now(handle, mkey)
            if held is not None:
                return held, True, False
            entry = self.hot.get(mkey)
            etag = entry.meta.get("etag") if entry is not None else None
            checked_at = time.monotonic()
            raw: Blob | None = None
            got: Blob | object | None
            try:
                if entry is None and with_raw:
                    got, raw = await self._backend(handle, self._read_version, handle.store, ref, version)
                else:
                    got = await self._backend(handle, partial(handle.store.get, if_none_match=etag),
                                              ref.metadata(version))
            except BackendUnavailable:
                if entry is not None:
                    return orjson.loads(entry.value), True, True
                raise
            cached = orjson.loads(entry.value) if entry is not None else None
            if got is NOT_MODIFIED and cached is not None:
                self._mark_checked(mkey, checked_at)
                return cached, True, False
            metadata = load_metadata(got.data) if isinstance(got, Blob) else None
            if cached is not None and (metadata is None or _identity(metadata) != _identity(cached)):
                await run_sync(self._forget_version, handle, ref, version)
                cached = None
            if metadata is None or not isinstance(got, Blob):
                self._checked.pop(mkey, None)
                raise NotFound(f"version {version} of {ref.name} does not exist", repo=handle.name)
            kind = handle.store.kind
            entries = [(mkey, orjson.dumps(metadata), {"backend": kind, "etag": got.etag})]
            if raw is not None:
                entries.append((self.key(handle, ref.raw(version)), raw.data, {"backend": kind, "etag": raw.etag}))
            await self._remember(entries)
            self._mark_checked(mkey, checked_at)
            return metadata, cached is not None, False

        return await self.flights.run(mkey, revalidate, method="data.metadata", model=ref.model_dir)

    @staticmethod
    def _read_version(store: ObjectStore, ref: DataRef, version: int) -> tuple[Blob | None, Blob | None]:
        """`metadata.yaml` and `raw`, read again until they agree (swamp rewriting the version between
        the two reads would pair one write's metadata with another's content); `raw` is left out
        when they never do (`_content` reads it on its own and checks it again)."""
        meta: object = None
        for _ in range(MAX_READ_ATTEMPTS):
            meta = store.get(ref.metadata(version))
            if not isinstance(meta, Blob):
                return None, None
            raw = store.get(ref.raw(version))
            if not isinstance(raw, Blob):
                return meta, None
            if content_matches(load_metadata(meta.data), raw.data):
                return meta, raw
        return (meta if isinstance(meta, Blob) else None), None

    @staticmethod
    def _read_raw(store: ObjectStore, ref: DataRef, version: int, metadata: dict[str, Any]) -> Blob | None:
        blob = store.get(ref.raw(version))
        if isinstance(blob, Blob) and not content_matches(metadata, blob.data):
            raise _ContentMismatch(f"{ref.raw(version)} does not match its metadata.yaml")
        return blob if isinstance(blob, Blob) else None

    def _metadata_now(self, handle: RepoHandle, mkey: str) -> dict[str, Any] | None:
        """A version's metadata when the hot tier holds it fresh (else None: re-check it)."""
        entry = self.hot.get(mkey)
        return orjson.loads(entry.value) if entry is not None and self._fresh(mkey, handle.store) else None

    def _content_now(self, rkey: str, metadata: dict[str, Any], *,
                     want_path: bool) -> tuple[bytes | None, str | None] | None:
        """A version's `raw` from the hot tier: (content, None), or (None, cached file path) when the
        caller reads files and it is big enough to live in one; None when the hot tier lacks it."""
        size = metadata.get("size")
        if want_path and isinstance(size, int) and size >= self.settings.min_file_size:
            path = self.hot.path_of(rkey)
            return (None, path) if path else None
        raw = self.hot.get(rkey)
        return (raw.value, None) if raw is not None else None

    def _forget_version(self, handle: RepoHandle, ref: DataRef, version: int) -> None:
        for path in (ref.metadata(version), ref.raw(version)):
            self.hot.delete(self.key(handle, path))

    async def _content(self, handle: RepoHandle, ref: DataRef, version: int, metadata: dict[str, Any], *,
                       want_path: bool) -> tuple[bytes | None, str | None, bool]:
        """A version's `raw`: (content or None, cached file path or None, served from the hot tier).
        Its validity is its metadata's: `_metadata` evicts both together."""
        rkey = self.key(handle, ref.raw(version))
        found = self._content_now(rkey, metadata, want_path=want_path)
        if found is not None:
            return (*found, True)

        async def fetch() -> tuple[bytes | None, str | None, bool]:
            found = self._content_now(rkey, metadata, want_path=want_path)
            if found is not None:
                return (*found, True)
            blob = await self._backend(handle, self._read_raw, handle.store, ref, version, metadata)
            if not isinstance(blob, Blob):
                raise NotFound(f"version {version} of {ref.name} does not exist", repo=handle.name)
            await self._remember([(rkey, blob.data, {"backend": handle.store.kind, "etag": blob.etag})])
            path = self.hot.path_of(rkey) if want_path and len(blob.data) >= self.settings.min_file_size else None
            return None if path else blob.data, path, False

        return await self.flights.run(rkey, fetch, method="data.read", model=ref.model_dir)

    async def _resolve(self, handle: RepoHandle, ref: DataRef, version: int | None, *, with_raw: bool = False
                       ) -> tuple[DataRef, int, dict[str, Any], bool, bool]:
        """swamp's `findByName`: a pinned version as it is; `latest` following rename tombstones
        (`lifecycle: deleted` with `renamedTo`) up to 5 hops, beyond which the data is not found.
        Returns (ref, version, metadata, metadata cached, stale)."""
        for _ in range(MAX_RENAME_HOPS + 1):
            stale = False
            if version is None:
                resolved, stale = await self.latest_version(handle, ref)
            else:
                resolved = version
            metadata, cached, meta_stale = await self._metadata(handle, ref, resolved, with_raw=with_raw)
            renamed = metadata.get("renamedTo")
            if version is not None or metadata.get("lifecycle") != "deleted" or not isinstance(renamed, str) \
                    or not renamed:
                return ref, resolved, metadata, cached, stale or meta_stale
            ref = DataRef.of(ref.type, ref.model_id, renamed)
        raise NotFound(f"{ref.name}: rename chain longer than {MAX_RENAME_HOPS}", repo=handle.name)

    async def handle(self, repo: str) -> RepoHandle:
        """The repo's handle; opening a datastore the first time runs in a worker thread."""
        handle = self.repos.cached(repo)
        if handle is None:
            handle = await run_sync(self.repos.get, repo)
        return handle

    async def get(self, repo: str, model_type: str, model: str, name: str, version: int | None = None,
                  *, as_path: bool = False, path_above: int | None = None) -> dict[str, Any]:
        """One version's reply. `as_path`, or a size of at least `path_above` (a client that reads files
        itself): the cached file's path instead of the bytes, when the value lives in its own file."""
        handle = await self.handle(repo)
        ref = await self._ref(handle, model_type, model, name)
        _check_version(version)
        asked = ref
        for _ in range(MAX_READ_ATTEMPTS):
            ref, resolved, metadata, meta_cached, stale = await self._resolve(handle, asked, version, with_raw=True)
            want_path = _wants_path(metadata, as_path, path_above)
            try:
                content, path, raw_cached = await self._content(handle, ref, resolved, metadata, want_path=want_path)
                break
            except _ContentMismatch:  # the metadata we hold is not the version's any more: ask again
                await run_sync(self._forget_version, handle, ref, resolved)
                self._invalidate(handle.store_id, ref.metadata(resolved))
                self._invalidate(handle.store_id, ref.latest)
        else:
            raise BackendUnavailable(f"version {resolved} of {ref.name} in repo {handle.name}: its content does not "
                                     "match its metadata.yaml (checksum): it is being rewritten, or damaged",
                                     backend=handle.store.kind, repo=handle.name)
        return self._reply(handle, ref, resolved, metadata, content, path, cached=meta_cached and raw_cached,
                           stale=stale)

    def get_now(self, repo: str, model_type: str, model: str, name: str, version: int | None = None,
                *, as_path: bool = False, path_above: int | None = None) -> dict[str, Any] | None:
        """`get`'s reply when everything it needs is in memory and fresh (a hot hit), computed without
        awaiting anything; None when `get` would ask a backend, a worker thread or a flight. The same
        checks in the same order as `get`, so a bad param is refused here exactly as there."""
        handle = self.repos.cached(repo)
        if handle is None or not isinstance(model, str):
            return None
        model_id = known_model_id(handle, model_type, model)
        if model_id is None:
            return None
        asked = (repo, model_type, model, name, version, as_path, path_above)
        built = self._built.get(asked)
        if built is not None and built.handle is handle and built.model_id == model_id and self._holds(built):
            self.stats.hit(handle.store.kind, stale=False, item=built.item)
            return built.reply
        ref = DataRef.of(model_type, model_id, name)
        _check_version(version)
        lkey = self.key(handle, ref.latest)
        resolved = version if version is not None else self._latest_now(handle, lkey)
        if resolved is None:
            return None
        mkey = self.key(handle, ref.metadata(resolved))
        metadata = self._metadata_now(handle, mkey)
        if metadata is None or (version is None and metadata.get("lifecycle") == "deleted"):
            return None  # a rename tombstone is followed by `get`
        rkey = self.key(handle, ref.raw(resolved))
        found = self._content_now(rkey, metadata, want_path=_wants_path(metadata, as_path, path_above))
        if found is None or (found[0] is not None and len(found[0]) > self.settings.inline_limit):
            return None  # too large to send inline: `get` refuses it (and counts the read once)
        reply = self._reply(handle, ref, resolved, metadata, *found, cached=True, stale=False)
        if found[0] is not None:
            keys: tuple[tuple[str, bool], ...] = ((lkey, True),) if version is None else ()
            keys += ((mkey, True), (rkey, False))  # a value is as valid as its metadata
            self._keep_built(asked, handle, model_id, keys, self.key(handle, ref.version_dir(resolved)), reply,
                             len(found[0]))
        return reply

    def _holds(self, built: _BuiltReply) -> bool:
        """Whether the memory tier still holds, fresh, the entries `built` was made from (read as `get`
        reads them: each one counted and refreshed in the tier's recency)."""
        store = built.handle.store
        for key, entry, revalidated in built.entries:
            if self.hot.get(key) is not entry or (revalidated and not self._fresh(key, store)):
                return False
        return True

    def _keep_built(self, asked: tuple[Any, ...], handle: RepoHandle, model_id: str,
                    keys: tuple[tuple[str, bool], ...], item: str, reply: dict[str, Any], size: int) -> None:
        """Keep a built reply, with the entries it came from ((key, revalidated like `latest`) pairs)."""
        entries = tuple((key, self.hot.held(key), revalidated) for key, revalidated in keys)
        if any(entry is None for _, entry, _ in entries):
            return  # a value only on disk: each read makes a new entry, so there is nothing to check against
        old = self._built.pop(asked, None)
        if old is not None:
            self._built_bytes -= old.size
        self._built[asked] = _BuiltReply(handle, model_id, entries, item, reply, size)  # type: ignore[arg-type]
        self._built_bytes += size
        while self._built_bytes > BUILT_REPLY_BYTES and self._built:
            _, dropped = self._built.popitem(last=False)
            self._built_bytes -= dropped.size

    def _reply(self, handle: RepoHandle, ref: DataRef, resolved: int, metadata: dict[str, Any],
               content: bytes | None, path: str | None, *, cached: bool, stale: bool) -> dict[str, Any]:
        kind = handle.store.kind
        item = self.key(handle, ref.version_dir(resolved))
        if cached:
            self.stats.hit(kind, stale=stale, item=item)
        else:
            self.stats.miss(kind, item=item)
        reply: dict[str, Any] = {
            "repo": handle.name, "type": ref.type, "model_id": ref.model_id, "name": ref.name,
            "version": resolved, "metadata": metadata, "content_type": metadata.get("contentType"),
            "backend": kind, "cached": cached, "stale": stale,
        }
        if path is not None:
            reply.update(encoding="path", path=path, size=metadata.get("size"))
            return reply
        assert content is not None
        reply["size"] = len(content)
        if len(content) > self.settings.inline_limit:
            raise TooLarge(f"{ref.name} v{resolved} is {len(content)} bytes; ask for it with as_path",
                           size=len(content), limit=self.settings.inline_limit)
        if is_text_type(str(metadata.get("contentType") or "")):
            try:
                reply.update(encoding="text", content=content.decode("utf-8"))
                return reply
            except UnicodeDecodeError:
                pass
        reply.update(encoding="base64", content=base64.b64encode(content).decode("ascii"))
        return reply

    async def _listing(self, handle: RepoHandle, prefix: str, recursive: bool) -> tuple[list[str], bool]:
        key = self.key(handle, prefix.rstrip("/") + "/") + ("*" if recursive else "")
        entry = self.hot.get(key)
        if entry is not None and self._fresh(key, handle.store):
            return orjson.loads(entry.value), False

        async def relist() -> tuple[list[str], bool]:
            entry = self.hot.get(key)
            if entry is not None and self._fresh(key, handle.store):
                return orjson.loads(entry.value), False
            checked_at = time.monotonic()
            try:
                names = await self._backend(handle, partial(handle.store.list, recursive=recursive), prefix)
            except BackendUnavailable:
                if entry is not None:
                    return orjson.loads(entry.value), True
                raise
            self.hot.set(key, orjson.dumps(names), {"backend": handle.store.kind, "mutable": True})
            self._mark_checked(key, checked_at)
            return names, False

        return await self.flights.run(key, relist, method="data.list", model=prefix)

    async def versions(self, repo: str, model_type: str, model: str, name: str) -> dict[str, Any]:
        handle = await self.handle(repo)
        ref = await self._ref(handle, model_type, model, name)
        keys, stale = await self._listing(handle, ref.name_dir, recursive=True)
        versions = _versions_from_keys(keys, ref.name_dir)
        if not versions:
            raise NotFound(f"no data {ref.name} for model {ref.model_id}", repo=handle.name)
        return {"repo": handle.name, "type": ref.type, "model_id": ref.model_id, "name": ref.name,
                "versions": versions, "stale": stale}

    async def list(self, repo: str, model_type: str, model: str | None = None) -> dict[str, Any]:
        """Data names of a model with their latest versions (or the model ids of a type)."""
        handle = await self.handle(repo)
        if model is None:
            probe = DataRef.of(model_type, "x", "x")
            children, stale = await self._listing(handle, f"data/{probe.type}", recursive=False)
            return {"repo": handle.name, "type": probe.type, "stale": stale,
                    "models": [c.rstrip("/") for c in children if c.endswith("/")]}
        ref = await self._ref(handle, model_type, model, "x")
        children, stale = await self._listing(handle, ref.model_dir, recursive=False)
        found: dict[str, tuple[int, bool]] = {}
        limiter = anyio.CapacityLimiter(16)

        async def one(data: DataRef) -> None:
            # swamp's `findAllForModel`: each name dir resolved as a latest read (a renamed name
            # resolves to its new name), listed once under the name it resolves to
            async with limiter:
                try:
                    resolved, version, _, _, was_stale = await self._resolve(handle, data, None)
                except NotFound:
                    return  # no complete version, or a rename chain too long
                found[resolved.name] = (version, was_stale)

        async with anyio.create_task_group() as tg:
            for child in children:
                name = child.rstrip("/")
                if child.endswith("/") and _valid_data_name(name):
                    tg.start_soon(one, DataRef(ref.type, ref.model_id, name))
        items = [{"name": name, "latest": found[name][0]} for name in sorted(found)]
        stale = stale or any(was_stale for _, was_stale in found.values())
        return {"repo": handle.name, "type": ref.type, "model_id": ref.model_id, "data": items, "stale": stale}

    # -- writes ------------------------------------------------------------------------------

    async def put(self, repo: str, model_type: str, model: str, name: str, content: bytes, *,
                  content_type: str = "application/octet-stream", tags: dict[str, str] | None = None,
                  owner: dict[str, str] | None = None, lifetime: str = "infinite",
                  garbage_collection: int | str = 10) -> dict[str, Any]:
        """Write a new version in swamp's order, under swamp's ownership rule.

        The owner defaults to the model's own (`model-method` of the model id, what swamp's
        method runs write), so a write by swampd never locks a model out of its data; a write
        whose owner differs from the name's existing owner is refused (`conflict`). A model given
        by name is tagged `modelName`, as swamp tags its data (what `data query` filters on).
        """
        handle = await self.handle(repo)
        ref = await self._ref(handle, model_type, model, name)
        if ref.model_id != model and not (tags or {}).get("modelName"):
            tags = {**(tags or {}), "modelName": model}
        build = partial(build_metadata, ref, content=content, content_type=content_type, tags=tags, owner=owner,
                        lifetime=lifetime, garbage_collection=garbage_collection)
        build(version=1)  # refuse bad tags/owner before touching the backend
        model_key = self.key(handle, ref.model_dir)
        try:
            version, metadata = await self._model_locks.run(
                model_key, lambda: self._backend(handle, self._write, handle, ref, content, build),
                method="data.put")
        except BackendUnavailable:
            # A write whose outcome is unknown may be there; its own change notice is skipped
            # (a store ignores its own writes): ask the backend on the next read.
            self._invalidate(handle.store_id, ref.latest)
            raise
        kind = handle.store.kind
        latest_key, meta_key = self.key(handle, ref.latest), self.key(handle, ref.metadata(version))
        await self._remember([
            (meta_key, orjson.dumps(metadata), {"backend": kind}),
            (self.key(handle, ref.raw(version)), content, {"backend": kind}),
            (latest_key, format_latest(version), {"backend": kind, "mutable": True}),
        ])
        self._invalidate(handle.store_id, ref.latest)
        now = time.monotonic()
        self._mark_checked(latest_key, now)
        self._mark_checked(meta_key, now)
        return {"repo": handle.name, "type": ref.type, "model_id": ref.model_id, "name": ref.name,
                "version": version, "size": metadata["size"], "checksum": metadata["checksum"],
                "backend": kind}

    def _write(self, handle: RepoHandle, ref: DataRef, content: bytes,
               build: Callable[..., dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        """swamp's save order under the per-model lock; runs in a worker thread. The store's
        writer makes the version visible to swamp as one unit (`commit`) or not at all (`abort`)."""
        store = handle.store
        with model_lock_held(store, ref.model_dir):
            writer = store.writer()
            try:
                existing = [int(c.rstrip("/")) for c in writer.list(ref.name_dir) if c.rstrip("/").isdigit()]
                owner = build(version=1)["ownerDefinition"]
                if existing:  # a new name has no owner yet (nor does a name left with no versions)
                    self._check_owner(handle, ref, owner)
                version = max(existing, default=0) + 1
                for _ in range(MAX_CLAIM_ATTEMPTS):
                    metadata = build(version=version)
                    if writer.claim_version(ref.version_dir(version), dump_metadata(metadata)):
                        break
                    version += 1
                else:
                    raise Conflict(f"could not claim a version of {ref.name} after {MAX_CLAIM_ATTEMPTS} tries")
                writer.put(ref.raw(version), content)
                latest_etag = writer.put(ref.latest, format_latest(version))
                writer.commit()
            except BaseException:
                writer.abort()
                raise
            self._owners.remember(f"{handle.store_id}/{ref.latest}", latest_etag, owner)
            if store.kind == "filesystem":
                self._record_in_catalog(handle, ref, metadata)
            return version, metadata

    def _check_owner(self, handle: RepoHandle, ref: DataRef, owner: dict[str, Any]) -> None:
        """swamp's rule (`Data.isOwnedBy`): the name's current data (its latest, renames followed, as
        swamp's `findByName` reads it) must have this owner's `ownerType` and `ownerRef`.

        The owner swampd itself last wrote is remembered with its `latest` validator: while `latest`
        is unchanged (one conditional read) the owner is known without reading the metadata."""
        store = handle.store
        known = self._owners.get(f"{handle.store_id}/{ref.latest}")
        if known is not None and store.get(ref.latest, if_none_match=known[0]) is NOT_MODIFIED:
            self._refuse_other_owner(ref, known[1], owner)
            return
        current = ref
        for _ in range(MAX_RENAME_HOPS + 1):
            version, _ = self._read_latest(store, current, None)
            got = store.get(current.metadata(version)) if isinstance(version, int) else None
            if not isinstance(got, Blob):
                return
            existing = load_metadata(got.data)
            renamed = existing.get("renamedTo")
            if existing.get("lifecycle") == "deleted" and isinstance(renamed, str) and renamed:
                current = DataRef.of(ref.type, ref.model_id, renamed)
                continue
            theirs = existing["ownerDefinition"] if isinstance(existing.get("ownerDefinition"), dict) else {}
            self._refuse_other_owner(ref, theirs, owner)
            return

    @staticmethod
    def _refuse_other_owner(ref: DataRef, theirs: dict[str, Any], owner: dict[str, Any]) -> None:
        if (theirs.get("ownerType"), theirs.get("ownerRef")) != (owner.get("ownerType"), owner.get("ownerRef")):
            holder = f"{theirs.get('ownerType')}:{theirs.get('ownerRef')}"
            writer = f"{owner.get('ownerType')}:{owner.get('ownerRef')}"
            raise Conflict(f'data "{ref.name}" is owned by {holder}; this write is by {writer} '
                           "(swamp's ownership rule; pass owner to write as its owner)",
                           existing_owner=_owner_ident(theirs), owner=_owner_ident(owner))

    def _record_in_catalog(self, handle: RepoHandle, ref: DataRef, metadata: dict[str, Any]) -> None:
        """Keep swamp's `_catalog.db` right (see catalog.py). A failure never fails the write, whose data is
        durable by now: the catalog is invalidated instead so swamp rebuilds it from the files, and when
        even that fails (the file held beyond the busy timeout) it is invalidated on the repo's next write."""
        namespace = getattr(handle.store, "namespace", None)
        try:
            if handle.path in self._catalogs_to_invalidate:
                catalog.invalidate(handle.path)
                self._catalogs_to_invalidate.discard(handle.path)
            catalog.record_version(handle.path, namespace, ref.type, ref.model_id, metadata)
            return
        except (sqlite3.Error, OSError) as exc:
            log.warning("swamp's catalog of repo %s not updated (%s); invalidating it", handle.name,
                        type(exc).__name__)
        try:
            catalog.invalidate(handle.path)
            self._catalogs_to_invalidate.discard(handle.path)
        except (sqlite3.Error, OSError):
            self._catalogs_to_invalidate.add(handle.path)
            log.warning("swamp's catalog of repo %s could not be invalidated; will retry", handle.name)

    # -- lifecycle ---------------------------------------------------------------------------

    def busy_reason(self) -> str | None:
        running = sum(1 for p in self.prefetches.values() if p.state == "running")
        return f"{running} prefetch(es) running" if running else None

    def close(self) -> None:
        self.stats.flush()
        for job in list(self.prefetches.values()):
            job.cancel()
        self.repos.close()
        self.hot.close()

    async def aclose(self) -> None:
        await run_sync(self.close)
