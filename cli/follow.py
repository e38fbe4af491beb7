"""Follow daemon events on stdout, one JSON object per line, flushed per event.

Shared by `swamp events` and `swamp ctx watch`. The stream ends with exit 0 on Ctrl-C, on
SIGTERM, when the reader of a pipe goes away, and when the daemon shuts down (after a final
line saying so); a daemon that vanishes without shutting down (killed) ends it with a final
line and the daemon-unavailable exit code, and so does one that stops answering the client's
liveness probes (sent after 5 s of silence, see docs/server.md).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from cli import exit_codes
from cli.context import CliContext
from swampd.client import CallTimeout, ConnectionClosed, RpcError, dumps

STOPPING = {"topics": ["daemon"], "where": {"type": "daemon.stopping"}}
"""A second subscription every follower makes: it learns of a shutdown whatever topics it follows."""


def event_line(params: dict[str, Any]) -> dict[str, Any]:
    """`{ts, seq, topic, **data}`: flat, so `jq 'select(.type == "call.joined") | .peer.pid'` works."""
    data = params.get("data")
    line: dict[str, Any] = {"ts": params.get("ts"), "seq": params.get("seq"), "topic": params.get("topic")}
    if isinstance(data, dict):
        line.update((k, v) for k, v in data.items() if k not in line)
    return line


def write_line(obj: dict[str, Any]) -> None:
    sys.stdout.write(dumps(obj) + "\n")
    sys.stdout.flush()


def notice(kind: str, **fields: Any) -> dict[str, Any]:
    """A line of the follower's own (topic `events`), shaped like the daemon's events."""
    return {"ts": time.time(), "seq": None, "topic": "events", "type": kind, **fields}


def follow(ctx: CliContext, method: str, params: dict[str, Any],
           on_subscribed: Callable[[dict[str, Any]], None] | None = None) -> int:
    """Subscribe with `method(params)` and print every event it delivers until the stream ends."""
    if ctx.no_daemon:
        return ctx.fail("following events needs the daemon (drop --no-daemon)", kind="invalid_params",
                        code=exit_codes.USAGE)
    signal.signal(signal.SIGTERM, lambda *_: _interrupt())
    try:
        return _follow(ctx, method, params, on_subscribed)
    except KeyboardInterrupt:
        return exit_codes.OK
    except BrokenPipeError:
        # The reader left (`| head`): stop quietly, and keep Python from complaining at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return exit_codes.OK


def _interrupt() -> None:
    raise KeyboardInterrupt


def _follow(ctx: CliContext, method: str, params: dict[str, Any],
            on_subscribed: Callable[[dict[str, Any]], None] | None) -> int:
    client = ctx.client()
    client.settimeout(None)
    # Both subscriptions in one batch: no event can fall between them.
    client.send([{"jsonrpc": "2.0", "method": method, "params": params, "id": 1},
                 {"jsonrpc": "2.0", "method": "events.subscribe", "params": STOPPING, "id": 2}])
    subs: dict[str, str] = {}  # subscription id -> "mine" | "watchdog"
    early: list[dict[str, Any]] = []
    stopping: str | None = None

    def handle(event: dict[str, Any]) -> None:
        nonlocal stopping
        role = subs.get(str(event.get("subscription")))
        if role == "watchdog":
            stopping = str((event.get("data") or {}).get("reason") or "stopping")
        elif role == "mine":
            write_line(event_line(event))

    while True:
        try:
            message = client.next_message(None)  # no deadline; a silent daemon gets liveness probes
        except (ConnectionClosed, ConnectionResetError):
            if stopping is not None:
                write_line(notice("events.end", reason="the daemon shut down", detail=stopping))
                return exit_codes.OK
            write_line(notice("events.end", reason="the connection to the daemon was lost"))
            return exit_codes.DAEMON_UNAVAILABLE
        except CallTimeout:
            write_line(notice("events.end", reason="the daemon stopped answering (no reply to a liveness probe)"))
            return exit_codes.DAEMON_UNAVAILABLE
        if isinstance(message, list):  # the batch reply
            for reply in message:
                if "error" in reply:
                    err = reply["error"]
                    raise RpcError(err.get("code", -32000), err.get("message", ""), err.get("data"))
                role = "mine" if reply.get("id") == 1 else "watchdog"
                subs[reply["result"]["subscription"]] = role
                if role == "mine" and on_subscribed is not None:
                    on_subscribed(reply["result"])
            for event in early:  # replayed history arrives before the batch reply
                handle(event)
            early.clear()
        elif isinstance(message, dict) and message.get("method") == "events.event":
            event = message.get("params") or {}
            if subs:
                handle(event)
            else:
                early.append(event)
