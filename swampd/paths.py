"""Where swampd keeps its socket, state, cache, data and config.

Standard library only (the CLI's hot path imports this). `SWAMPD_HOME` puts everything
under one directory, which is what tests and throwaway setups want.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

SOCKET_NAME = "swampd.sock"


@dataclass(frozen=True)
class Paths:
    runtime_dir: str
    """0700 dir holding the socket, the pidfile and the start lock."""
    state_dir: str
    """Logs, the jobs database, the host vault's audit trail."""
    cache_dir: str
    """The hot tier."""
    data_dir: str
    """Durable host-level data: extension store, repo registry, vault metadata index."""
    config_file: str
    """The host config file (TOML)."""

    @property
    def socket(self) -> str:
        return os.path.join(self.runtime_dir, SOCKET_NAME)

    @property
    def pidfile(self) -> str:
        return os.path.join(self.runtime_dir, "swampd.pid")

    @property
    def lockfile(self) -> str:
        return os.path.join(self.runtime_dir, "swampd.lock")

    @property
    def log_file(self) -> str:
        return os.path.join(self.state_dir, "swampd.log")


def resolve_paths(env: os._Environ[str] | dict[str, str] | None = None) -> Paths:
    """Resolve the paths from the environment (XDG base dirs, with `SWAMPD_*` overrides)."""
    env = os.environ if env is None else env
    home = env.get("HOME") or os.path.expanduser("~")
    root = env.get("SWAMPD_HOME")
    if root:
        runtime = os.path.join(root, "run")
        state = os.path.join(root, "state")
        cache = os.path.join(root, "cache")
        data = os.path.join(root, "data")
        config = os.path.join(root, "config.toml")
    else:
        xdg_runtime = env.get("XDG_RUNTIME_DIR")
        runtime = (
            os.path.join(xdg_runtime, "swampd")
            if xdg_runtime
            else os.path.join(home, ".swamp", "run")
        )
        state = os.path.join(env.get("XDG_STATE_HOME") or os.path.join(home, ".local", "state"), "swampd")
        cache = os.path.join(env.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"), "swampd")
        data = os.path.join(env.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share"), "swampd")
        config = os.path.join(env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config"), "swampd", "config.toml")
    return Paths(
        runtime_dir=env.get("SWAMPD_RUNTIME_DIR") or runtime,
        state_dir=state,
        cache_dir=cache,
        data_dir=data,
        config_file=env.get("SWAMPD_CONFIG") or config,
    )
