"""`swamp config show|path`: the host config file and what the daemon reads from it."""

from __future__ import annotations

import argparse
from typing import Any

from cli.context import CliContext

NAME = "config"
HELP = "show the host configuration"


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("show", help="the effective configuration (file + environment)")
    sub.add_parser("path", help="where the host config file lives")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from swampd.config import load_config

    config = load_config()
    if args.action == "path":
        ctx.output({"config_file": config.paths.config_file}, lambda r: r["config_file"])
        return 0
    summary = config.summary()
    ctx.output(summary, _human)
    return 0


def _human(summary: dict[str, Any]) -> str:
    lines = [f"config file: {summary['config_file']}", "", "[paths]"]
    lines += [f"{k} = {v!r}" for k, v in summary["paths"].items()]
    lines += ["", "[daemon]"]
    lines += [f"{k} = {v!r}" for k, v in summary["daemon"].items()]
    for name, table in summary["sections"].items():
        lines += ["", f"[{name}]"]
        lines += [f"{k} = {v!r}" for k, v in table.items()] if isinstance(table, dict) else [repr(table)]
    return "\n".join(lines)
