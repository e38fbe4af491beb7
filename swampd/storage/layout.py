"""swamp's datastore path rules and metadata format (reference/swamp-datastores.md §2).

Pure functions only: no IO. Paths are swamp's *relative* paths with `/` separators,
relative to the datastore tier base (the namespace, when any, is added by the store).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import yaml

from swampd.errors import InvalidParams

NAMESPACE_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_TYPE_SPLIT = re.compile(r"::|\s+|\.")
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TEXT_TYPES = ("application/json", "application/yaml", "application/x-yaml")
MAX_CLAIM_ATTEMPTS = 100
OWNER_TYPES = ("model-method", "workflow-step", "manual")
OWNER_FIELDS = frozenset({"ownerType", "ownerRef", "workflowId", "workflowRunId", "workflowName", "jobName",
                          "stepName", "source", "definitionHash"})


@lru_cache(maxsize=4096)
def normalize_type(model_type: str) -> str:
    """swamp's `ModelType.normalized`: lowercase; `::`, whitespace, `.` become `/`; slashes collapsed."""
    if not isinstance(model_type, str) or not model_type.strip():
        raise InvalidParams("type must be a non-empty string")
    value = _TYPE_SPLIT.sub("/", model_type.lower())
    value = re.sub(r"/+", "/", value).strip("/")
    if not value or any(seg in ("..", ".") for seg in value.split("/")) or "\\" in value or "\0" in value:
        raise InvalidParams(f"type {model_type!r} is not a valid model type")
    return value


MAX_NAME_BYTES = 255
"""A data name is a directory name: 255 bytes (UTF-8) on every filesystem swamp runs on."""


def check_data_name(name: str) -> str:
    """A data name: swamp's rule (no `..`, `/`, `\\`, NUL; `latest` is reserved in any case), and
    what no datastore can hold as a directory of its own: `.` (the model's own dir), `.lock` (the
    model's lock file, there while a writer holds it) and names over 255 bytes."""
    if not isinstance(name, str) or not name:
        raise InvalidParams("name must be a non-empty string")
    if ".." in name or "/" in name or "\\" in name or "\0" in name or name.lower() == "latest":
        raise InvalidParams(f"name {name!r} is not a valid data name")
    if name == ".":
        raise InvalidParams("name '.' is not a valid data name: it is the model's own directory")
    if name == ".lock":
        raise InvalidParams("name '.lock' is not a valid data name: it is the model's lock file")
    size = len(name.encode("utf-8"))
    if size > MAX_NAME_BYTES:
        raise InvalidParams(f"a data name may be at most {MAX_NAME_BYTES} bytes (UTF-8), this one has {size}: "
                            "it is a directory name")
    return name


def check_model_id(model_id: str) -> str:
    if not isinstance(model_id, str) or not model_id or "/" in model_id or ".." in model_id or "\0" in model_id:
        raise InvalidParams(f"model id {model_id!r} is not valid")
    return model_id


def check_namespace(namespace: str | None) -> str | None:
    if namespace in (None, ""):
        return None
    if not isinstance(namespace, str) or not NAMESPACE_RE.match(namespace):
        raise InvalidParams(f"namespace {namespace!r} is not a valid slug")
    return namespace


def looks_like_uuid(value: str) -> bool:
    return bool(_UUID_RE.match(value))


def is_text_type(content_type: str) -> bool:
    base = content_type.split(";", 1)[0].strip().lower()
    return base.startswith("text/") or base in TEXT_TYPES


TIER_DIRS = frozenset({"_index", "_control", ".locks"})
"""Internal directories at the base of a datastore tier (the sync index, the control plane, global locks)."""


def is_ignored(name: str) -> bool:
    """File names every walker skips: locks, temp files, the catalog, sync bookkeeping.

    Files only: a directory below `data/` is a data name (or a type, model or version), and
    swamp lists every one (`findAllForModel` reads each directory of a model), `x.tmp` or
    `_index` included. Use `is_skipped` for an entry of a listing.
    """
    return (
        name.endswith(".lock")
        or name.endswith(".tmp")
        or name.startswith("_catalog.db")
        or name.startswith(".datastore-")
        or name in (".namespace.json", ".catalog-export.json")
    )


def is_skipped(path: str, *, is_dir: bool) -> bool:
    """Whether a walker skips `path` (relative to the tier base): anything under the tier's own
    directories (TIER_DIRS), and a file `is_ignored` names. A directory elsewhere is never skipped."""
    segments = path.strip("/").split("/")
    return segments[0] in TIER_DIRS or (not is_dir and is_ignored(segments[-1]))


@dataclass(frozen=True)
class DataRef:
    """One data name of one model: `data/{type}/{modelId}/{dataName}`."""

    type: str
    model_id: str
    name: str

    @classmethod
    def of(cls, model_type: str, model_id: str, name: str) -> DataRef:
        return cls(normalize_type(model_type), check_model_id(model_id), check_data_name(name))

    @property
    def model_dir(self) -> str:
        return f"data/{self.type}/{self.model_id}"

    @property
    def name_dir(self) -> str:
        return f"{self.model_dir}/{self.name}"

    @property
    def latest(self) -> str:
        return f"{self.name_dir}/latest"

    @property
    def model_lock(self) -> str:
        return f"{self.model_dir}/.lock"

    def version_dir(self, version: int) -> str:
        return f"{self.name_dir}/{version}"

    def raw(self, version: int) -> str:
        return f"{self.name_dir}/{version}/raw"

    def metadata(self, version: int) -> str:
        return f"{self.name_dir}/{version}/metadata.yaml"


def parse_latest(content: bytes) -> int | None:
    """The `latest` marker: a decimal version, no newline (readers trim); also `N/` from a symlink target."""
    text = content.decode("utf-8", "replace").strip().rstrip("/")
    return int(text) if text.isdigit() and int(text) >= 1 else None


def format_latest(version: int) -> bytes:
    return str(version).encode()


def sha256_hex(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def iso_now() -> str:
    """JavaScript's `Date.toISOString()` shape: millisecond precision, `Z`."""
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def build_metadata(
    ref: DataRef,
    version: int,
    content: bytes,
    *,
    content_type: str = "application/octet-stream",
    tags: dict[str, str] | None = None,
    lifetime: str = "infinite",
    garbage_collection: int | str = 10,
    owner: dict[str, str] | None = None,
    data_id: str | None = None,
) -> dict[str, Any]:
    """`Data.toData()` as swamp writes it, with `size` and `checksum` filled in."""
    tag_map = {"type": "resource", **(tags or {})}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in tag_map.items()):
        raise InvalidParams("tags must map strings to strings")
    # the model's own owner by default: what swamp's method runs write (src/domain/models/data_writer.ts)
    owner_def = owner or {"ownerType": "model-method", "ownerRef": ref.model_id}
    if not isinstance(owner_def, dict) or owner_def.get("ownerType") not in OWNER_TYPES:
        raise InvalidParams("owner.ownerType must be model-method, workflow-step or manual")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in owner_def.items()) \
            or not owner_def.get("ownerRef") or set(owner_def) - OWNER_FIELDS:
        raise InvalidParams(f"owner must map {', '.join(sorted(OWNER_FIELDS))} to strings, with a non-empty ownerRef")
    return {
        "id": data_id or str(uuid.uuid4()),
        "name": ref.name,
        "version": version,
        "contentType": content_type,
        "lifetime": lifetime,
        "garbageCollection": garbage_collection,
        "streaming": False,
        "tags": tag_map,
        "ownerDefinition": dict(owner_def),
        "createdAt": iso_now(),
        "size": len(content),
        "checksum": sha256_hex(content),
    }


class _QuotedDumper(yaml.SafeDumper):
    """String values double-quoted, keys plain, as swamp's YAML writer emits them."""

    def represent_mapping(self, tag: str, mapping: Any, flow_style: bool | None = None) -> yaml.MappingNode:
        node = super().represent_mapping(tag, mapping, flow_style)
        for key_node, _ in node.value:
            key_node.style = None
        return node


def _str_rep(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')


_QuotedDumper.add_representer(str, _str_rep)


def dump_metadata(metadata: dict[str, Any]) -> bytes:
    return yaml.dump(metadata, Dumper=_QuotedDumper, sort_keys=False, allow_unicode=True).encode()


class _PlainLoader(yaml.SafeLoader):
    """Safe YAML where timestamps stay strings (swamp's `createdAt` round-trips as written)."""


def _timestamp_as_str(loader: _PlainLoader, node: yaml.Node) -> str:
    return loader.construct_yaml_str(node)


_PlainLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_str)


def load_metadata(content: bytes) -> dict[str, Any]:
    try:
        value = yaml.load(content.decode("utf-8"), Loader=_PlainLoader)
    except (yaml.YAMLError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}
