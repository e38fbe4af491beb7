"""swamp's data reads on its filesystem layout (FileSystemUnifiedDataRepository), exactly.

`.swamp/data/{type}/{modelId}/{name}/{version}/raw|metadata.yaml` and `{name}/latest`. The rules
copied here: `latest` is read with JavaScript's parseInt (then a symlink, then the highest version
directory); a latest lookup follows `renamedTo` up to five hops; metadata is validated as swamp's
DataMetadataSchema (a file the front cannot judge for certain makes the call pass). Parsed
metadata is cached by (mtime, size, inode): every call still stats what it reads, so an answer is
never staler than the files.
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from swampd.front import jsyaml
from swampd.front.call import Pass, scan_dir
from swampd.front.definitions import UUID

MAX_RENAME_DEPTH = 5
DURATION = re.compile(r"^\d+(mo|y|h|m|d|w)$")
ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
OWNER_KEYS = ("definitionHash", "ownerType", "ownerRef", "workflowId", "workflowRunId", "workflowName", "jobName",
              "stepName", "source")
METADATA_KEYS = frozenset({"name", "id", "version", "contentType", "lifetime", "garbageCollection", "streaming",
                           "tags", "ownerDefinition", "createdAt", "size", "checksum", "lifecycle", "renamedTo"})


def js_parse_int(text: str) -> int | None:
    """JavaScript's parseInt(text, 10) on a trimmed string (None for NaN)."""
    m = re.match(r"[+-]?\d+", text.strip(" \t\n\r\v\f\u00a0\ufeff"))
    return int(m.group(0)) if m else None


@dataclass(frozen=True)
class DataItem:
    """Data.fromData(metadata): the fields swamp's commands print."""

    id: str
    name: str
    version: int
    content_type: str
    lifetime: str
    garbage_collection: int | str
    streaming: bool
    tags: dict[str, str]
    owner: dict[str, str]
    created_at: str
    size: int | None
    checksum: str | None
    lifecycle: str
    renamed_to: str | None

    @property
    def type(self) -> str:
        return self.tags["type"]


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def check_metadata(data: Any) -> DataItem:
    """DataMetadataSchema.parse + Data.fromData; Pass when the front is not certain swamp agrees."""
    if not isinstance(data, dict) or not set(data) <= METADATA_KEYS:
        raise Pass("metadata")
    name, ident, version = data.get("name"), data.get("id"), _int(data.get("version"))
    if not isinstance(name, str) or not name or any(s in name for s in ("..", "/", "\\", "\0")):
        raise Pass("metadata")
    if not isinstance(ident, str) or not UUID.match(ident) or version is None or version < 1:
        raise Pass("metadata")
    content_type = data.get("contentType")
    if not isinstance(content_type, str) or not content_type:
        raise Pass("metadata")
    lifetime = data.get("lifetime")
    if not isinstance(lifetime, str) or not (DURATION.match(lifetime) or lifetime in (
            "ephemeral", "infinite", "job", "workflow")):
        raise Pass("metadata")
    m = re.match(r"^(\d+)(mo|y|h|m|d|w)$", lifetime)
    if m and int(m.group(1)) == 0:
        lifetime = "workflow"  # normalizeLifetime
    gc = data.get("garbageCollection")
    gc_int = _int(gc)
    if gc_int is not None:
        if gc_int < 1:
            raise Pass("metadata")
        gc = gc_int
    elif not (isinstance(gc, str) and DURATION.match(gc) and int(re.match(r"\d+", gc).group(0)) > 0):  # type: ignore[union-attr]
        raise Pass("metadata")
    streaming = data.get("streaming", False)
    if not isinstance(streaming, bool):
        raise Pass("metadata")
    tags = data.get("tags")
    if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()) \
            or "type" not in tags:
        raise Pass("metadata")
    owner = data.get("ownerDefinition")
    if not isinstance(owner, dict) or not set(owner) <= set(OWNER_KEYS) or not all(
            isinstance(v, str) for v in owner.values()):
        raise Pass("metadata")
    if owner.get("ownerType") not in ("model-method", "workflow-step", "manual") or not owner.get("ownerRef"):
        raise Pass("metadata")
    if "definitionHash" in owner and not owner["definitionHash"]:
        raise Pass("metadata")
    for key in ("workflowId", "workflowRunId"):
        if key in owner and not UUID.match(owner[key]):
            raise Pass("metadata")
    created = data.get("createdAt")
    if not isinstance(created, str) or isinstance(created, jsyaml.JsDate) or not ISO_DATETIME.match(created):
        raise Pass("metadata")
    size = data.get("size")
    if size is not None:
        size = _int(size)
        if size is None or size < 0:
            raise Pass("metadata")
    checksum = data.get("checksum")
    if checksum is not None and not isinstance(checksum, str):
        raise Pass("metadata")
    lifecycle = data.get("lifecycle", "active")
    if lifecycle not in ("active", "deleted"):
        raise Pass("metadata")
    renamed = data.get("renamedTo")
    if renamed is not None and (not isinstance(renamed, str) or not renamed):
        raise Pass("metadata")
    return DataItem(id=ident, name=name, version=version, content_type=content_type, lifetime=lifetime,
                    garbage_collection=gc, streaming=streaming, tags=dict(tags),
                    owner={k: owner[k] for k in OWNER_KEYS if k in owner}, created_at=iso_millis(created),
                    size=size, checksum=checksum, lifecycle=lifecycle, renamed_to=renamed)


def iso_millis(text: str) -> str:
    """new Date(text).toISOString() for a `...Z` ISO time: milliseconds, always three digits."""
    head, dot, frac = text[:-1].partition(".")
    if not dot:
        return f"{head}.000Z"
    return f"{head}.{(frac + '000')[:3]}Z"


class SwampStore:
    """One daemon-wide cache of parsed metadata files (thread-safe)."""

    def __init__(self, max_files: int = 65536) -> None:
        self._meta: OrderedDict[str, tuple[tuple[int, int, int], DataItem | str]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_files

    # -- swamp's repository methods ------------------------------------------------------

    @staticmethod
    def model_dir(data_dir: str, model_type: str, model_id: str) -> str:
        return os.path.join(data_dir, *model_type.split("/"), model_id)

    @staticmethod
    def latest_version(name_dir: str) -> int | None:
        path = os.path.join(name_dir, "latest")
        try:
            with open(path, "rb") as fh:
                version = js_parse_int(fh.read().decode("utf-8", "replace"))
            if version is not None:
                return version
        except OSError:
            pass
        try:
            version = js_parse_int(os.readlink(path).rstrip("/"))
            if version is not None:
                return version
        except OSError:
            pass
        versions = SwampStore.list_versions(name_dir)
        return max(versions) if versions else None

    @staticmethod
    def list_versions(name_dir: str) -> list[int]:
        entries = scan_dir(name_dir, "data_io")
        out = []
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False) or entry.name == "latest":
                continue
            version = js_parse_int(entry.name)
            if version is not None and version > 0:
                out.append(version)
        return sorted(out)

    def metadata(self, path: str) -> DataItem | None:
        """The validated metadata at `path` (None when the file does not exist)."""
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        except OSError:
            raise Pass("data_io") from None
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        with self._lock:
            hit = self._meta.get(path)
            if hit is not None and hit[0] == stamp:
                self._meta.move_to_end(path)
                result = hit[1]
                if isinstance(result, str):
                    raise Pass(result)
                return result
        try:
            with open(path, "rb") as fh:
                text = fh.read().decode("utf-8")
            result = check_metadata(jsyaml.load(text))
        except FileNotFoundError:
            return None
        except Pass as exc:
            result = exc.reason
        except (jsyaml.YamlError, UnicodeDecodeError, OSError):
            result = "metadata"
        with self._lock:
            self._meta[path] = (stamp, result)
            if len(self._meta) > self._max:
                self._meta.popitem(last=False)
        if isinstance(result, str):
            raise Pass(result)
        return result

    def find_by_name(self, model_dir: str, name: str, version: int | None = None) -> DataItem | None:
        for _ in range(MAX_RENAME_DEPTH + 1):
            name_dir = os.path.join(model_dir, name)
            wanted = version if version is not None else self.latest_version(name_dir)
            if wanted is None:
                return None
            item = self.metadata(os.path.join(name_dir, str(wanted), "metadata.yaml"))
            if item is None:
                return None
            if version is None and item.renamed_to is not None and _is_renamed(item):
                name = item.renamed_to
                continue
            return item
        raise Pass("rename_chain")  # swamp warns and answers not found past five hops

    def find_all_for_model(self, model_dir: str) -> list[DataItem]:
        entries = scan_dir(model_dir, "data_io")
        seen: set[str] = set()
        out = []
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                continue
            item = self.find_by_name(model_dir, entry.name)
            if item is not None and item.name not in seen:
                seen.add(item.name)
                out.append(item)
        return out

    @staticmethod
    def content(model_dir: str, name: str, version: int) -> bytes | None:
        try:
            with open(os.path.join(model_dir, name, str(version), "raw"), "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            return None
        except OSError:
            raise Pass("data_io") from None


def _is_renamed(item: DataItem) -> bool:
    """Data.isRenamed: swamp's tombstone of a rename (a deleted latest that names its successor)."""
    return item.lifecycle == "deleted" and item.renamed_to is not None
