"""Finding the real swamp CLI: a configured path, else the first `swamp` on PATH that is not ours.

Standard library only and no `shutil`: the `swamp` front end runs this on every passed-through
call. Both the front and the jobs driver use it, so they always agree on which binary is swamp.
"""

from __future__ import annotations

import os

OWN_MARKERS = (b"from cli.main import", b"cli.main:main", b"# swampd-front")
"""What the head of swampd's own `swamp` (pip console script or installed launcher) contains."""

CONFIG_HINT = "set SWAMPD_SWAMP_EXECUTABLE or `swamp_executable` under [jobs] in the host config"
INSTALL_HINT = "install swamp (https://github.com/swamp-club/swamp#installation) or " + CONFIG_HINT


class SwampBinaryError(Exception):
    """The real swamp CLI cannot be found (`missing`) or the configured one is ours (`own`)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


def is_own_front(path: str) -> bool:
    """True when `path` (symlinks followed) is swampd's own `swamp` front end, not swamp."""
    try:
        with open(os.path.realpath(path), "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return any(marker in head for marker in OWN_MARKERS)


def _executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_real_swamp(configured: str = "swamp", path_env: str | None = None) -> str:
    """The absolute path of the real swamp CLI; raises SwampBinaryError when there is none.

    A bare name is looked up on PATH, skipping swampd's own `swamp`; an explicit path that
    turns out to be swampd's front end is refused (it would exec itself forever).
    """
    if os.sep in configured:
        found = os.path.abspath(os.path.expanduser(configured))
        if not _executable(found):
            raise SwampBinaryError(f"swamp executable {configured} does not exist or is not executable; "
                                   + INSTALL_HINT, "missing")
        if is_own_front(found):
            raise SwampBinaryError(f"{configured} is swampd's own `swamp` front end, not the swamp CLI; "
                                   + CONFIG_HINT + " to the real binary", "own")
        return found
    search = os.environ.get("PATH", "") if path_env is None else path_env
    for directory in search.split(os.pathsep):
        if not directory:
            continue
        candidate = os.path.join(directory, configured)
        if _executable(candidate) and not is_own_front(candidate):
            return os.path.abspath(candidate)
    raise SwampBinaryError(f"no swamp CLI named {configured!r} on PATH (swampd's own `swamp` does not count); "
                           + INSTALL_HINT, "missing")


def configured_name(env: os._Environ[str] | dict[str, str] | None = None, config_file: str | None = None) -> str:
    """`SWAMPD_SWAMP_EXECUTABLE`, else `[jobs] swamp_executable` of the host config, else `swamp`.

    The config file is parsed only when it exists (tomllib is not free on the front's hot path).
    """
    env = os.environ if env is None else env
    value = env.get("SWAMPD_SWAMP_EXECUTABLE")
    if value:
        return value
    if config_file and os.path.exists(config_file):
        import tomllib

        try:
            with open(config_file, "rb") as fh:
                jobs = tomllib.load(fh).get("jobs", {})
        except (OSError, ValueError):
            return "swamp"
        if isinstance(jobs, dict) and isinstance(jobs.get("swamp_executable"), str) and jobs["swamp_executable"]:
            return str(jobs["swamp_executable"])
    return "swamp"
