"""`swamp rpc METHOD [PARAMS_JSON|-]` (also `swampd rpc`): one call for scripts. The CLI's hot path.

Imports only `swampd.client` (standard library C modules): no argparse, no json.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

USAGE = "usage: {prog} rpc METHOD [PARAMS_JSON|-]  |  {prog} rpc --list [--json]\n"


def run_rpc(words: list[str], *, json_mode: bool, no_daemon: bool, prog: str = "swamp") -> int:
    from swampd.client import DaemonUnavailable, RpcError, dumps, loads

    if not words or words[0] in ("-h", "--help"):
        sys.stdout.write(USAGE.format(prog=prog))
        return 0 if words else 2
    listing = words[0] == "--list"
    method = "rpc.discover" if listing else words[0]
    params: Any = None
    if not listing and len(words) > 1:
        text = sys.stdin.read() if words[1] == "-" else words[1]
        try:
            params = loads(text) if text.strip() else None
        except ValueError:
            sys.stderr.write(dumps({"code": -32700, "message": "params are not valid JSON",
                                    "data": {"kind": "parse_error"}}) + "\n")
            return 2
        if params is not None and not isinstance(params, (dict, list)):
            sys.stderr.write(dumps({"code": -32602, "message": "params must be a JSON object or array",
                                    "data": {"kind": "invalid_params"}}) + "\n")
            return 2
    if len(words) > 2:
        sys.stderr.write(USAGE.format(prog=prog))
        return 2
    try:
        result = _call(method, params, no_daemon=no_daemon, prog=prog)
    except RpcError as exc:
        sys.stderr.write(dumps(exc.to_error()) + "\n")
        return 75 if exc.kind == "lock_timeout" else 1
    except DaemonUnavailable as exc:
        sys.stderr.write(dumps({"code": -32000, "message": str(exc), "data": {"kind": "daemon_unavailable"}}) + "\n")
        return 3
    if listing and not json_mode:
        for spec in result["methods"]:
            args = ", ".join(p["name"] + ("" if p["required"] else "?") for p in spec["params"])
            sys.stdout.write(f"{spec['name']}({args})\n    {spec['doc']}\n")
        return 0
    sys.stdout.write(dumps(result) + "\n")
    return 0


def _call(method: str, params: Any, *, no_daemon: bool, prog: str) -> Any:
    if no_daemon:
        from cli.context import CliContext

        return CliContext(no_daemon=True, prog=prog).call(method, params)
    from swampd.client import DaemonUnavailable, connect

    try:
        client = connect()
    except DaemonUnavailable as exc:
        from cli.context import CliContext

        sys.stderr.write(f"{prog}: {exc}; running in-process\n")
        return CliContext(no_daemon=True, prog=prog).call(method, params)
    try:
        return client.call(method, params)
    finally:
        client.close()
