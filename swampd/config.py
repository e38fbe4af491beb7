"""The host config file (TOML) and the daemon's settings.

Each subsystem reads its own table through `Config.section(name)` and parses it into
its own settings class, so adding a subsystem never touches this module.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, field
from typing import Any

from swampd.errors import InvalidInput
from swampd.paths import Paths, resolve_paths


@dataclass(frozen=True)
class DaemonSettings:
    idle_timeout: float = 1800.0
    """Seconds without connections, jobs, flights or subscriptions before the daemon exits; 0 = never."""
    drain_grace: float = 10.0
    """Seconds SIGTERM waits for in-flight requests before cancelling them."""
    autostart: bool = True
    """Whether the CLI starts a daemon when none answers."""
    max_line_bytes: int = 16 * 1024 * 1024
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
    known = DaemonSettings.__dataclass_fields__
    unknown = sorted(set(daemon_table) - set(known))
    if unknown:
        raise InvalidInput(f"unknown [daemon] keys in {paths.config_file}: {', '.join(unknown)}")
    if "SWAMPD_AUTOSTART" in env:
        daemon_table["autostart"] = _env_bool(env["SWAMPD_AUTOSTART"])
    if "SWAMPD_IDLE_TIMEOUT" in env:
        daemon_table["idle_timeout"] = float(env["SWAMPD_IDLE_TIMEOUT"])
    if "SWAMPD_DRAIN_GRACE" in env:
        daemon_table["drain_grace"] = float(env["SWAMPD_DRAIN_GRACE"])
    try:
        daemon = DaemonSettings(**daemon_table)
    except TypeError as exc:
        raise InvalidInput(f"bad [daemon] table in {paths.config_file}: {exc}") from None
    sections = {k: v for k, v in raw.items() if k not in ("daemon", "autostart")}
    return Config(paths=paths, daemon=daemon, sections=sections)
