"""One call of the front: the caller's argv, cwd, environment and terminals, and what swamp would do
around the command itself (which repo, which output mode, colours, log level).

Every `Pass` raised here or in a command module means: the front cannot be sure to print exactly
what swamp prints, so the real swamp answers. The reason is counted (`swamp daemon status`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from swampd.front.argv import Parsed

LOG_LEVELS = ("trace", "debug", "info", "warning", "error", "fatal")


class Pass(Exception):
    """Hand this call to the real swamp (the reason is a short stable word for the counters)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def scan_dir(directory: str, io_reason: str) -> list[os.DirEntry[str]]:
    """A directory's entries, none when it does not exist; any other error passes the call on."""
    try:
        return list(os.scandir(directory))
    except FileNotFoundError:
        return []
    except OSError:
        raise Pass(io_reason) from None


class Call:
    """The facts of one front call that every accelerated command needs."""

    def __init__(self, parsed: Parsed, cwd: str, env: Mapping[str, str], ttys: list[bool]) -> None:
        if not os.path.isabs(cwd):
            raise Pass("cwd")
        self.parsed = parsed
        self.cwd = cwd
        self.env = dict(env)
        self.ttys = ttys
        """isatty of the caller's stdin, stdout, stderr."""

    # -- output mode -------------------------------------------------------------------------

    @property
    def json(self) -> bool:
        return self.parsed.json

    @property
    def colour(self) -> bool:
        """@std/fmt/colors is on unless NO_COLOR is set (any value) or --no-color is given."""
        return "NO_COLOR" not in self.env and not self.parsed.globals.get("--no-color")

    def log_level(self, marker_level: Any = None) -> str:
        """swamp's effective console log level (src/cli/mod.ts globalAction)."""
        g = self.parsed.globals
        if g.get("--quiet"):
            return "error"
        if "--log-level" in g:
            level = _parse_level(str(g["--log-level"]))
        elif self.env.get("SWAMP_LOG_LEVEL"):
            level = _parse_level(self.env["SWAMP_LOG_LEVEL"])
        elif marker_level is not None:
            level = _parse_level(str(marker_level))
        else:
            level = "info"
        if g.get("--verbose") and level == "info":
            level = "debug"
        return level

    # -- where swamp keeps its user-level state ---------------------------------------------

    def home(self) -> str | None:
        return self.env.get("HOME") or self.env.get("USERPROFILE") or None

    def swamp_config_dir(self) -> str | None:
        if self.env.get("SWAMP_HOME"):
            return os.path.join(self.env["SWAMP_HOME"], "config")
        if self.env.get("XDG_CONFIG_HOME"):
            return os.path.join(self.env["XDG_CONFIG_HOME"], "swamp")
        home = self.env.get("HOME")
        return os.path.join(home, ".config", "swamp") if home else None

    def swamp_data_dir(self) -> str | None:
        if self.env.get("SWAMP_HOME"):
            return self.env["SWAMP_HOME"]
        home = self.home()
        return os.path.join(home, ".swamp") if home else None


def _parse_level(text: str) -> str:
    """logtape's parseLogLevel: the six names, case-insensitively; anything else makes swamp fail."""
    level = text.lower()
    if level not in LOG_LEVELS:
        raise Pass("log_level")
    return level
