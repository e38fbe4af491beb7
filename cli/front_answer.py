"""The accelerated path: one call to the daemon, swamp's bytes written out, swamp's exit code.

No argparse, no command table, no json: `swampd.client` and the wire helpers only. Anything but
a definite answer (no daemon and no autostart, an error, a `pass`) returns None and the front
hands the command line to the real swamp.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # `typing` costs milliseconds to import: the hot path leaves it to type checkers
    from typing import Any

    from swampd.client import Client

CALL_DEADLINE = 60.0
"""Seconds an answer may take before the real swamp is asked instead."""


def connect_front(timeout: float | None = CALL_DEADLINE) -> Client | None:
    """A client of the daemon (started when autostart allows), or None: then swamp answers."""
    from swampd.client import Client, DaemonUnavailable, autostart_enabled, start_daemon
    from swampd.paths import resolve_paths

    paths = resolve_paths()
    try:
        return Client(paths.socket, timeout=timeout)
    except DaemonUnavailable:
        return None  # a daemon is there but stalled: swamp answers
    except OSError:
        pass
    if not autostart_enabled(paths):
        return None
    try:
        start_daemon(paths)
        return Client(paths.socket, timeout=timeout)
    except (DaemonUnavailable, OSError):
        return None


def answer(argv: list[str], *, env: dict[str, str] | None = None) -> dict[str, Any] | None:
    """The daemon's answer for this command line, or None when swamp must answer."""
    from swampd.client import RpcError
    from swampd.front.wire import ANSWER_METHOD, ttys, wanted_env

    client = connect_front()
    if client is None:
        return None
    params = {"argv": argv, "cwd": os.getcwd(), "env": wanted_env(os.environ) if env is None else env,
              "ttys": ttys()}
    try:
        result = client.call(ANSWER_METHOD, params)
    except (RpcError, OSError, ValueError):
        return None
    finally:
        client.close()
    if not isinstance(result, dict) or "pass" in result:
        return None
    return result


def run(argv: list[str]) -> int | None:
    result = answer(argv)
    if result is None:
        return None
    out, err = result.get("stdout", ""), result.get("stderr", "")
    if out:
        sys.stdout.buffer.write(out.encode("utf-8", "surrogatepass"))
        sys.stdout.buffer.flush()
    if err:
        sys.stderr.buffer.write(err.encode("utf-8", "surrogatepass"))
        sys.stderr.buffer.flush()
    return int(result.get("exit", 1))
