"""`swamp run MODEL METHOD`: a model method run through the daemon (deduped), or directly."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from cli import exit_codes
from cli.context import CliContext

NAME = "run"
HELP = "run a model method through swampd (identical concurrent runs execute once)"

CANCELLED_EXIT = 130


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="model name (or id)")
    parser.add_argument("method", help="method name")
    parser.add_argument("--arg", "--input", dest="inputs", action="append", default=[],
                        metavar="K=V", help="method input (repeatable); K:json=V parses V as JSON")
    parser.add_argument("--repo", default=None, help="swamp repo directory (default: cwd)")
    parser.add_argument("--no-dedupe", action="store_true",
                        help="always run, even when an identical run is in flight")
    parser.add_argument("--detach", action="store_true",
                        help="submit the job and print its id; it runs on without you")


def parse_inputs(pairs: list[str]) -> dict[str, Any]:
    import json

    inputs: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"swamp run: --arg wants K=V, got {pair!r}")
        if key.endswith(":json"):
            try:
                inputs[key[: -len(":json")]] = json.loads(value)
            except ValueError:
                raise SystemExit(f"swamp run: --arg {key}: value is not JSON") from None
        else:
            inputs[key] = value
    return inputs


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from swampd.client import DaemonUnavailable

    inputs = parse_inputs(args.inputs)
    repo = os.path.abspath(args.repo or os.getcwd())
    if not ctx.no_daemon:
        try:
            client = ctx.client()
        except DaemonUnavailable as exc:
            if args.detach:
                raise
            sys.stderr.write(f"swamp: {exc}; running swamp directly\n")
        else:
            client.settimeout(None)
            params = {"kind": "swamp", "model": args.model, "method": args.method,
                      "inputs": inputs, "repo": repo, "wait": not args.detach,
                      "dedupe": not args.no_dedupe}
            record = client.call("jobs.submit", params)
            return report(record, ctx, detached=args.detach)
    if args.detach:
        return ctx.fail("--detach needs the daemon", kind="daemon_unavailable",
                        code=exit_codes.DAEMON_UNAVAILABLE)
    return run_directly(args.model, args.method, inputs, repo, ctx)


def report(record: dict[str, Any], ctx: CliContext, *, detached: bool) -> int:
    """Print what swamp itself would print, and exit with its exit code."""
    from swampd.client import dumps

    if detached:
        ctx.output({"id": record["id"], "state": record["state"]},
                   human=lambda r: f"job {r['id']} {r['state']}")
        return exit_codes.OK
    state = record["state"]
    if state == "succeeded":
        ctx.output(record["result"], human=_human_result)
        return exit_codes.OK
    error = record.get("error") or {}
    if ctx.json:
        if record.get("result") is not None:
            sys.stdout.write(dumps(record["result"]) + "\n")
        sys.stderr.write(dumps({"error": error.get("message", state),
                                "code": error.get("code", state)}) + "\n")
    else:
        sys.stderr.write(f"swamp: job {record['id']} {state}: {error.get('message', '')}\n")
    if state == "cancelled":
        return CANCELLED_EXIT
    code = record.get("exit_code")
    return code if isinstance(code, int) and code > 0 else exit_codes.RPC_ERROR


def _human_result(result: dict[str, Any]) -> str:
    artifacts = result.get("dataArtifacts") or []
    lines = [
        f"{result.get('modelName')}.{result.get('methodName')}: {result.get('status')} "
        f"in {result.get('duration')} s (output {result.get('outputId')})",
    ]
    lines += [f"  data {a.get('name')}: {a.get('path')}" for a in artifacts]
    return "\n".join(lines)


def run_directly(model: str, method: str, inputs: dict[str, Any], repo: str, ctx: CliContext) -> int:
    """No daemon: run the real swamp CLI in the foreground, as it would be run by hand."""
    import subprocess

    from swampd.config import load_config
    from swampd.errors import SwampdError
    from swampd.jobs.drivers import input_flags, resolve_swamp_executable
    from swampd.jobs.settings import JobSettings

    try:
        settings = JobSettings.from_mapping(load_config().section("jobs"))
        executable = resolve_swamp_executable(settings.swamp_executable)
        argv = [executable, "model", "method", "run", model, method]
        if ctx.json:
            argv.append("--json")
        argv += input_flags(inputs)
    except SwampdError as exc:
        return ctx.fail(exc.message, kind=exc.kind)
    try:
        return subprocess.call(argv, cwd=repo)
    except OSError:
        return ctx.fail(f"cannot start {argv[0]}", kind="call_failed")
