"""A swamp repo's vault configs: `<repo>/vaults/<type>/<uuid>.yaml` (tracked in git).

Fields: `id`, `name`, `type`, `config` (free map), `createdAt`, `auditReads`. Files that do
not parse are skipped (swamp skips a provider that fails to load, with a warning).
Blocking (file IO): call through a worker thread.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

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
    start = os.path.realpath(path)
    cur = start
    while True:
        if os.path.isfile(os.path.join(cur, ".swamp.yaml")):
            return cur
        parent = os.path.dirname(cur)
        if parent == cur:
            return start
        cur = parent


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
