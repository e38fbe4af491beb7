"""`swamp ctx put|get|ls|rm|watch`: the shared agent context (scoped JSON values with TTLs)."""

from __future__ import annotations

import argparse
import re
import sys
import time
from typing import Any

from cli import exit_codes
from cli.context import CliContext

NAME = "ctx"
HELP = "shared agent context: put, get, list, drop and watch scoped JSON values with TTLs"
UNDER_SWAMP = True
"""Also `swamp ctx`: swamp has no command of this name (src/cli/mod.ts)."""

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)?$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def duration(text: str) -> float:
    """`90`, `90s`, `10m`, `2h`, `1d` -> seconds."""
    match = _DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (e.g. 90, 90s, 10m, 2h, 1d)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    put = sub.add_parser("put", help="set SCOPE KEY to a JSON value (VALUE, or stdin with - or nothing)")
    put.add_argument("scope")
    put.add_argument("key")
    put.add_argument("value", nargs="?", default="-", help="JSON text; - (the default) reads stdin")
    put.add_argument("--text", action="store_true", help="store VALUE as a JSON string, as it is")
    put.add_argument("--ttl", type=duration, default=None,
                     help="how long it lives: 90, 90s, 10m, 2h, 1d (default: [context] default_ttl)")
    put.add_argument("--if-version", type=int, default=None, metavar="N",
                     help="only if the key is at version N now (0: only if it does not exist)")
    put.add_argument("--persist", metavar="REPO", default=None,
                     help="also write it to REPO's datastore as swamp data that swamp's GC removes after the ttl")
    get = sub.add_parser("get", help="print a key's value (--json: with version and ttl)")
    get.add_argument("scope")
    get.add_argument("key")
    ls = sub.add_parser("ls", help="list scopes, or the keys of SCOPE")
    ls.add_argument("scope", nargs="?")
    rm = sub.add_parser("rm", help="drop KEY from SCOPE, or the whole SCOPE")
    rm.add_argument("scope")
    rm.add_argument("key", nargs="?")
    watch = sub.add_parser("watch", help="print SCOPE's changes as JSON lines until interrupted")
    watch.add_argument("scope")
    watch.add_argument("--no-values", action="store_true", help="only keys and versions, not the new values")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    return ACTIONS[args.action](args, ctx)


def _put(args: argparse.Namespace, ctx: CliContext) -> int:
    from swampd.client import loads

    text = sys.stdin.read() if args.value == "-" else args.value
    if args.text:
        value: Any = text[:-1] if args.value == "-" and text.endswith("\n") else text
    else:
        try:
            value = loads(text)
        except ValueError:
            return ctx.fail("VALUE is not JSON (quote a string as '\"text\"', or store it as text with --text)",
                            kind="invalid_params", code=exit_codes.USAGE)
    params: dict[str, Any] = {"scope": args.scope, "key": args.key, "value": value}
    if args.ttl is not None:
        params["ttl"] = args.ttl
    if args.if_version is not None:
        params["if_version"] = args.if_version
    if args.persist:
        params.update(persist=True, repo=args.persist)
    ctx.output(ctx.call("context.put", params), human=_human_put)
    return exit_codes.OK


def _human_put(r: dict[str, Any]) -> str:
    from tui.format import duration as fmt_duration

    line = f"{r['scope']}/{r['key']}: version {r['version']}, {r['size']} bytes, expires in {fmt_duration(r['ttl'])}"
    if r.get("persisted"):
        p = r["persisted"]
        line += (f"\npersisted to {p.get('repo')}: data {p.get('type')}/{p.get('model_id')}/{p.get('name')} "
                 f"version {p.get('version')}, lifetime {p.get('lifetime')}")
    return line


def _get(args: argparse.Namespace, ctx: CliContext) -> int:
    from swampd.client import dumps

    ctx.output(ctx.call("context.get", {"scope": args.scope, "key": args.key}), human=lambda r: dumps(r["value"]))
    return exit_codes.OK


def _ls(args: argparse.Namespace, ctx: CliContext) -> int:
    params = {"scope": args.scope} if args.scope else {}
    ctx.output(ctx.call("context.list", params), human=_human_keys if args.scope else _human_scopes)
    return exit_codes.OK


def _human_scopes(r: dict[str, Any]) -> str:
    from tui.format import duration as fmt_duration
    from tui.format import size

    if not r["scopes"]:
        return "no context scopes"
    now = time.time()
    width = max(5, *(len(s["scope"]) for s in r["scopes"]))
    lines = [f"{'SCOPE':<{width}}  {'KEYS':>5}  {'SIZE':>10}  {'NEXT EXPIRY':>11}  {'LAST EXPIRY':>11}"]
    lines += [f"{s['scope']:<{width}}  {s['keys']:>5}  {size(s['bytes']):>10}  "
              f"{fmt_duration(s['next_expiry'] - now):>11}  {fmt_duration(s['last_expiry'] - now):>11}"
              for s in r["scopes"]]
    lines.append(f"store: {size(r['bytes'])} of {size(r['max_bytes'])}")
    return "\n".join(lines)


def _human_keys(r: dict[str, Any]) -> str:
    from tui.format import duration as fmt_duration
    from tui.format import size

    if not r["keys"]:
        return f"no keys in scope {r['scope']}"
    width = max(3, *(len(k["key"]) for k in r["keys"]))
    lines = [f"{'KEY':<{width}}  {'VERSION':>8}  {'SIZE':>10}  {'TTL LEFT':>9}"]
    lines += [f"{k['key']:<{width}}  {k['version']:>8}  {size(k['size']):>10}  {fmt_duration(k['ttl_left']):>9}"
              for k in r["keys"]]
    return "\n".join(lines)


def _rm(args: argparse.Namespace, ctx: CliContext) -> int:
    params = {"scope": args.scope}
    if args.key is not None:
        params["key"] = args.key
    what = f"{args.scope}/{args.key}" if args.key is not None else f"scope {args.scope}"
    result = ctx.call("context.drop", params)
    ctx.output(result, human=lambda r: f"dropped {r['dropped']} key(s) of {what}" if r["dropped"]
               else f"nothing to drop in {what}")
    return exit_codes.OK


def _watch(args: argparse.Namespace, ctx: CliContext) -> int:
    from cli.follow import follow

    return follow(ctx, "context.watch", {"scope": args.scope, "values": not args.no_values})


ACTIONS = {"put": _put, "get": _get, "ls": _ls, "rm": _rm, "watch": _watch}
