"""`swamp events`: the daemon's event stream as JSON lines, until interrupted."""

from __future__ import annotations

import argparse
from typing import Any

from cli import exit_codes
from cli.context import CliContext

NAME = "events"
HELP = "follow the daemon's events as JSON lines (--topic, --where FIELD=VALUE, --since-start)"
UNDER_SWAMP = True
"""Also `swamp events`: swamp has no command of this name (src/cli/mod.ts)."""

EPILOG = """\
Each line is one event: {"ts", "seq", "topic", "type", ...}. Calls events carry the flight
"key", "method", "phase" (started, joined, detached, finished), the waiting "peer" {pid,
cmdline}, "waiters", and when finished its "outcome" and "duration".

  swamp events --topic calls | jq 'select(.type == "call.joined") | .peer.pid'
  swamp events --where peer.pid=4242 --where type=call.joined --where type=call.left

--where on one FIELD several times matches any of its values; different FIELDs must all match.
"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--topic", "-t", action="append", default=None, metavar="TOPIC",
                        help="only this topic (repeatable): daemon, cache, calls, jobs, vault, extensions, "
                             "datastore, context; default all")
    parser.add_argument("--where", "-w", action="append", default=[], metavar="FIELD=VALUE",
                        help="only events whose FIELD (a dotted path, e.g. peer.pid) equals VALUE (repeatable)")
    parser.add_argument("--since-start", action="store_true",
                        help="first replay the events the daemon kept since it started ([events] history)")


def parse_where(items: list[str]) -> dict[str, Any]:
    where: dict[str, list[Any]] = {}
    for item in items:
        field, sep, value = item.partition("=")
        if not sep or not field:
            raise ValueError(f"--where {item!r}: expected FIELD=VALUE")
        where.setdefault(field, []).append(value)
    return where


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from cli.follow import follow

    try:
        where = parse_where(args.where)
    except ValueError as exc:
        return ctx.fail(str(exc), kind="invalid_params", code=exit_codes.USAGE)
    params: dict[str, Any] = {"topics": args.topic or ["*"]}
    if where:
        params["where"] = where
    if args.since_start:
        params["since_start"] = True
    return follow(ctx, "events.subscribe", params, on_subscribed=_report_missed if args.since_start else None)


def _report_missed(result: dict[str, Any]) -> None:
    """With --since-start, say so first when the history no longer holds the oldest events."""
    from cli.follow import notice, write_line

    if result.get("missed"):
        write_line(notice("events.history_truncated", missed=result["missed"], replayed=result.get("replayed")))
