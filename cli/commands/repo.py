"""`swamp repo add|ls|rm`: the repos the daemon serves."""

from __future__ import annotations

import argparse
import os
from typing import Any

from cli.context import CliContext

NAME = "repo"
HELP = "register, list and forget repos served by the daemon"


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="repo_action", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="register a repo (its datastore is resolved as swamp does)")
    add.add_argument("path", nargs="?", default=".", help="repo directory (default: cwd)")
    add.add_argument("--name", help="name to refer to it by (default: the directory name)")
    sub.add_parser("ls", help="registered repos and their datastores")
    rm = sub.add_parser("rm", help="forget a repo (data and datastore untouched)")
    rm.add_argument("name")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    if args.repo_action == "add":
        params: dict[str, Any] = {"path": os.path.abspath(args.path)}
        if args.name:
            params["name"] = args.name
        if os.environ.get("SWAMP_DATASTORE"):
            params["swamp_datastore"] = os.environ["SWAMP_DATASTORE"]
        ctx.output(ctx.call("repos.register", params),
                   lambda r: f"{r['name']}  {r['path']}  ({r['datastore']['type']})")
    elif args.repo_action == "ls":
        ctx.output(ctx.call("repos.list"), _table)
    else:
        ctx.output(ctx.call("repos.forget", {"name": args.name}), lambda r: f"forgot {args.name}")
    return 0


def _table(repos: list[dict[str, Any]]) -> str:
    if not repos:
        return "no repos registered"
    rows = [("NAME", "BACKEND", "PATH")]
    rows += [(r["name"], r.get("backend", "?") if "error" not in r else "error", r["path"]) for r in repos]
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{n:<{width}}  {b:<10}  {p}" for n, b, p in rows)
