"""The dash's own corner of the host config: the `[dash]` table (theme, refresh).

tomllib reads the file; one key is written back by editing the text in place, so comments,
order and every other table survive untouched.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swampd.envvars import ConfigError, read_config_file

MIN_REFRESH = 1.0
"""The snapshot poll never runs faster than once a second (events carry the rest)."""


@dataclass(frozen=True)
class DashSettings:
    theme: str | None = None
    refresh: float = 2.0

    @classmethod
    def load(cls, config_file: str | os.PathLike[str] | None) -> DashSettings:
        table = read_table(config_file, "dash")
        theme = table.get("theme")
        refresh = table.get("refresh", 2.0)
        if not isinstance(refresh, int | float) or isinstance(refresh, bool):
            refresh = 2.0
        return cls(theme=theme if isinstance(theme, str) else None, refresh=max(MIN_REFRESH, float(refresh)))


def read_table(config_file: str | os.PathLike[str] | None, table: str) -> dict[str, Any]:
    if config_file is None:
        return {}
    try:  # never blocks: a FIFO or a device as the config file is refused, not read
        data = read_config_file(os.fspath(config_file))
        raw = tomllib.loads(data.decode("utf-8")) if data else {}
    except (ConfigError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    value = raw.get(table, {})
    return value if isinstance(value, dict) else {}


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def set_value(text: str, table: str, key: str, value: str) -> str:
    """`text` with `key = "value"` set under `[table]`, everything else preserved."""
    line = f"{key} = {_toml_string(value)}"
    header = re.compile(rf"^\s*\[{re.escape(table)}\]\s*(#.*)?$")
    any_header = re.compile(r"^\s*\[")
    key_line = re.compile(rf"^\s*{re.escape(key)}\s*=")
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if header.match(ln)), None)
    if start is None:
        tail = "" if not text or text.endswith("\n") else "\n"
        sep = "\n" if text.strip() else ""
        return f"{text}{tail}{sep}[{table}]\n{line}\n"
    end = next((i for i in range(start + 1, len(lines)) if any_header.match(lines[i])), len(lines))
    for i in range(start + 1, end):
        if key_line.match(lines[i]):
            lines[i] = line
            break
    else:
        lines.insert(start + 1, line)
    return "\n".join(lines) + "\n"


def save_theme(config_file: str | os.PathLike[str], theme: str) -> None:
    """Persist `[dash] theme` in the host config (created 0600 if missing), atomically."""
    path = Path(config_file)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    updated = set_value(text, "dash", "theme", theme)
    tomllib.loads(updated)  # never write a file the daemon could not read back
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(updated)
    os.replace(tmp, path)
