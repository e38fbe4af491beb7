"""The host config file (TOML) and the daemon's settings.

Each subsystem reads its own table through `Config.section(name)` and parses it into
its own settings class; `TABLES` names every table and the class that checks it, so that a
misspelt table is refused and `Config.check_tables()` can refuse a bad value before the
daemon starts.
"""

from __future__ import annotations

import importlib
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

from swampd.envvars import ConfigError, parse_flag, parse_seconds, read_config_file
from swampd.errors import InvalidInput
from swampd.paths import Paths, resolve_paths

TABLES: dict[str, str | None] = {
    "daemon": None,  # DaemonSettings, below
    "cache": "swampd.storage.hottier:CacheSettings",
    "jobs": "swampd.jobs.settings:JobSettings",
    "vault": "swampd.vault.settings:VaultSettings",
    "extensions": "swampd.extensions.settings:ExtensionSettings",
    "fleet": "swampd.fleet.settings:FleetSettings",
    "front": "swampd.front.settings:FrontSettings",
    "events": "swampd.server.events:EventSettings",
    "context": "swampd.context.settings:ContextSettings",
    "dash": None,  # the console reads its own table (tui/settings.py)
}
"""Every table the host config may hold, with the settings class (`from_mapping`) that checks it.
A subsystem with a table of its own adds it here."""
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")

S = TypeVar("S")

_TYPE_WORDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def settings_from_table(cls: type[S], table: Mapping[str, Any], section: str) -> S:
    """Build a subsystem's settings dataclass from its `[section]` table.

    Unknown keys and values of the wrong type are refused with the table named; an integer
    is accepted where a float is expected (TOML writes `30` for thirty seconds). Each class
    checks its own ranges afterwards.
    """
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise InvalidInput(f"unknown [{section}] keys: {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, value in table.items():
        expected = type(known[name].default)
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not expected:
            raise InvalidInput(f"[{section}] {name} must be {_TYPE_WORDS.get(expected, expected.__name__)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidInput(f"[{section}] {name} must be a finite number, not {value}")
        values[name] = value
    return cls(**values)


@dataclass(frozen=True)
class DaemonSettings:
    idle_timeout: float = 1800.0
    """Seconds without connections, jobs, flights or subscriptions before the daemon exits; 0 = never."""
    drain_grace: float = 10.0
    """Seconds SIGTERM waits for in-flight requests before cancelling them."""
    autostart: bool = True
    """Whether the CLI starts a daemon when none answers."""
    max_line_bytes: int = 16 * 1024 * 1024
    max_batch: int = 1000
    """Most requests in one JSON-RPC batch."""
    max_connections: int = 0
    """Connections open at once; 0 = the file-descriptor limit minus a reserve."""
    max_connections_per_peer: int = 128
    """Connections one client process may hold."""
    max_unfinished_bytes: int = 64 * 1024 * 1024
    """Bytes all connections together may hold in frames not yet ended by a newline."""
    frame_stall_timeout: float = 30.0
    """Seconds an unfinished frame may go without a byte while other clients wait for the budget."""
    log_level: str = "info"
    log_max_bytes: int = 5 * 1024 * 1024
    log_backups: int = 3

    def check(self) -> None:
        """Refuse values out of range (types were checked by `settings_from_table`)."""
        problems = []
        if self.idle_timeout < 0 or self.drain_grace < 0:
            problems.append("idle_timeout and drain_grace must be >= 0")
        if self.max_line_bytes < 1024:
            problems.append("max_line_bytes must be >= 1024")
        if self.max_unfinished_bytes < self.max_line_bytes:
            problems.append("max_unfinished_bytes must be >= max_line_bytes")
        if self.frame_stall_timeout <= 0:
            problems.append("frame_stall_timeout must be > 0")
        if self.max_batch < 1:
            problems.append("max_batch must be >= 1")
        if self.max_connections < 0 or self.max_connections_per_peer < 1:
            problems.append("max_connections must be >= 0 (0 = from the fd limit), max_connections_per_peer >= 1")
        if self.log_level.lower() not in LOG_LEVELS:
            problems.append(f"log_level must be one of {', '.join(LOG_LEVELS)}, not {self.log_level!r}")
        if self.log_max_bytes < 1024 or self.log_backups < 0:
            problems.append("log_max_bytes must be >= 1024 and log_backups >= 0")
        if problems:
            raise InvalidInput(f"[daemon] {'; '.join(problems)}")


@dataclass(frozen=True)
class Config:
    paths: Paths
    daemon: DaemonSettings = field(default_factory=DaemonSettings)
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Any]:
        """The raw table `[name]` of the config file (empty when absent)."""
        value = self.sections.get(name, {})
        return value if isinstance(value, dict) else {}

    def check_tables(self) -> None:
        """Parse every table with its subsystem's settings class: a bad value is refused now, with
        the file named, rather than when the subsystem is first used. Imports those modules."""
        for name, table in self.sections.items():
            target = TABLES.get(name)
            if target is None:
                continue
            module, _, cls = target.partition(":")
            settings = getattr(importlib.import_module(module), cls)
            try:
                settings.from_mapping(dict(table))
            except InvalidInput as exc:
                raise InvalidInput(f"{exc.message} (in {self.paths.config_file})") from None

    def summary(self) -> dict[str, Any]:
        """What `daemon.status` and `swamp config show` print: no secrets live in config."""
        return {
            "config_file": self.paths.config_file,
            "paths": self.paths.as_dict(),
            "daemon": asdict(self.daemon),
            "sections": self.sections,
        }


def load_config(paths: Paths | None = None, env: dict[str, str] | None = None) -> Config:
    """Read the host config file and apply `SWAMPD_*` environment overrides.

    Every refusal is an InvalidInput naming the file (or variable), the key and what is
    allowed; unknown tables and keys are refused.
    """
    env = dict(os.environ) if env is None else env
    try:
        paths = paths or resolve_paths(env)
        raw = _read_toml(paths.config_file)
        daemon_table = _daemon_table(raw, paths.config_file)
        daemon_env = {
            "autostart": parse_flag("SWAMPD_AUTOSTART", env.get("SWAMPD_AUTOSTART")),
            "idle_timeout": parse_seconds("SWAMPD_IDLE_TIMEOUT", env.get("SWAMPD_IDLE_TIMEOUT")),
            "drain_grace": parse_seconds("SWAMPD_DRAIN_GRACE", env.get("SWAMPD_DRAIN_GRACE")),
        }
    except ConfigError as exc:
        raise InvalidInput(str(exc)) from None
    try:
        daemon = settings_from_table(DaemonSettings, daemon_table, "daemon")
        daemon.check()
    except InvalidInput as exc:
        raise InvalidInput(f"{exc.message} (in {paths.config_file})") from None
    overrides = {k: v for k, v in daemon_env.items() if v is not None}
    if overrides:
        daemon = DaemonSettings(**{**asdict(daemon), **overrides})
    sections = {k: v for k, v in raw.items() if k not in ("daemon", "autostart")}
    return Config(paths=paths, daemon=daemon, sections=sections)


def _read_toml(path: str) -> dict[str, Any]:
    data = read_config_file(path)
    if data is None:
        return {}
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def _daemon_table(raw: dict[str, Any], path: str) -> dict[str, Any]:
    """The `[daemon]` table (with the legacy top-level `autostart`); unknown tables refused."""
    unknown = sorted(k for k in raw if k not in TABLES and k != "autostart")
    if unknown:
        raise ConfigError(f"config file {path}: unknown table(s) or key(s) {', '.join(unknown)}; "
                          f"known tables: {', '.join(TABLES)}")
    for name in TABLES:
        if name in raw and not isinstance(raw[name], dict):
            raise ConfigError(f"config file {path}: {name} must be a table ([{name}])")
    daemon_table = dict(raw.get("daemon", {}))
    if "autostart" in raw and "autostart" not in daemon_table:
        daemon_table["autostart"] = raw["autostart"]
    return daemon_table
