"""A swamp repo's vault configs: `<repo>/vaults/<type>/<uuid>.yaml` (tracked in git).

Fields: `id`, `name`, `type`, `config` (free map), `createdAt`, `auditReads`. Files that do
not parse are skipped (swamp skips a provider that fails to load, with a warning).
Blocking (file IO): call through a worker thread.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import yaml

from swampd import repo_root

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class VaultConfig:
    id: str
    name: str
    type: str
    repo: str
    path: str
    config: dict[str, Any] = field(default_factory=dict)
    created_at: str | None = None
    audit_reads: bool = False


def find_repo_root(path: str) -> str:
    """The repo root for `path`: the nearest dir upward holding `.swamp.yaml`, else `path`."""
    return repo_root.find_repo_root(path) or os.path.realpath(path)


def load_vault_configs(repo_root: str) -> list[VaultConfig]:
    """Every vault config of the repo, sorted by name."""
    base = os.path.join(repo_root, "vaults")
    found: list[VaultConfig] = []
    for dirpath, _dirs, files in os.walk(base):
        for fname in sorted(files):
            if not fname.endswith((".yaml", ".yml")):
                continue
            path = os.path.join(dirpath, fname)
            cfg = _load_one(repo_root, path)
            if cfg is not None:
                found.append(cfg)
    return sorted(found, key=lambda c: c.name)


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    iso = getattr(value, "isoformat", None)
    return iso() if callable(iso) else str(value)


def _load_one(repo_root: str, path: str) -> VaultConfig | None:
    try:
        with open(path, encoding="utf-8") as fh:
            raw = yaml.safe_load(fh)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        log.warning("vault config %s cannot be read; skipped", path)
        return None
    if not isinstance(raw, dict):
        log.warning("vault config %s is not a mapping; skipped", path)
        return None
    name = raw.get("name")
    vtype = raw.get("type")
    if not isinstance(name, str) or not NAME_RE.match(name) or not isinstance(vtype, str):
        log.warning("vault config %s has no valid name/type; skipped", path)
        return None
    config = raw.get("config")
    return VaultConfig(
        id=str(raw.get("id") or os.path.splitext(os.path.basename(path))[0]),
        name=name,
        type=vtype,
        repo=repo_root,
        path=path,
        config=dict(config) if isinstance(config, dict) else {},
        created_at=_iso(raw.get("createdAt")),
        audit_reads=bool(raw.get("auditReads", False)),
    )


class VaultConfigCache:
    """Parsed vault configs per repo, reparsed only when a file under `vaults/` changes.

    The signature is the (path, mtime, size) of every YAML file two levels down plus the
    mtimes of the directories, so adding, removing or editing a config is seen at once.
    Thread-safe; blocking (stat calls): call through a worker thread.
    """

    def __init__(self, max_age: float = 1.0) -> None:
        self.max_age = max_age
        """Seconds a checked listing is trusted without looking at the files again."""
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, tuple[Any, ...], list[VaultConfig]]] = {}

    @staticmethod
    def _signature(repo_root: str) -> tuple[Any, ...]:
        base = os.path.join(repo_root, "vaults")
        sig: list[Any] = []
        try:
            st = os.stat(base)
        except OSError:
            return ()
        sig.append((base, st.st_mtime_ns))
        stack = [base]
        while stack:
            d = stack.pop()
            try:
                entries = list(os.scandir(d))
            except OSError:
                continue
            for e in entries:
                try:
                    est = e.stat()
                except OSError:
                    continue
                if e.is_dir():
                    sig.append((e.path, est.st_mtime_ns))
                    stack.append(e.path)
                elif e.name.endswith((".yaml", ".yml")):
                    sig.append((e.path, est.st_mtime_ns, est.st_size, est.st_ino))
        return tuple(sorted(sig))

    def peek(self, repo: str) -> list[VaultConfig] | None:
        """Configs of `repo` (exactly as given, a repo root) when checked within `max_age`; no IO."""
        with self._lock:
            cached = self._cache.get(repo)
        if cached is not None and time.monotonic() - cached[0] < self.max_age:
            return cached[2]
        return None

    def get(self, repo_root: str, *, force: bool = False) -> list[VaultConfig]:
        """The repo's configs; `force` looks at the files even within `max_age`."""
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(repo_root)
        if cached is not None and not force and now - cached[0] < self.max_age:
            return cached[2]
        sig = self._signature(repo_root)
        if cached is not None and cached[1] == sig:
            configs = cached[2]
        else:
            configs = load_vault_configs(repo_root) if sig else []
        with self._lock:
            self._cache[repo_root] = (now, sig, configs)
        return configs
