"""The host config file (TOML) and the daemon's settings.

Each subsystem reads its own table through `Config.section(name)` and parses it into
its own settings class, so adding a subsystem never touches this module.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

from swampd.errors import InvalidInput
from swampd.paths import Paths, resolve_paths

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


@dataclass(frozen=True)
class Config:
    paths: Paths
    daemon: DaemonSettings = field(default_factory=DaemonSettings)
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Any]:
        """The raw table `[name]` of the config file (empty when absent)."""
        value = self.sections.get(name, {})
        return value if isinstance(value, dict) else {}

    def summary(self) -> dict[str, Any]:
        """What `daemon.status` and `swamp config show` print: no secrets live in config."""
        return {
            "config_file": self.paths.config_file,
            "paths": self.paths.as_dict(),
            "daemon": asdict(self.daemon),
            "sections": self.sections,
        }


def _env_bool(value: str) -> bool:
    return value.strip().lower() not in ("0", "false", "no", "off", "")


def load_config(paths: Paths | None = None, env: dict[str, str] | None = None) -> Config:
    """Read the host config file and apply `SWAMPD_*` environment overrides."""
    env = dict(os.environ) if env is None else env
    paths = paths or resolve_paths(env)
    raw: dict[str, Any] = {}
    try:
        with open(paths.config_file, "rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        pass
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"config file {paths.config_file} is not valid TOML: {exc}") from None
    daemon_table = dict(raw.get("daemon", {}))
    if "autostart" in raw and "autostart" not in daemon_table:
        daemon_table["autostart"] = raw["autostart"]
    try:
        if "SWAMPD_AUTOSTART" in env:
            daemon_table["autostart"] = _env_bool(env["SWAMPD_AUTOSTART"])
        if "SWAMPD_IDLE_TIMEOUT" in env:
            daemon_table["idle_timeout"] = float(env["SWAMPD_IDLE_TIMEOUT"])
        if "SWAMPD_DRAIN_GRACE" in env:
            daemon_table["drain_grace"] = float(env["SWAMPD_DRAIN_GRACE"])
    except ValueError:
        raise InvalidInput("SWAMPD_IDLE_TIMEOUT and SWAMPD_DRAIN_GRACE must be numbers of seconds") from None
    try:
        daemon = settings_from_table(DaemonSettings, daemon_table, "daemon")
    except InvalidInput as exc:
        raise InvalidInput(f"{exc.message} (in {paths.config_file})") from None
    if daemon.idle_timeout < 0 or daemon.drain_grace < 0 or daemon.max_line_bytes < 1024:
        raise InvalidInput(f"[daemon] idle_timeout and drain_grace must be >= 0, max_line_bytes >= 1024 "
                           f"(in {paths.config_file})")
    if daemon.max_unfinished_bytes < daemon.max_line_bytes or daemon.frame_stall_timeout <= 0 \
            or daemon.max_batch < 1 or daemon.max_connections < 0 or daemon.max_connections_per_peer < 1:
        raise InvalidInput(f"[daemon] max_unfinished_bytes must be >= max_line_bytes, frame_stall_timeout > 0, "
                           f"max_batch >= 1, max_connections >= 0, max_connections_per_peer >= 1 "
                           f"(in {paths.config_file})")
    sections = {k: v for k, v in raw.items() if k not in ("daemon", "autostart")}
    return Config(paths=paths, daemon=daemon, sections=sections)
