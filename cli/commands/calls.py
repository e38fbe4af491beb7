"""`swamp calls`: identical in-flight calls that swampd runs once."""

from __future__ import annotations

import argparse
from typing import Any

from cli.context import CliContext

NAME = "calls"
HELP = "list in-flight coalesced calls (flights), their waiters; stats; cancel"
UNDER_SWAMP = True
"""Also `swamp calls`: swamp has no command of this name."""


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=False, metavar="ACTION")
    sub.add_parser("ls", help="list flights (the default)")
    sub.add_parser("stats", help="flights and waiters now; coalesced calls, executions saved")
    cancel = sub.add_parser("cancel", help="cancel a flight for every waiter")
    cancel.add_argument("key")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    if args.action == "stats":
        ctx.output(ctx.call("calls.stats"), human=_human_stats)
    elif args.action == "cancel":
        ctx.output(ctx.call("calls.cancel", {"key": args.key}),
                   human=lambda r: f"cancelled {r['method']} ({r['waiters']} waiter(s))")
    else:
        ctx.output(ctx.call("calls.inflight"), human=_human_list)
    return 0


def _human_list(result: dict[str, Any]) -> str:
    calls = result["calls"]
    if not calls:
        return "no calls in flight"
    lines = [f"{'KEY':<14} {'METHOD':<16} {'MODEL':<16} {'AGE':>8} {'WAITERS':>7}  PEERS"]
    for c in calls:
        peers = ", ".join(f"{p['pid']} {p['cmdline'][:40]}" for p in c["peers"] if p) or "-"
        held = " (held)" if c.get("held") else ""
        lines.append(f"{c['key'][:12]:<14} {c['method']:<16} {c['model'] or '-':<16} "
                     f"{c['age']:>7.1f}s {c['waiters']:>7}  {peers}{held}")
    return "\n".join(lines)


def _human_stats(s: dict[str, Any]) -> str:
    return "\n".join(f"{k:<18} {v}" for k, v in s.items())
