"""Where swampd keeps its socket, state, cache, data and config.

Standard library only (the CLI's hot path imports this). `SWAMPD_HOME` puts everything
under one directory, which is what tests and throwaway setups want.
"""

from __future__ import annotations

import os

from swampd.envvars import ConfigError, absolute_dir

SOCKET_NAME = "swampd.sock"
MAX_SOCKET_PATH = 107
"""Bytes of a Unix socket path (sun_path is 108 bytes with its terminating NUL)."""


class Paths:
    """The directories and files of one swampd installation (a plain class: no dataclasses
    import on the CLI's hot path)."""

    __slots__ = ("cache_dir", "config_file", "data_dir", "runtime_dir", "state_dir")

    def __init__(self, runtime_dir: str, state_dir: str, cache_dir: str, data_dir: str, config_file: str) -> None:
        self.runtime_dir = runtime_dir
        """0700 dir holding the socket, the pidfile and the start lock."""
        self.state_dir = state_dir
        """Logs, the jobs database, the host vault's audit trail."""
        self.cache_dir = cache_dir
        """The hot tier."""
        self.data_dir = data_dir
        """Durable host-level data: extension store, repo registry, vault metadata index."""
        self.config_file = config_file
        """The host config file (TOML)."""

    def as_dict(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in
                ("runtime_dir", "state_dir", "cache_dir", "data_dir", "config_file")}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Paths) and self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash(tuple(self.as_dict().values()))

    def __repr__(self) -> str:
        return f"Paths({', '.join(f'{k}={v!r}' for k, v in self.as_dict().items())})"

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
    """Resolve the paths from the environment (XDG base dirs, with `SWAMPD_*` overrides).

    `SWAMPD_HOME`, `SWAMPD_RUNTIME_DIR` and `SWAMPD_CONFIG` must be absolute (ConfigError
    otherwise); a relative `XDG_*` dir is ignored, as the XDG Base Directory spec says. A socket
    path too long for a Unix socket is refused here, naming the variable to change.
    """
    env = os.environ if env is None else env
    home = env.get("HOME") or os.path.expanduser("~")

    def xdg(name: str, default: str) -> str:
        value = env.get(name)
        return value if value and os.path.isabs(value) else default

    root = absolute_dir("SWAMPD_HOME", env.get("SWAMPD_HOME"))
    if root:
        runtime = os.path.join(root, "run")
        state = os.path.join(root, "state")
        cache = os.path.join(root, "cache")
        data = os.path.join(root, "data")
        config = os.path.join(root, "config.toml")
    else:
        xdg_runtime = xdg("XDG_RUNTIME_DIR", "")
        runtime = os.path.join(xdg_runtime, "swampd") if xdg_runtime else os.path.join(home, ".swamp", "run")
        state = os.path.join(xdg("XDG_STATE_HOME", os.path.join(home, ".local", "state")), "swampd")
        cache = os.path.join(xdg("XDG_CACHE_HOME", os.path.join(home, ".cache")), "swampd")
        data = os.path.join(xdg("XDG_DATA_HOME", os.path.join(home, ".local", "share")), "swampd")
        config = os.path.join(xdg("XDG_CONFIG_HOME", os.path.join(home, ".config")), "swampd", "config.toml")
    config_file = env.get("SWAMPD_CONFIG")
    if config_file and not os.path.isabs(config_file):
        raise ConfigError(f"SWAMPD_CONFIG={config_file!r} is a relative path: use an absolute path")
    paths = Paths(
        runtime_dir=absolute_dir("SWAMPD_RUNTIME_DIR", env.get("SWAMPD_RUNTIME_DIR")) or runtime,
        state_dir=state,
        cache_dir=cache,
        data_dir=data,
        config_file=config_file or config,
    )
    size = len(os.fsencode(paths.socket))
    if size > MAX_SOCKET_PATH:
        source = next((n for n in ("SWAMPD_RUNTIME_DIR", "SWAMPD_HOME", "XDG_RUNTIME_DIR") if env.get(n)), "HOME")
        raise ConfigError(f"the socket path {paths.socket} is {size} bytes, longer than the {MAX_SOCKET_PATH} a Unix "
                          f"socket allows; set {source} (or SWAMPD_RUNTIME_DIR) to a shorter directory")
    return paths
