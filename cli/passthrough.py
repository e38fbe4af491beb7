"""Handing a command line to the real swamp: `exec`, so argv, stdio, env, cwd and tty are its own."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from swampd.paths import Paths

NOT_FOUND_EXIT = 127
"""A shell's code for a command it cannot find."""
CANNOT_EXEC_EXIT = 126

def real_swamp(paths: Paths | None = None) -> str:
    """The real swamp binary, or exit with a message saying how to install or configure it."""
    from swampd.paths import resolve_paths
    from swampd.swamp_binary import SwampBinaryError, configured_name, find_real_swamp

    try:
        return find_real_swamp(configured_name(config_file=(paths or resolve_paths()).config_file))
    except SwampBinaryError as exc:
        sys.stderr.write(f"swamp: {exc.message}\n")
        raise SystemExit(NOT_FOUND_EXIT) from None


def count(outcome: bytes, paths: Paths | None = None) -> None:
    """Record one passed-through call for `swamp daemon status` (`p` plain, `f` fallback)."""
    from swampd.front.counters import COUNTER_FILE
    from swampd.paths import resolve_paths

    try:
        fd = os.open(os.path.join((paths or resolve_paths()).runtime_dir, COUNTER_FILE), os.O_WRONLY | os.O_APPEND)
    except OSError:
        return
    try:
        os.write(fd, outcome)
    except OSError:
        pass
    finally:
        os.close(fd)


def exec_swamp(argv: list[str], outcome: bytes = b"p") -> int:
    """Replace this process with the real swamp running `argv`; returns only when exec fails."""
    from swampd.paths import resolve_paths

    paths = resolve_paths()
    executable = real_swamp(paths)
    count(outcome, paths)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execv(executable, [executable, *argv])
    except OSError as exc:
        sys.stderr.write(f"swamp: cannot run {executable}: {exc.strerror}\n")
    return CANNOT_EXEC_EXIT
