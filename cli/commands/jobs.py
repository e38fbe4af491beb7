"""`swamp jobs ls|show|logs [-f]|cancel [--all]|wait`."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from cli import exit_codes
from cli.context import CliContext

NAME = "jobs"
HELP = "list, inspect, follow, wait for and cancel jobs run by swampd"
UNDER_SWAMP = True
"""Also `swamp jobs`: swamp has no command of this name."""

STATES = ("queued", "running", "succeeded", "failed", "cancelled")


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    ls = sub.add_parser("ls", help="list jobs, newest first")
    ls.add_argument("--state", action="append", choices=STATES, help="only these states")
    ls.add_argument("-n", "--limit", type=int, default=50)
    show = sub.add_parser("show", help="one job's record")
    show.add_argument("id")
    logs = sub.add_parser("logs", help="a job's output")
    logs.add_argument("id")
    logs.add_argument("-f", "--follow", action="store_true", help="stream until the job ends")
    logs.add_argument("-n", "--tail", type=int, default=None, help="only the last N lines")
    cancel = sub.add_parser("cancel", help="cancel a job (SIGTERM, then SIGKILL after a grace)")
    cancel.add_argument("id", nargs="?")
    cancel.add_argument("--all", action="store_true", help="cancel every running or queued job")
    cancel.add_argument("--wait", type=float, default=None,
                        help="seconds to wait for the job to stop (default: the kill grace)")
    wait = sub.add_parser("wait", help="wait for a job to end; exit with its exit code")
    wait.add_argument("id")
    wait.add_argument("--timeout", type=float, default=None)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    return ACTIONS[args.action](args, ctx)


def _ls(args: argparse.Namespace, ctx: CliContext) -> int:
    params: dict[str, Any] = {"limit": args.limit}
    if args.state:
        params["state"] = args.state
    ctx.output(ctx.call("jobs.list", params), human=_human_list)
    return exit_codes.OK


def _human_list(result: dict[str, Any]) -> str:
    jobs = result["jobs"]
    if not jobs:
        return "no jobs"
    lines = [f"{'ID':<13} {'KIND':<8} {'STATE':<10} {'EXIT':>4} {'AGE':>8}  WHAT"]
    for j in jobs:
        what = (f"{j['model']}.{j['method']}" if j["kind"] in ("swamp", "swamp_cli")
                else f"workflow {j['spec'].get('workflow')}" if j["kind"] == "workflow"
                else " ".join(j["spec"].get("argv", []))[:60])
        if j["spec"].get("target"):
            what += f" @ {j['spec']['target']}"
        code = "" if j["exit_code"] is None else str(j["exit_code"])
        lines.append(f"{j['id']:<13} {j['kind']:<8} {j['state']:<10} {code:>4} "
                     f"{time.time() - j['created_at']:>7.0f}s  {what}")
    return "\n".join(lines)


def _show(args: argparse.Namespace, ctx: CliContext) -> int:
    ctx.output(ctx.call("jobs.get", {"id": args.id}), human=_human_record)
    return exit_codes.OK


def _human_record(j: dict[str, Any]) -> str:
    keys = ("id", "kind", "state", "model", "method", "pid", "pgid", "exit_code", "duration",
            "waiters", "log_path")
    lines = [f"{k:<10} {j.get(k)}" for k in keys if j.get(k) is not None]
    if j["spec"].get("target"):
        remote = j.get("remote") or {}
        where = remote.get("host") or j["spec"]["target"]
        ident = remote.get("id") or remote.get("run_id")
        lines.append(f"{'target':<10} {j['spec']['target']}" + (f" -> {where} ({remote.get('via')} {ident})"
                                                                   if remote else ""))
    if j.get("error"):
        lines.append(f"{'error':<10} {j['error'].get('code')}: {j['error'].get('message')}")
    return "\n".join(lines)


def _logs(args: argparse.Namespace, ctx: CliContext) -> int:
    if not args.follow or ctx.no_daemon:
        params: dict[str, Any] = {"id": args.id}
        if args.tail is not None:
            params["tail"] = args.tail
        result = ctx.call("jobs.logs", params)
        ctx.output(result, human=lambda r: "\n".join(r["lines"]))
        return exit_codes.OK
    from swampd.client import RpcError, dumps

    client = ctx.client()
    client.settimeout(None)
    request_id = client.request("jobs.logs", {"id": args.id, "follow": True})
    while True:
        message = client.next_message(None, method="jobs.logs")  # probes a daemon that goes silent
        if not isinstance(message, dict):
            continue
        if message.get("method") == "jobs.log" and "id" not in message:
            lines = message.get("params", {}).get("lines", [])
            if ctx.json:
                sys.stdout.write("".join(dumps({"line": line}) + "\n" for line in lines))
            else:
                sys.stdout.write("".join(line + "\n" for line in lines))
            sys.stdout.flush()
        elif message.get("id") == request_id:
            if "error" in message:
                err = message["error"]
                raise RpcError(err.get("code", -32000), err.get("message", ""), err.get("data"))
            return exit_codes.OK


def _cancel(args: argparse.Namespace, ctx: CliContext) -> int:
    if args.all == (args.id is not None):
        return ctx.fail("give a job id or --all", kind="invalid_params", code=exit_codes.USAGE)
    params: dict[str, Any] = {"all": True} if args.all else {"id": args.id}
    if args.wait is not None:
        params["wait"] = args.wait
    if not ctx.no_daemon:
        ctx.client().settimeout(None)
    result = ctx.call("jobs.cancel", params)
    if args.all:
        ctx.output(result, human=lambda r: "\n".join(
            f"{c['id']}: {c['status']} ({c['state']})" for c in r["cancelled"]) or "no jobs to cancel")
    else:
        ctx.output(result, human=lambda r: f"{r['id']}: {r['status']} ({r['state']})")
    return exit_codes.OK


def _wait(args: argparse.Namespace, ctx: CliContext) -> int:
    from cli.commands.run import report

    params: dict[str, Any] = {"id": args.id}
    if args.timeout is not None:
        params["timeout"] = args.timeout
    if not ctx.no_daemon:
        ctx.client().settimeout(None)
    record = ctx.call("jobs.wait", params)
    if record["kind"] == "swamp":
        return report(record, ctx, detached=False)
    ctx.output(record, human=_human_record)
    code = record.get("exit_code")
    if record["state"] == "succeeded":
        return exit_codes.OK
    return code if isinstance(code, int) and code > 0 else exit_codes.RPC_ERROR


ACTIONS = {"ls": _ls, "show": _show, "logs": _logs, "cancel": _cancel, "wait": _wait}
