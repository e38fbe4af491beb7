"""Model definitions found by name as swamp finds them (YamlDefinitionRepository.findByNameGlobal).

swamp walks `models/` (then `.swamp/auto-definitions/`) in directory order, parses every `*.yaml`
until one's `name` matches, and skips files that fail to parse or validate (with a warning in the
log format). The front walks the same way; a file it cannot judge with certainty before the match
(a symlink, an odd key, a value swamp's schema might read differently) makes the call pass.
Parsed files are cached by (mtime, size, inode).
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from swampd.front import jsyaml
from swampd.front.call import Pass, scan_dir

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$")
SCOPED_NAME = re.compile(r"^@[a-z0-9_-]+/[a-z0-9_-]+(/[a-z0-9_-]+)*$")
DEFINITION_KEYS = frozenset({"type", "typeVersion", "id", "name", "version", "tags", "globalArguments", "methods",
                             "inputs", "checks", "reports", "resources"})
_TYPE_SPLIT = re.compile(r"::|\s+|\.")


def normalize_type(raw: str) -> str:
    """ModelType.create(raw).normalized (ASCII only: other case rules differ between JS and Python)."""
    trimmed = raw.strip()
    if not trimmed or not trimmed.isascii():
        raise Pass("model_type")
    value = re.sub(r"/+", "/", _TYPE_SPLIT.sub("/", trimmed.lower())).strip("/")
    if not value:
        raise Pass("model_type")
    return value


@dataclass(frozen=True)
class Definition:
    id: str
    name: str
    type: str | None
    version: int
    data: dict[str, Any] = field(repr=False)

    def model_type(self, path_segments: list[str]) -> str:
        return normalize_type(self.type if self.type is not None else "/".join(path_segments))


class Invalid(Exception):
    """swamp's schema rejects this file for certain (it is skipped)."""


def _is_int(value: Any) -> TypeGuard[int | float]:
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, float) and value.is_integer())


def _str_map(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def check_definition(data: Any) -> Definition:
    """DefinitionSchema.parse, for the fields the front uses; Pass when unsure, Invalid when surely bad."""
    if not isinstance(data, dict):
        raise Invalid
    if not set(data) <= DEFINITION_KEYS:
        raise Pass("definition_keys")
    if any(data.get(k) is not None for k in ("inputs", "reports", "resources")):
        raise Pass("definition_keys")
    ident, name, version = data.get("id"), data.get("name"), data.get("version")
    if not isinstance(ident, str) or not isinstance(name, str) or not _is_int(version):
        raise Invalid
    if not UUID.match(ident):
        raise Pass("definition_id")
    if not name or ".." in name or "\\" in name or "\0" in name or ("/" in name and not SCOPED_NAME.match(name)):
        raise Invalid
    if version <= 0:
        raise Invalid
    kind = data.get("type")
    if kind is not None and not isinstance(kind, str):
        raise Invalid
    type_version = data.get("typeVersion")
    if type_version is not None and not isinstance(type_version, (str, int, float)):
        raise Invalid
    if "tags" in data and not _str_map(data["tags"]):
        raise Invalid
    for key in ("globalArguments", "methods"):
        if key in data and not (isinstance(data[key], dict) and all(isinstance(k, str) for k in data[key])):
            raise Invalid
    for method in data.get("methods", {}).values():
        if not isinstance(method, dict):
            raise Invalid
        args = method.get("arguments")
        if args is not None and not (isinstance(args, dict) and all(isinstance(k, str) for k in args)):
            raise Invalid
    checks = data.get("checks")
    if checks is not None and not (isinstance(checks, dict) and all(
            isinstance(checks.get(k, []), list) and all(isinstance(x, str) for x in checks.get(k, []))
            for k in ("require", "skip"))):
        raise Pass("definition_checks")
    return Definition(id=ident, name=name, type=kind, version=int(version), data=data)


class DefinitionIndex:
    """Parsed definition files, cached by stat; safe to use from worker threads."""

    def __init__(self, max_files: int = 8192) -> None:
        self._files: OrderedDict[str, tuple[tuple[int, int, int], Definition | str]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_files

    def _load(self, path: str, st: os.stat_result) -> Definition | str:
        """The file's Definition, or the word `invalid` / a Pass reason."""
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        with self._lock:
            hit = self._files.get(path)
            if hit is not None and hit[0] == stamp:
                self._files.move_to_end(path)
                return hit[1]
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
            result: Definition | str = check_definition(jsyaml.load(raw.decode("utf-8")))
        except Invalid:
            result = "invalid"
        except Pass as exc:
            result = exc.reason
        except (jsyaml.YamlError, UnicodeDecodeError):
            result = "definition_yaml"  # js-yaml might read what PyYAML does not: unsure
        except OSError:
            result = "definition_io"
        with self._lock:
            self._files[path] = (stamp, result)
            if len(self._files) > self._max:
                self._files.popitem(last=False)
        return result

    def find_by_name(self, repo_path: str, name: str, *, strict: bool) -> tuple[Definition, str] | None:
        """(definition, normalized type) of the first file named `name`, or None when there is none.

        strict: a file swamp would skip with a warning (printed in the log format) also passes.
        """
        for base in (os.path.join(repo_path, "models"), os.path.join(repo_path, ".swamp", "auto-definitions")):
            found = self._search(base, [], name, strict)
            if found is not None:
                return found
        return None

    def _search(self, directory: str, segments: list[str], name: str,
                strict: bool) -> tuple[Definition, str] | None:
        entries = scan_dir(directory, "definition_io")
        for entry in entries:
            if entry.is_symlink():
                raise Pass("definition_symlink")
            if entry.is_file(follow_symlinks=False) and entry.name.endswith(".yaml"):
                result = self._load(entry.path, entry.stat(follow_symlinks=False))
                if isinstance(result, Definition):
                    if result.name == name:
                        return result, result.model_type(segments)
                elif result == "invalid":
                    if strict:
                        raise Pass("broken_definition")
                else:
                    raise Pass(result)
            elif entry.is_dir(follow_symlinks=False):
                found = self._search(entry.path, [*segments, entry.name], name, strict)
                if found is not None:
                    return found
        return None
