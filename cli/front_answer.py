"""The accelerated path: one call to the daemon, swamp's bytes written out, swamp's exit code.

No argparse, no command table, no json: `swampd.client` and the wire helpers only. Anything but
a definite answer (no daemon and no autostart, an error, a `pass`) returns None and the front
hands the command line to the real swamp.
"""

from __future__ import annotations

import os
import sys

CALL_DEADLINE = 60.0
"""Seconds an answer may take before the real swamp is asked instead."""


def _client(paths: object) -> object | None:
    from swampd.client import Client, DaemonUnavailable, autostart_enabled, start_daemon

    try:
        return Client(paths.socket, timeout=CALL_DEADLINE)  # type: ignore[attr-defined]
    except DaemonUnavailable:
        return None  # a daemon is there but stalled: swamp answers
    except OSError:
        pass
    if not autostart_enabled(paths):  # type: ignore[arg-type]
        return None
    try:
        start_daemon(paths)  # type: ignore[arg-type]
        return Client(paths.socket, timeout=CALL_DEADLINE)  # type: ignore[attr-defined]
    except (DaemonUnavailable, OSError):
        return None


def answer(argv: list[str], *, env: dict[str, str] | None = None) -> dict | None:
    """The daemon's answer for this command line, or None when swamp must answer."""
    from swampd.client import RpcError
    from swampd.front.wire import ANSWER_METHOD, ttys, wanted_env
    from swampd.paths import resolve_paths

    client = _client(resolve_paths())
    if client is None:
        return None
    params = {"argv": argv, "cwd": os.getcwd(), "env": wanted_env(os.environ) if env is None else env,
              "ttys": ttys()}
    try:
        result = client.call(ANSWER_METHOD, params)  # type: ignore[attr-defined]
    except (RpcError, OSError, ValueError):
        return None
    finally:
        client.close()  # type: ignore[attr-defined]
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
