"""A project's `.swamp-sources.yaml`: read it, and add or remove entries in a round trip.

The format (reference §2.2): `{sources: [{path, only?: [kinds], installedSkills?}]}`.
Edits go through ruamel.yaml's round-trip mode with the file's own indentation, so the
user's other entries, comments, quoting and key order survive.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError as RuamelError
from ruamel.yaml.util import load_yaml_guess_indent

from swampd.errors import InvalidInput

SOURCES_FILE = ".swamp-sources.yaml"
ONLY_KINDS = ("models", "vaults", "drivers", "datastores", "reports", "workflows")


def validate(data: Any, where: str = SOURCES_FILE) -> list[dict[str, Any]]:
    """The `sources` entries of a parsed document, or InvalidInput if swamp would refuse it."""
    if data is None:
        return []
    if not isinstance(data, dict):
        raise InvalidInput(f"{where} must be a mapping with a 'sources' list")
    sources = data.get("sources")
    if sources is None:
        return []
    if not isinstance(sources, list):
        raise InvalidInput(f"{where}: 'sources' must be a list")
    for i, entry in enumerate(sources):
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str) or not entry["path"]:
            raise InvalidInput(f"{where}: sources[{i}] must be a mapping with a 'path' string")
        only = entry.get("only")
        if only is not None and (
            not isinstance(only, list) or any(k not in ONLY_KINDS for k in only)
        ):
            raise InvalidInput(f"{where}: sources[{i}].only must list kinds from {', '.join(ONLY_KINDS)}")
        skills = entry.get("installedSkills")
        if skills is not None and not isinstance(skills, list):
            raise InvalidInput(f"{where}: sources[{i}].installedSkills must be a list")
    return sources


def read_entries(text: str | None) -> list[dict[str, Any]]:
    """The validated `sources` entries of a file's text (empty when there is no file)."""
    if text is None:
        return []
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        raise InvalidInput(f"{SOURCES_FILE} is not valid YAML") from None
    return validate(data)


def _load(text: str) -> tuple[Any, YAML]:
    rt = YAML(typ="rt")
    rt.preserve_quotes = True
    rt.width = 4096
    try:
        _, indent, block_seq_indent = load_yaml_guess_indent(text)
        data = rt.load(text)
    except RuamelError:
        raise InvalidInput(f"{SOURCES_FILE} is not valid YAML") from None
    indent = indent or 2
    offset = block_seq_indent or 0
    rt.indent(mapping=indent, sequence=max(indent, offset + 2), offset=offset)
    validate(data)
    return data, rt


def _dump(rt: YAML, data: Any) -> str:
    out = io.StringIO()
    rt.dump(data, out)
    return out.getvalue()


def add_paths(text: str | None, paths: list[str], drop: Callable[[str], bool]) -> str:
    """The file's text with each of `paths` present once, after removing entries whose path
    satisfies `drop` (say, another version of an extension being linked)."""
    if text is None or not text.strip() or _load(text)[0] is None:
        prefix = "" if not text else (text if text.endswith("\n") else text + "\n")
        seq = CommentedSeq(CommentedMap(path=p) for p in paths)
        rt = YAML(typ="rt")
        return prefix + _dump(rt, CommentedMap(sources=seq))
    data, rt = _load(text)
    sources = data.get("sources")
    if not isinstance(sources, CommentedSeq):
        sources = CommentedSeq()
        data["sources"] = sources
    for i in range(len(sources) - 1, -1, -1):
        path = sources[i]["path"]
        if drop(path) and path not in paths:
            del sources[i]
    present = {entry["path"] for entry in sources}
    for path in paths:
        if path not in present:
            sources.append(CommentedMap(path=path))
    return _dump(rt, data)


def remove_paths(text: str, drop: Callable[[str], bool]) -> tuple[str, int]:
    """The file's text without the entries whose path satisfies `drop`, and how many remain."""
    data, rt = _load(text)
    if data is None or not isinstance(data.get("sources"), CommentedSeq):
        return text, 0
    sources = data["sources"]
    for i in range(len(sources) - 1, -1, -1):
        if drop(sources[i]["path"]):
            del sources[i]
    return _dump(rt, data), len(sources)
