"""Cache control: stats, key listing, eviction, background prefetch, datastore health."""

from __future__ import annotations

import itertools
import os
import threading
import time
from typing import Any

import orjson
import yaml

from swampd.errors import InvalidParams
from swampd.storage.base import Blob, StoreDown
from swampd.storage.data import DataService, content_matches
from swampd.storage.layout import DataRef, load_metadata, looks_like_uuid
from swampd.storage.repos import RepoHandle, resolve_model_id, store_id
from swampd.storage.stats import TOPIC
from swampd.workers import run_sync

BACKEND_BY_PREFIX = {"fi": "filesystem", "s3": "s3", "po": "postgres"}
MAX_PAGE = 1000
PREFETCH_KEEP_SECONDS = 600
MODEL_NAMES_TTL = 60.0
MAX_MODEL_FILES = 5000


def read_model_names(repo_path: str) -> dict[str, str]:
    """model id -> name from `models/{type}/{name}.yaml` (swamp's model definitions)."""
    names: dict[str, str] = {}
    root = os.path.join(repo_path, "models")
    seen = 0
    for folder, _, files in os.walk(root):
        for file in files:
            if not file.endswith(".yaml") or seen >= MAX_MODEL_FILES:
                continue
            seen += 1
            try:
                with open(os.path.join(folder, file), encoding="utf-8") as fh:
                    definition = yaml.safe_load(fh) or {}
            except (OSError, yaml.YAMLError, UnicodeDecodeError):
                continue
            if isinstance(definition, dict) and isinstance(definition.get("id"), str):
                names[definition["id"]] = str(definition.get("name") or file[: -len(".yaml")])
    return names


class Prefetch:
    """One background prefetch (a worker thread): progress goes out on the `cache` topic."""

    def __init__(self, job_id: str, data: DataService, handle: RepoHandle, prefix: str | None,
                 keys: list[str] | None) -> None:
        self.id = job_id
        self.data = data
        self.handle = handle
        self.prefix = prefix
        self.keys = keys
        self.state = "running"
        self.total = 0
        self.done = 0
        self.fetched = 0
        self.bytes = 0
        self.errors = 0
        self.started = time.time()
        self.ended: float | None = None
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"swampd-prefetch-{job_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "repo": self.handle.name, "state": self.state, "total": self.total,
                "done": self.done, "fetched": self.fetched, "bytes": self.bytes, "errors": self.errors,
                "prefix": self.prefix, "started": self.started, "ended": self.ended}

    def _emit(self) -> None:
        self.data.publish(TOPIC, {"type": "cache.prefetch", **self.describe()})

    def _targets(self) -> list[str]:
        store = self.handle.store
        if self.keys is not None:
            return [k for k in self.keys if k.endswith(("/raw", "/metadata.yaml"))]
        listed = store.list(self.prefix or "data", recursive=True)
        return [k for k in listed if k.endswith(("/raw", "/metadata.yaml")) and k.split("/")[-2].isdigit()]

    def _belongs(self, path: str, data: bytes) -> bool:
        """A `raw` is kept only beside the `metadata.yaml` it matches (checksum/size): the hot tier
        serves the two together, so a raw of another write of the same number must not join them."""
        if not path.endswith("/raw"):
            return True
        meta_path = path[: -len("raw")] + "metadata.yaml"
        cached = self.data.hot.get(self.data.key(self.handle, meta_path))
        if cached is not None:
            return content_matches(orjson.loads(cached.value), data)
        blob = self.handle.store.get(meta_path)
        if not isinstance(blob, Blob):
            return False
        metadata = load_metadata(blob.data)
        self.data.hot.set(self.data.key(self.handle, meta_path), orjson.dumps(metadata),
                          {"backend": self.handle.store.kind, "etag": blob.etag})
        return content_matches(metadata, data)

    def _run(self) -> None:
        last = 0.0
        try:
            targets = self._targets()
            self.total = len(targets)
            self._emit()
            for path in targets:
                if self._cancel.is_set():
                    self.state = "cancelled"
                    break
                key = self.data.key(self.handle, path)
                if self.data.hot.get(key) is None:
                    try:
                        blob = self.handle.store.get(path)
                    except StoreDown:
                        self.errors += 1
                        blob = None
                    if isinstance(blob, Blob) and self._belongs(path, blob.data):
                        value = orjson.dumps(load_metadata(blob.data)) if path.endswith(".yaml") else blob.data
                        self.data.hot.set(key, value, {"backend": self.handle.store.kind, "etag": blob.etag})
                        self.fetched += 1
                        self.bytes += len(blob.data)
                self.done += 1
                if time.monotonic() - last >= 0.25:
                    last = time.monotonic()
                    self._emit()
            else:
                self.state = "done"
        except StoreDown:
            self.state = "failed"
            self.errors += 1
        except Exception:  # noqa: BLE001 - reported as a failed prefetch, never a crash
            self.state = "failed"
            self.errors += 1
        self.ended = time.time()
        self._emit()


class CacheControl:
    def __init__(self, data: DataService) -> None:
        self.data = data
        self._ids = itertools.count(1)
        self._names: dict[str, tuple[float, dict[str, str]]] = {}

    # -- stats -------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        hot = self.data.hot
        snap = self.data.stats.snapshot()
        per_items: dict[str, int] = {}
        per_bytes: dict[str, int] = {}
        for key in hot.keys():
            kind = BACKEND_BY_PREFIX.get(key[:2], "unknown")
            per_items[kind] = per_items.get(kind, 0) + 1
            meta = hot.meta(key)
            if meta is not None:
                per_bytes[kind] = per_bytes.get(kind, 0) + int(meta.get("size", 0))
        for kind, entry in snap["backends"].items():
            entry["items"] = per_items.get(kind, 0)
            entry["bytes"] = per_bytes.get(kind, 0)
        snap["overall"].update(
            items=hot.count, bytes=hot.volume, max_size=hot.settings.size_limit, evictions=hot.evictions,
            evictions_manual=self.data.stats.manual_evictions,
            eviction_policy=hot.settings.eviction_policy, staleness=self.data.settings.staleness,
            coalescer=self.data.coalescer_kind, write_failures=self.data.cache_write_failures,
        )
        snap["tiers"] = hot.tier_stats()
        now = time.time()
        for job_id, job in list(self.data.prefetches.items()):  # finished ones are kept 10 minutes
            if job.ended is not None and now - job.ended > PREFETCH_KEEP_SECONDS:
                self.data.prefetches.pop(job_id, None)
        snap["prefetches"] = [p.describe() for p in self.data.prefetches.values()]
        return snap

    # -- keys --------------------------------------------------------------------------------

    def _scope(self, repo: str | None) -> str:
        return f"{self.data.repos.get(repo).store_id}/" if repo else ""

    def keys(self, repo: str | None = None, filter: str | None = None, offset: int = 0,
             limit: int = 100) -> dict[str, Any]:
        if not isinstance(offset, int) or offset < 0:
            raise InvalidParams("offset must be an integer >= 0")
        if not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
            raise InvalidParams(f"limit must be an integer within 1..{MAX_PAGE}")
        scope = self._scope(repo)
        matched = [k for k in self.data.hot.keys(scope) if not filter or filter in k]
        page = []
        now = time.time()
        stores = {store_id(s): s for s in self.data.repos.stores()}
        handles = {h.store_id: h for h in self.data.repos.opened()}
        for key in matched[offset:offset + limit]:
            meta = self.data.hot.meta(key) or {}
            mutable = bool(meta.get("mutable"))
            sid, _, path = key.partition("/")
            store = stores.get(sid)
            stale = mutable and (store is None or not self.data._fresh(key, store))
            counts = self.data.stats.item_counts(key)
            entry = {"key": key, "size": meta.get("size"), "age": round(now - meta.get("stored", now), 3),
                     "backend": meta.get("backend"), "mutable": mutable, "stale": stale,
                     "reads": counts[0] if counts else 0, "hits": counts[1] if counts else 0}
            parts = path.split("/")
            handle = handles.get(sid)
            if len(parts) >= 4 and parts[0] == "data" and handle is not None:
                # data/{type...}/{modelId}/{name}/...: the model id sits before the data name
                for i in range(2, len(parts) - 1):
                    name = self._model_name(handle, parts[i])
                    if name is not None:
                        entry["model_name"] = name
                        break
            page.append(entry)
        return {"total": len(matched), "offset": offset, "limit": limit, "keys": page}

    def _model_name(self, handle: RepoHandle, model_id: str) -> str | None:
        """A model's name from its id (the repo's `models/**.yaml`, read at most once a minute)."""
        if not looks_like_uuid(model_id):
            return None
        cached = self._names.get(handle.path)
        if cached is None or time.monotonic() - cached[0] > MODEL_NAMES_TTL:
            names = {mid: name for (_, name), (mid, _) in handle.model_ids.items()}
            names.update(read_model_names(handle.path))
            cached = self._names[handle.path] = (time.monotonic(), names)
        return cached[1].get(model_id)

    # -- evict -------------------------------------------------------------------------------

    def evict(self, repo: str | None = None, key: str | None = None, prefix: str | None = None,
              model_type: str | None = None, model: str | None = None, everything: bool = False) -> dict[str, Any]:
        chosen = sum(x is not None for x in (key, prefix, model)) + bool(everything)
        if chosen != 1:
            raise InvalidParams("give exactly one of key, prefix, model (with type) or all")
        hot = self.data.hot
        if everything:
            if repo is None:
                count = hot.clear()
                self.data._checked.clear()
            else:
                count = self._evict_prefix(self._scope(repo))
        else:
            if repo is None:
                raise InvalidParams("repo is required to evict a key, prefix or model")
            handle = self.data.repos.get(repo)
            if key is not None:
                full = self.data.key(handle, key.lstrip("/"))
                count = int(hot.delete(full))
                self.data._checked.pop(full, None)
            elif prefix is not None:
                count = self._evict_prefix(self.data.key(handle, prefix.lstrip("/")))
            else:
                if model_type is None:
                    raise InvalidParams("type is required with model")
                ref = DataRef.of(model_type, resolve_model_id(handle, model_type, str(model)), "x")
                count = self._evict_prefix(self.data.key(handle, ref.model_dir + "/"))
        self.data.stats.evicted_by_request(count)
        self.data.stats.flush()
        self.data.publish(TOPIC, {"type": "cache.evicted", "count": count})
        return {"evicted": count}

    def _evict_prefix(self, prefix: str) -> int:
        for k in [k for k in list(self.data._checked) if k.startswith(prefix)]:
            self.data._checked.pop(k, None)
        return self.data.hot.evict_prefix(prefix)

    # -- prefetch ----------------------------------------------------------------------------

    def prefetch(self, repo: str, model_type: str | None = None, model: str | None = None,
                 prefix: str | None = None, keys: list[str] | None = None) -> dict[str, Any]:
        chosen = sum(x is not None for x in (model, prefix, keys))
        if chosen != 1:
            raise InvalidParams("give exactly one of model (with type), prefix or keys")
        handle = self.data.repos.get(repo)
        if model is not None:
            if model_type is None:
                raise InvalidParams("type is required with model")
            prefix = DataRef.of(model_type, resolve_model_id(handle, model_type, model), "x").model_dir
        if keys is not None and (not isinstance(keys, list) or not all(isinstance(k, str) for k in keys)):
            raise InvalidParams("keys must be a list of paths")
        job = Prefetch(f"prefetch-{next(self._ids)}", self.data, handle, prefix, keys)
        self.data.prefetches[job.id] = job
        job.start()
        return {"id": job.id, "state": job.state, "topic": TOPIC}

    # -- health ------------------------------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        out: list[dict[str, Any]] = []
        handles = []
        for entry in await run_sync(self.data.repos.list):  # opens datastores
            if "error" in entry:
                out.append({"store_id": None, "backend": None, "repos": [entry["name"]], "state": "misconfigured",
                            "healthy": False, "message": entry["error"], "latency_ms": None,
                            "change_signal": False})
            else:
                handles.append(await self.data.handle(entry["name"]))
        seen: dict[str, list[str]] = {}
        for h in handles:
            seen.setdefault(h.store_id, []).append(h.name)
        by_id = {h.store_id: h for h in handles}
        for sid, handle in by_id.items():
            started = time.perf_counter()
            try:
                await run_sync(handle.store.ping)
                state, message = "up", "ok"
            except StoreDown as exc:
                state, message = "down", str(exc)
            latency = (time.perf_counter() - started) * 1000
            self.data._set_health(handle.store, state, None if state == "up" else message)
            out.append({"store_id": sid, "backend": handle.store.kind, "repos": seen[sid], "state": state,
                        "healthy": state == "up", "message": message, "latency_ms": round(latency, 3),
                        "change_signal": handle.store.has_change_signal})
        return {"datastores": out, "healthy": all(d["healthy"] for d in out)}
