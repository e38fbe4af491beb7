"""`swamp model method run ...` through the daemon's coalescer: swamp's own output, live.

The daemon runs the real swamp with this command line, cwd and environment (once for every
identical concurrent caller) and streams its stdout and stderr back as `front.output`
notifications; this process writes them to its own stdout and stderr and exits with swamp's
exit code. Interrupted (Ctrl-C, SIGTERM, a closed pipe), it leaves: the run goes on for the
other callers and is cancelled when the last one leaves. Anything else goes to the real swamp.
"""

from __future__ import annotations

import os
import sys

INTERRUPTED_EXIT = 130


def run(argv: list[str]) -> int | None:
    from swampd.front.wire import ttys

    terminals = ttys()
    if any(terminals):
        return None  # swamp draws for a terminal (and may ask questions): let it
    from cli.front_answer import connect_front

    client = connect_front(timeout=None)
    if client is None:
        return None
    import base64

    from swampd.client import DaemonUnavailable, RpcError

    params = {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ), "ttys": terminals}
    wrote = False
    try:
        request_id = client.request("front.run", params)
        while True:
            message = client.next_message(None, method="front.run", request_id=request_id)
            if not isinstance(message, dict):
                continue
            if message.get("method") == "front.output" and "id" not in message:
                data = message.get("params", {})
                os.write(1 if data.get("fd") == 1 else 2, base64.b64decode(data.get("data", "")))
                wrote = True
                continue
            if message.get("id") != request_id:
                continue
            result = message.get("result")
            if "error" in message or not isinstance(result, dict) or "pass" in result:
                if wrote:
                    sys.stderr.write("swamp: swampd could not finish this run\n")
                    return 1
                return None
            if "interrupted" in result:
                sys.stderr.write(f"swamp: the run stopped in swampd: {result['interrupted']}\n")
            return int(result.get("exit", 1))
    except (KeyboardInterrupt, BrokenPipeError):
        return INTERRUPTED_EXIT
    except (RpcError, DaemonUnavailable, OSError, ValueError):
        if wrote:
            sys.stderr.write("swamp: lost the swampd daemon during this run\n")
            return 1
        return None
    finally:
        client.close()
