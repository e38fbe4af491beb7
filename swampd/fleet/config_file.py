"""Adding and removing `[fleet.hosts.NAME]` / `[fleet.serve.NAME]` entries in the host config file.

The file is the user's: an entry is appended or cut out as text, so comments, order and every
other table stay as they were. Each edit is checked by parsing the result (the entry must read
back exactly, and nothing else may change) before it replaces the file atomically.
"""

from __future__ import annotations

import fcntl
import os
import re
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from swampd.atomic_file import write_atomic
from swampd.errors import Conflict, InvalidInput, NotFound


def _toml_string(value: str) -> str:
    out = []
    for ch in value:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to the fleet config")


def _block(kind: str, name: str, table: dict[str, Any]) -> str:
    lines = [f"[fleet.{kind}.{_toml_string(name)}]"]
    lines += [f"{key} = {_toml_value(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n"


def _parse(text: str, path: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"config file {path} is not valid TOML ({exc}); fix it before editing the fleet") from None


def _entries(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    fleet = doc.get("fleet", {})
    section = fleet.get(kind, {}) if isinstance(fleet, dict) else {}
    return section if isinstance(section, dict) else {}


def _without(doc: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    """`doc` with the entry dropped (and its tables when they end up empty)."""
    fleet = dict(doc.get("fleet", {}))
    section = dict(fleet.get(kind, {}))
    section.pop(name, None)
    if section:
        fleet[kind] = section
    else:
        fleet.pop(kind, None)
    out = dict(doc)
    if fleet:
        out["fleet"] = fleet
    else:
        out.pop("fleet", None)
    return out


def _header_re(kind: str, name: str) -> re.Pattern[str]:
    escaped = re.escape(name)
    key = rf'(?:"{escaped}"|\'{escaped}\'|{escaped})'
    return re.compile(rf"^\s*\[\s*fleet\s*\.\s*{kind}\s*\.\s*{key}\s*\]\s*(?:#.*)?$")


@contextmanager
def _locked(path: str) -> Iterator[str]:
    """Hold the config file's edit lock; yields its current text ("" when it does not exist)."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=0o700, exist_ok=True)
    lock = os.open(os.path.join(directory, f".{os.path.basename(path)}.lock"),
                   os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with open(path, encoding="utf-8") as fh:
                yield fh.read()
        except FileNotFoundError:
            yield ""
    finally:
        os.close(lock)


def _write(path: str, text: str) -> None:
    try:
        mode = os.stat(path).st_mode & 0o777  # the user's file keeps its mode
    except FileNotFoundError:
        mode = 0o600
    write_atomic(path, text.encode("utf-8"), mode)


def _cut(text: str, path: str, kind: str, name: str) -> str:
    lines = text.splitlines(keepends=True)
    header = _header_re(kind, name)
    start = next((i for i, line in enumerate(lines) if header.match(line)), None)
    if start is None:
        raise InvalidInput(f"fleet entry {name} is written in a form swampd does not edit "
                           f"(not a [fleet.{kind}.{name}] table); edit {path} by hand")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
    while start > 0 and not lines[start - 1].strip():  # the blank line that separated it
        start -= 1
    return "".join(lines[:start] + lines[end:])


def add_entry(path: str, kind: str, name: str, table: dict[str, Any], *, replace: bool = False) -> bool:
    """Write `[fleet.KIND.NAME]`; returns True when an entry was replaced."""
    with _locked(path) as text:
        before = _parse(text, path)
        existed = name in _entries(before, kind)
        other = "serve" if kind == "hosts" else "hosts"
        if name in _entries(before, other):
            raise Conflict(f"fleet name {name} is already a {'serve endpoint' if other == 'serve' else 'host'}; "
                           "remove it first")
        if existed and not replace:
            raise Conflict(f"fleet {'host' if kind == 'hosts' else 'serve endpoint'} {name} exists already; "
                           "pass replace to change it")
        base = _cut(text, path, kind, name) if existed else text
        if base and not base.endswith("\n"):
            base += "\n"
        updated = base + ("\n" if base.strip() else "") + _block(kind, name, table)
        after = _parse(updated, path)
        if _entries(after, kind).get(name) != table or _without(after, kind, name) != _without(before, kind, name):
            raise InvalidInput(f"could not add fleet entry {name} to {path} without changing other settings; "
                               "edit it by hand")
        _write(path, updated)
        return existed


def remove_entry(path: str, kind: str, name: str) -> None:
    """Cut `[fleet.KIND.NAME]` out of the file."""
    with _locked(path) as text:
        before = _parse(text, path)
        if name not in _entries(before, kind):
            raise NotFound(f"no fleet {'host' if kind == 'hosts' else 'serve endpoint'} named {name} in {path}")
        updated = _cut(text, path, kind, name)
        after = _parse(updated, path)
        if after != _without(before, kind, name):
            raise InvalidInput(f"could not remove fleet entry {name} from {path} without changing other "
                               "settings; edit it by hand")
        _write(path, updated)


def read_fleet_table(path: str) -> dict[str, Any]:
    """The `[fleet]` table as the file says now (empty when there is no file)."""
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"config file {path} is not valid TOML: {exc}") from None
    fleet = doc.get("fleet", {})
    return fleet if isinstance(fleet, dict) else {}
