"""`swamp run MODEL METHOD`: a model method run through the daemon (deduped), or directly."""

from __future__ import annotations

import argparse
import os
import re
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
                        metavar="K=V", help="method input (repeatable), parsed as swamp parses --input: "
                        "a.b=V nests, K:json=V is JSON, K=@FILE reads FILE, K=\\@V is a literal @")
    parser.add_argument("--repo", default=None, help="swamp repo directory (default: cwd)")
    parser.add_argument("--no-dedupe", action="store_true",
                        help="always run, even when an identical run is in flight")
    parser.add_argument("--detach", action="store_true",
                        help="submit the job and print its id; it runs on without you")
    parser.add_argument("--target", metavar="HOST",
                        help="run it on a fleet host, label or swamp serve endpoint (swamp fleet ls); "
                        "--repo is then a path on that host")


_SCOPED_IDENTIFIER = re.compile(r"^@[a-zA-Z][a-zA-Z0-9_-]*/[a-zA-Z0-9][a-zA-Z0-9_/-]*$")


def parse_inputs(entries: list[str]) -> dict[str, Any]:
    """`--input` values parsed as swamp's `parseInputs` parses them (src/cli/input_parser.ts).

    Exactly one entry starting with `{` is a JSON object. Otherwise each is `key=value`, split at
    the first `=`: dots in the key nest objects (`server.host=x`), a `:json` suffix on the last
    segment parses the value as JSON, `\\@` is a literal `@`, and a value `@PATH` (not a scoped
    name like `@scope/name`) is the file's text, read here with your permissions. The daemon then
    gets plain JSON and passes it to swamp unchanged.
    """
    import json

    if len(entries) == 1 and entries[0].lstrip().startswith("{"):
        try:
            parsed = json.loads(entries[0])
        except ValueError as exc:
            raise SystemExit(f"swampd run: invalid JSON in --input: {exc}") from None
        if not isinstance(parsed, dict):
            raise SystemExit("swampd run: --input must be a JSON object")
        return parsed
    inputs: dict[str, Any] = {}
    for entry in entries:
        key, sep, value = entry.partition("=")
        if not sep:
            raise SystemExit(f'swamp run: invalid input format: "{entry}". Expected key=value format.')
        if not key:
            raise SystemExit(f'swamp run: invalid input: empty key in "{entry}".')
        head, dot, leaf = key.rpartition(".")
        if leaf.endswith(":json") and len(leaf) > len(":json"):
            key = head + dot + leaf[: -len(":json")]
            try:
                _set_nested(inputs, key, json.loads(value))
            except ValueError as exc:
                raise SystemExit(f'swamp run: invalid JSON value for input "{key}": {exc}') from None
            continue
        if value.startswith("\\@"):
            value = value[1:]
        elif value.startswith("@") and not _SCOPED_IDENTIFIER.match(value):
            value = _read_input_file(key, value[1:])
        _set_nested(inputs, key, value)
    return inputs


def _set_nested(target: dict[str, Any], key_path: str, value: Any) -> None:
    """swamp's `setNestedValue`: intermediate segments become objects (replacing non-objects)."""
    *parents, last = key_path.split(".")
    current = target
    for part in parents:
        if not isinstance(current.get(part), dict):
            current[part] = {}
        current = current[part]
    current[last] = value


def _read_input_file(key: str, path: str) -> str:
    if path.startswith("~/"):
        path = os.path.expanduser("~") + path[1:]
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        raise SystemExit(
            f'swamp run: input file not found for key "{key}": {path}. Values starting with @ are read as '
            "file paths; use \\@ for a literal @ or :json suffix to bypass") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SystemExit(f'swamp run: failed to read input file for key "{key}": {exc}') from None


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from swampd.client import DaemonUnavailable

    inputs = parse_inputs(args.inputs)
    if args.target is not None:
        return _run_on_target(args, inputs, ctx)
    repo = os.path.abspath(args.repo or os.getcwd())
    if not ctx.no_daemon:
        try:
            client = ctx.client()
        except DaemonUnavailable as exc:
            if args.detach:
                raise
            sys.stderr.write(f"swampd: {exc}; running swamp directly\n")
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


def _run_on_target(args: argparse.Namespace, inputs: dict[str, Any], ctx: CliContext) -> int:
    """Through the daemon only: it holds the fleet's sessions (the repo is the target host's)."""
    params: dict[str, Any] = {"kind": "swamp", "model": args.model, "method": args.method, "inputs": inputs,
                              "target": args.target, "wait": not args.detach, "dedupe": not args.no_dedupe}
    if args.repo is not None:
        params["repo"] = args.repo
    if not ctx.no_daemon:
        ctx.client().settimeout(None)
    return report(ctx.call("jobs.submit", params), ctx, detached=args.detach)


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
        sys.stderr.write(f"{ctx.prog}: job {record['id']} {state}: {error.get('message', '')}\n")
    if state == "cancelled":
        return CANCELLED_EXIT
    code = record.get("exit_code")
    return code if isinstance(code, int) and code > 0 else exit_codes.RPC_ERROR


def _human_result(result: dict[str, Any]) -> str:
    artifacts = result.get("dataArtifacts") or []
    duration = result.get("duration")
    took = f" in {format_duration(duration)}" if isinstance(duration, int | float) and duration else ""
    lines = [
        f"{result.get('modelName')}.{result.get('methodName')}: {result.get('status')}{took} "
        f"(output {result.get('outputId')})",
    ]
    lines += [f"  data {a.get('name')}: {a.get('path')}" for a in artifacts]
    return "\n".join(lines)


def format_duration(ms: float) -> str:
    """swamp's `formatDuration` (src/presentation/output/console_writer.ts): `duration` is milliseconds.

    `42ms`, `1.3s`, `2m5s`; JavaScript's `toFixed` rounds the exact binary value half up
    (Python's format rounds half to even), hence Decimal.
    """
    from decimal import ROUND_HALF_UP, Decimal

    if ms < 1000:
        return f"{ms}ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{Decimal(seconds).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}s"
    minutes = int(seconds // 60)
    rest = Decimal(seconds % 60).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    return f"{minutes}m{rest}s"


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
