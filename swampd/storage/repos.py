"""The repo registry: which repos this daemon serves, persisted under `paths.data_dir`."""

from __future__ import annotations

import builtins
import errno
import hashlib
import logging
import os
import stat
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import yaml

from swampd.errors import BackendUnavailable, InvalidInput, InvalidParams, NotFound
from swampd.storage.base import ObjectStore
from swampd.storage.layout import looks_like_uuid, normalize_type
from swampd.storage.resolve import DatastoreSpec, open_store, resolve_datastore

log = logging.getLogger(__name__)

MODEL_ID_TTL = 5.0
MARKER = ".swamp.yaml"
"""What makes a directory a swamp repo (written by `swamp repo init`)."""


@dataclass
class RepoHandle:
    name: str
    path: str
    spec: DatastoreSpec
    store: ObjectStore
    swamp_datastore: str | None = None
    model_ids: dict[tuple[str, str], tuple[str, float]] = field(default_factory=dict)
    """Model name -> id, read from `models/{type}/{name}.yaml` (re-read after MODEL_ID_TTL)."""

    @property
    def store_id(self) -> str:
        """Short, stable name of the datastore (and namespace): the cache-key prefix."""
        cached = self.__dict__.get("_store_id")
        if cached is None or cached[0] is not self.store:
            cached = self.__dict__["_store_id"] = (self.store, store_id(self.store))
        return cached[1]

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "path": self.path, "datastore": self.spec.describe(),
                "backend": self.store.kind, "store_id": self.store_id}


def require_swamp_repo(path: str) -> None:
    """Refuse a directory that is not an initialised swamp repo (`.swamp.yaml`, a regular file)."""
    if not os.path.isfile(os.path.join(path, MARKER)):
        raise InvalidInput(f"{path} is not a swamp repo (it has no {MARKER}); run `swamp repo init` there first, "
                           "or name the repo it belongs to", path=path)


def store_id(store: ObjectStore) -> str:
    return f"{store.kind[:2]}-{hashlib.sha256(store.identity.encode()).hexdigest()[:12]}"


class RepoRegistry:
    def __init__(self, data_dir: str) -> None:
        self.file = os.path.join(data_dir, "repos.json")
        self._lock = threading.Lock()
        self._entries: dict[str, dict[str, Any]] = self._load()
        self._handles: dict[str, RepoHandle] = {}
        self._stores: dict[str, ObjectStore] = {}
        self.on_store_opened: list[Any] = []

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            with open(self.file, "rb") as fh:
                raw = orjson.loads(fh.read())
        except FileNotFoundError:
            return {}
        except (OSError, orjson.JSONDecodeError):
            return {}
        return raw.get("repos", {}) if isinstance(raw, dict) else {}

    def _save(self, entries: dict[str, dict[str, Any]]) -> None:
        """Write the registry atomically; a failure (a full disk) leaves the old file and no debris."""
        tmp = f"{self.file}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(self.file), mode=0o700, exist_ok=True)
            with open(tmp, "wb") as fh:
                fh.write(orjson.dumps({"version": 1, "repos": entries}, option=orjson.OPT_INDENT_2))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.file)
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            cause = errno.errorcode.get(exc.errno or 0, "error")
            reason = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded"}.get(
                exc.errno or 0, exc.strerror or "error")
            raise BackendUnavailable(f"cannot save the repo registry {self.file}: {reason} ({cause})",
                                     cause=cause) from None

    def _open(self, spec: DatastoreSpec) -> ObjectStore:
        store = open_store(spec)
        shared = self._stores.get(store.identity)
        if shared is not None:
            return shared
        self._stores[store.identity] = store
        for callback in self.on_store_opened:
            callback(store)
        return store

    def _handle(self, name: str, entry: dict[str, Any]) -> RepoHandle:
        # Nothing is created here: opening a repo (for a read, or a typo) never makes a datastore.
        spec = resolve_datastore(entry["path"], entry.get("swamp_datastore"))
        return RepoHandle(name, entry["path"], spec, self._open(spec), entry.get("swamp_datastore"))

    def register(self, path: str, name: str | None = None, swamp_datastore: str | None = None, *,
                 must_persist: bool = True) -> RepoHandle:
        """Register an initialised swamp repo. With `must_persist=False` (a repo first named by a data
        call) a registry that cannot be saved (a full disk) keeps the repo for this daemon's life."""
        if not isinstance(path, str) or not os.path.isabs(path):
            raise InvalidParams("path must be an absolute path to a repo")
        path = os.path.realpath(path)
        if not os.path.isdir(path):
            raise NotFound(f"repo directory {path} does not exist")
        require_swamp_repo(path)
        with self._lock:
            existing = next((n for n, e in self._entries.items() if e["path"] == path), None)
            if name is None:
                name = existing or self._free_name(os.path.basename(path) or "repo")
            if not isinstance(name, str) or not name or "/" in name:
                raise InvalidParams("name must be a non-empty name without '/'")
            entry = {"path": path, "swamp_datastore": swamp_datastore, "registered_at": time.time()}
            handle = self._handle(name, entry)  # resolves the datastore: refuse a bad one before saving
            entries = {n: e for n, e in self._entries.items() if n != existing}
            entries[name] = entry
            try:
                self._save(entries)  # saved first: a failure changes nothing
            except BackendUnavailable as exc:
                if must_persist:
                    raise
                log.warning("%s; repo %s is served but stays registered only until the daemon stops",
                            exc.message, path)
            if existing and existing != name:
                self._handles.pop(existing, None)
            self._entries = entries
            self._handles[name] = handle
            return handle

    def _free_name(self, base: str) -> str:
        name, n = base, 2
        while name in self._entries:
            name, n = f"{base}-{n}", n + 1
        return name

    def forget(self, name: str) -> bool:
        with self._lock:
            handle = self._resolve_name(name)
            if handle is None:
                raise NotFound(f"repo {name} is not registered")
            entries = {n: e for n, e in self._entries.items() if n != handle}
            self._save(entries)
            self._entries = entries
            self._handles.pop(handle, None)
            return True

    def _resolve_name(self, name_or_path: str) -> str | None:
        if name_or_path in self._entries:
            return name_or_path
        if os.path.isabs(name_or_path):
            real = os.path.realpath(name_or_path)
            return next((n for n, e in self._entries.items() if e["path"] == real), None)
        return None

    def cached(self, repo: str) -> RepoHandle | None:
        """The handle of an already opened repo (no I/O): what the event loop may call."""
        return self._handles.get(repo) if isinstance(repo, str) else None

    def paths(self) -> list[str]:
        """The registered repo dirs, without opening any datastore."""
        return [entry["path"] for _, entry in sorted(self._entries.items())]

    def path_of(self, repo: str) -> str:
        """A registered repo's dir by name or path, without opening its datastore."""
        with self._lock:
            name = self._resolve_name(repo)
        if name is None:
            raise NotFound(f"repo {repo} is not registered")
        return str(self._entries[name]["path"])

    def get(self, repo: str) -> RepoHandle:
        """A repo by registered name or path; an unregistered repo path is registered on first use.

        The first call for a repo opens its datastore (boto3 client, PostgreSQL pool): call it
        off the event loop unless `cached` has the handle.
        """
        if not isinstance(repo, str) or not repo:
            raise InvalidParams("repo must be a repo name or an absolute path")
        handle = self._handles.get(repo)
        if handle is not None:
            return handle
        with self._lock:
            name = self._resolve_name(repo)
            if name is not None:
                handle = self._handles.get(name)
                if handle is None:
                    handle = self._handles[name] = self._handle(name, self._entries[name])
                if repo != name:
                    self._handles.setdefault(repo, handle)
                return handle
        if os.path.isabs(repo) and os.path.isdir(repo):
            return self.register(repo, must_persist=False)
        raise NotFound(f"repo {repo} is not registered")

    def list(self) -> list[dict[str, Any]]:
        out = []
        for name in sorted(self._entries):
            try:
                out.append({**self.get(name).describe(), "registered_at": self._entries[name].get("registered_at")})
            except Exception as exc:  # noqa: BLE001 - one broken repo must not hide the others
                error = getattr(exc, "message", "cannot open")
                out.append({"name": name, "path": self._entries[name]["path"], "error": error})
        return out

    def opened(self) -> builtins.list[RepoHandle]:
        """The repos whose datastores are open already (no I/O)."""
        return list(self._handles.values())

    def handles(self) -> builtins.list[RepoHandle]:
        return [self.get(n) for n in sorted(self._entries)]

    def stores(self) -> builtins.list[ObjectStore]:
        return list(self._stores.values())

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
        self._stores.clear()
        self._handles.clear()


def known_model_id(repo: RepoHandle, model_type: str, model: str) -> str | None:
    """The model id without any I/O: `model` itself when it is an id, else a recent lookup."""
    if looks_like_uuid(model):
        return model
    cached = repo.model_ids.get((model_type, model))
    if cached is not None and time.monotonic() - cached[1] < MODEL_ID_TTL:
        return cached[0]
    return None


def resolve_model_id(repo: RepoHandle, model_type: str, model: str) -> str:
    """A model id, given an id or a name (read from the repo's `models/{type}/{name}.yaml`)."""
    if not isinstance(model, str) or not model:
        raise InvalidParams("model must be a model id or name")
    known = known_model_id(repo, model_type, model)
    if known is not None:
        return known
    resolved = _read_model_id(repo, model_type, model)
    repo.model_ids[(model_type, model)] = (resolved, time.monotonic())
    return resolved


MAX_MODEL_FILE = 1024 * 1024
"""Bytes of a model definition file that the name lookup reads at most."""


def check_model_name(model: str) -> str:
    """A model name or id as a path segment: no separators, no `.`/`..`, no NUL."""
    if (not model or "/" in model or "\\" in model or "\0" in model or model in (".", "..")
            or model.startswith("..")):
        raise InvalidParams(f"model {model!r} is not a valid model name or id", param="model")
    return model


def _model_files(repo: RepoHandle, model_type: str, model: str) -> list[str]:
    """Where `models/{type}/{model}.yaml` may be, only ever inside the repo's models/ dir."""
    models = os.path.realpath(os.path.join(repo.path, "models"))
    normalized = normalize_type(model_type)
    candidates = [os.path.join(models, *normalized.split("/"), f"{model}.yaml")]
    raw = model_type.strip("/")
    if raw != normalized and not os.path.isabs(model_type) and ".." not in raw.split("/") and "\0" not in raw:
        candidates.append(os.path.join(models, raw, f"{model}.yaml"))
    inside = []
    for candidate in candidates:
        real = os.path.realpath(candidate)  # a symlink out of the repo is not followed out of it
        if real.startswith(models + os.sep):
            inside.append(real)
    return inside


def _read_regular_file(path: str, limit: int) -> bytes | None:
    """The file's bytes when it is a regular file (never blocks on a FIFO or a device)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        return os.read(fd, limit + 1)[:limit]
    except OSError:
        return None
    finally:
        os.close(fd)


def _read_model_id(repo: RepoHandle, model_type: str, model: str) -> str:
    check_model_name(model)
    for candidate in _model_files(repo, model_type, model):
        raw = _read_regular_file(candidate, MAX_MODEL_FILE)
        if raw is None:
            continue
        try:
            definition = yaml.safe_load(raw) or {}
        except (yaml.YAMLError, UnicodeDecodeError):
            continue
        if isinstance(definition, dict) and isinstance(definition.get("id"), str):
            return check_model_name(definition["id"])
    return model  # not a known name: treat it as an id (swamp ids are UUIDs, tests may use others)
