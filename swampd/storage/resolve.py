"""Which datastore a repo uses, resolved as swamp does (reference §1.2–1.3), and opening it.

Priority: `SWAMP_DATASTORE` (the caller's environment, passed in), then `.swamp.yaml`'s
`datastore:` block, then the filesystem at `{repo}/.swamp`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from swampd.errors import InvalidInput
from swampd.storage.base import ObjectStore
from swampd.storage.layout import check_namespace

S3_TYPE = "@swamp/s3-datastore"
POSTGRES_TYPE = "@webframp/postgres-datastore"
_REMOVED = {"@swampd/postgres-datastore": "use @webframp/postgres-datastore (config: connectionString, schema, ssl)"}
_ALIASES = {"s3": S3_TYPE}
_SECRET_KEYS = ("connectionString", "dsn", "url", "password")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class DatastoreSpec:
    type: str
    path: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    namespace: str | None = None
    source: str = "default"

    def describe(self) -> dict[str, Any]:
        """What `repos.list` shows: never a password (a connection string is reduced to host/port/db)."""
        shown = {k: v for k, v in self.config.items() if k not in _SECRET_KEYS}
        if isinstance(self.config.get("connectionString"), str):
            from swampd.storage.postgres import describe_dsn

            shown["connectionString"] = describe_dsn(self.config["connectionString"])
        return {"type": self.type, "path": self.path, "config": shown, "namespace": self.namespace,
                "source": self.source}


def expand_path(value: str, repo_dir: str, env: Mapping[str, str]) -> str:
    """`~`, `$VAR`, `${VAR}` expanded (an unset var is an error); relative to the repo."""

    def sub(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in env:
            raise InvalidInput(f"datastore path uses ${name}, which is not set")
        return env[name]

    expanded = _VAR.sub(sub, value)
    if expanded == "~" or expanded.startswith("~/"):
        expanded = env.get("HOME", os.path.expanduser("~")) + expanded[1:]
    return os.path.normpath(os.path.join(repo_dir, expanded))


def _from_env(value: str, repo_dir: str, env: Mapping[str, str]) -> DatastoreSpec:
    kind, sep, rest = value.partition(":")
    if not sep:
        raise InvalidInput("Invalid SWAMP_DATASTORE format: expected TYPE:VALUE")
    if kind == "filesystem":
        return DatastoreSpec("filesystem", path=expand_path(rest, repo_dir, env), source="env")
    if kind == "s3":
        bucket, _, prefix = rest.partition("/")
        return DatastoreSpec(S3_TYPE, config={"bucket": bucket, "prefix": prefix}, source="env")
    kind = _ALIASES.get(kind, kind)
    try:
        config = json.loads(rest) if rest.strip() else {}
    except ValueError:
        raise InvalidInput("SWAMP_DATASTORE holds invalid JSON config") from None
    if not isinstance(config, dict):
        raise InvalidInput("SWAMP_DATASTORE config must be a JSON object")
    return DatastoreSpec(kind, config=config, source="env")


def _from_block(block: dict[str, Any], repo_dir: str, env: Mapping[str, str]) -> DatastoreSpec:
    kind = str(block.get("type", "filesystem"))
    namespace = check_namespace(block.get("namespace"))
    if kind == "filesystem":
        path = block.get("path")
        if not isinstance(path, str) or not path:
            raise InvalidInput(".swamp.yaml datastore of type filesystem needs a path")
        return DatastoreSpec("filesystem", path=expand_path(path, repo_dir, env), namespace=namespace,
                             source="yaml")
    if kind == "s3":  # legacy: top-level bucket/prefix/region/endpoint/forcePathStyle
        legacy: dict[str, Any] = {k: block[k] for k in ("bucket", "prefix", "region", "endpoint", "forcePathStyle")
                                  if k in block}
        return DatastoreSpec(S3_TYPE, config=legacy, namespace=namespace, source="yaml")
    config = block.get("config") or {}
    if not isinstance(config, dict):
        raise InvalidInput(".swamp.yaml datastore config must be a mapping")
    return DatastoreSpec(_ALIASES.get(kind, kind), config=dict(config), namespace=namespace, source="yaml")


def read_marker(repo_dir: str) -> dict[str, Any]:
    try:
        with open(os.path.join(repo_dir, ".swamp.yaml"), encoding="utf-8") as fh:
            marker = yaml.safe_load(fh) or {}
    except FileNotFoundError:
        return {}
    except (OSError, yaml.YAMLError):
        raise InvalidInput(f"{repo_dir}/.swamp.yaml cannot be read as YAML") from None
    return marker if isinstance(marker, dict) else {}


def resolve_datastore(repo_dir: str, swamp_datastore: str | None = None,
                      env: Mapping[str, str] | None = None) -> DatastoreSpec:
    env = dict(os.environ) if env is None else env
    if swamp_datastore:
        return _from_env(swamp_datastore, repo_dir, env)
    block = read_marker(repo_dir).get("datastore")
    if isinstance(block, dict):
        return _from_block(block, repo_dir, env)
    return DatastoreSpec("filesystem", path=os.path.join(repo_dir, ".swamp"))


def open_store(spec: DatastoreSpec) -> ObjectStore:
    if spec.type == "filesystem":
        from swampd.storage.filesystem import FilesystemStore

        assert spec.path is not None
        return FilesystemStore(spec.path, spec.namespace)
    if spec.type == S3_TYPE:
        from swampd.storage.s3 import S3Config, S3Store

        return S3Store(S3Config.from_mapping(spec.config), spec.namespace)
    if spec.type == POSTGRES_TYPE:
        from swampd.storage.postgres import PostgresConfig, PostgresStore

        return PostgresStore(PostgresConfig.from_mapping(spec.config), spec.namespace)
    if spec.type in _REMOVED:
        raise InvalidInput(f"datastore type {spec.type} was removed: {_REMOVED[spec.type]}")
    raise InvalidInput(f"datastore type {spec.type} is not supported by swampd")
