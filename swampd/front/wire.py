"""What the `swamp` front sends the daemon for one call (standard library only: the hot path)."""

from __future__ import annotations

import os

ENV_PREFIXES = ("SWAMP_", "XDG_", "LC_", "OTEL_")
ENV_NAMES = ("HOME", "USERPROFILE", "NO_COLOR", "LANG", "LANGUAGE", "TZ", "PATH", "GIT_DIR", "GIT_WORK_TREE",
             "GIT_CEILING_DIRECTORIES", "SWAMPD_SWAMP_EXECUTABLE")
"""The environment a read needs: what swamp reads, nothing more (a method run sends all of it)."""

ANSWER_METHOD = "front.answer"


def wanted_env(environ: os._Environ[str] | dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in environ.items() if k.startswith(ENV_PREFIXES) or k in ENV_NAMES}


def ttys() -> list[bool]:
    """isatty of stdin, stdout, stderr (swamp's output depends on them in places)."""
    return [os.isatty(0), os.isatty(1), os.isatty(2)]
