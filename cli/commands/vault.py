"""`swamp vault ls|get|put|rm|rotate|audit|lock|unlock`: the host vault and repo vaults via swampd.

Secret values are read from stdin (when piped) or a hidden prompt. On the command line (argv
shows in `ps` and shell history) only as swamp's inline form `KEY=VALUE`, which the user types
on purpose, or as a VALUE argument with `--value-from-arg`. Empty values need `--allow-empty`.
A revealed value printed to a pipe has no trailing newline (swamp's `read-secret` behaviour).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from datetime import datetime
from typing import Any

from cli import exit_codes
from cli.context import CliContext
from swampd.repo_root import find_repo_root

NAME = "vault"
HELP = "host and repo vault secrets: list, read, write, rotate, audit, lock"

HOST_VAULT = "host"
_TTL = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$")
_TTL_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="vault_action", required=True, metavar="ACTION")

    def with_repo(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--repo", help="the swamp repo (path or registered name; default: the one around cwd)")
        return p

    ls = with_repo(sub.add_parser("ls", help="vaults and their keys with metadata (never values)"))
    ls.add_argument("vault", nargs="?", help="only this vault")

    get = with_repo(sub.add_parser("get", help="a secret's metadata; its value with --reveal (audited)"))
    get.add_argument("vault", help=f"vault name ({HOST_VAULT!r} is the host keyring vault)")
    get.add_argument("key")
    get.add_argument("--reveal", action="store_true", help="print the value")

    put = with_repo(sub.add_parser("put", help="store a secret read from stdin, a hidden prompt or KEY=VALUE"))
    put.add_argument("vault")
    put.add_argument("key", help="the key, or KEY=VALUE (swamp's inline form; split at the first '=')")
    put.add_argument("value", nargs="?", help="only with --value-from-arg (visible in ps and shell history)")
    put.add_argument("--value-from-arg", action="store_true", help="take the value from the command line")
    put.add_argument("-f", "--force", action="store_true", help="overwrite an existing secret")
    put.add_argument("--allow-empty", action="store_true", help="store an empty value (refused otherwise)")
    put.add_argument("--label", action="append", default=[], metavar="K=V", help="a label (repeatable)")
    put.add_argument("--refresh-from", metavar="CMD", help="refresh hook: a command printing the new value")
    put.add_argument("--refresh-ttl", metavar="TTL", help="refresh hook ttl, e.g. 50m (default 50m)")

    rm = with_repo(sub.add_parser("rm", help="delete a secret"))
    rm.add_argument("vault")
    rm.add_argument("key")

    rotate = with_repo(sub.add_parser("rotate", help="replace a secret with a new random value or a command's output"))
    rotate.add_argument("vault")
    rotate.add_argument("key")
    rotate.add_argument("--length", type=int, help="length of the random value")
    rotate.add_argument("--alphabet", help="alnum, hex, urlsafe, printable, digits, or literal characters")
    rotate.add_argument("--command", help="a refresh command (sh -c) whose stdout is the new value")
    rotate.add_argument("--timeout", type=float, help="seconds the command may run")

    audit = with_repo(sub.add_parser("audit", help="the vault audit trail"))
    audit.add_argument("--vault")
    audit.add_argument("--key")
    audit.add_argument("--action", choices=("get", "put", "delete", "annotate"))
    audit.add_argument("--since", default="7d", help="ISO time or duration back from now (default 7d)")
    audit.add_argument("--until", help="ISO time or duration back from now")
    audit.add_argument("--limit", type=int, default=100)

    sub.add_parser("lock", help="drop every warm key; value operations fail until unlock")
    sub.add_parser("unlock", help="allow value operations again")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    return int(ACTIONS[args.vault_action](args, ctx))


# -- helpers ---------------------------------------------------------------------------




def _target(args: argparse.Namespace, vault: str | None) -> dict[str, Any]:
    """`vault` and `repo` params: an explicit --repo, else the repo around cwd for non-host vaults."""
    params: dict[str, Any] = {}
    if vault is not None:
        params["vault"] = vault
    repo = args.repo
    if repo is None and vault not in (None, HOST_VAULT):
        repo = find_repo_root(os.getcwd())
    if repo is not None:
        params["repo"] = os.path.abspath(repo) if os.path.isdir(repo) else repo
    return params


def _ttl_seconds(text: str) -> float:
    m = _TTL.match(text.strip())
    if not m:
        raise ValueError(text)
    return float(m.group(1)) * _TTL_UNITS[m.group(2)]


def _split_inline(args: argparse.Namespace) -> tuple[str, str | None]:
    """swamp's `parseKeyValue`: `KEY=VALUE` is split at the first `=`; a plain key has no value."""
    key, sep, value = args.key.partition("=")
    return (key, value) if sep else (args.key, None)


def _read_value(args: argparse.Namespace, ctx: CliContext) -> str | None:
    if args.value is not None:
        if not args.value_from_arg:
            return None
        return str(args.value)
    if args.value_from_arg:
        return None
    if not sys.stdin.isatty():
        value = sys.stdin.read()
        if value.endswith("\r\n"):
            return value[:-2]
        return value[:-1] if value.endswith("\n") else value
    import getpass

    return getpass.getpass(f"value for {args.vault}/{args.key}: ")


def _when(ts: Any) -> str:
    if isinstance(ts, (int, float)):
        return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")
    return str(ts or "-")


# -- actions ---------------------------------------------------------------------------


def _ls(args: argparse.Namespace, ctx: CliContext) -> int:
    params = _target(args, args.vault)
    result = ctx.call("vault.list", params)

    def human(r: dict[str, Any]) -> str:
        lines = ["(locked)"] if r.get("locked") else []
        for v in r["vaults"]:
            where = v.get("repo") or "host keyring"
            head = f"{v['name']}  [{v['type']}]  {where}"
            if not v.get("supported", True):
                head += "  (not served by swampd)"
            lines.append(head)
            if v.get("error"):
                lines.append(f"  error: {v['error']['message']}")
            for k in v["keys"]:
                size = k.get("sizeBytes")
                size_text = "-" if size is None else str(size)
                extra = f"  v{k['version']}" if k.get("version") else ""
                lines.append(f"  {k['key']:<32} {size_text:>8} B  {_when(k.get('updatedAt'))}{extra}")
        return "\n".join(lines)

    ctx.output(result, human)
    return exit_codes.OK


def _get(args: argparse.Namespace, ctx: CliContext) -> int:
    params = {**_target(args, args.vault), "key": args.key, "reveal": bool(args.reveal)}
    result = ctx.call("vault.get", params)
    if args.reveal and not ctx.json:
        value = result["value"]
        sys.stdout.write(value + ("\n" if sys.stdout.isatty() else ""))
        return exit_codes.OK

    def human(r: dict[str, Any]) -> str:
        return "\n".join(f"{k}: {v}" for k, v in r.items() if k != "value")

    ctx.output(result, human)
    return exit_codes.OK


def _put(args: argparse.Namespace, ctx: CliContext) -> int:
    key, inline = _split_inline(args)
    if not key:
        return ctx.fail("the key before '=' is empty", kind="invalid_params", code=exit_codes.USAGE)
    if inline is not None and (args.value is not None or args.value_from_arg):
        return ctx.fail("give the value inline (KEY=VALUE) or as VALUE, not both", kind="invalid_params",
                        code=exit_codes.USAGE)
    value = inline if inline is not None else _read_value(args, ctx)
    if value is None:
        if args.value is not None:
            return ctx.fail(
                "refusing to take a secret from the command line (it shows in ps and shell history);"
                " pipe it on stdin, answer the prompt, or pass --value-from-arg",
                kind="invalid_params",
                code=exit_codes.USAGE,
            )
        return ctx.fail("--value-from-arg needs a VALUE argument", kind="invalid_params", code=exit_codes.USAGE)
    labels: dict[str, str] = {}
    for item in args.label:
        k, sep, v = item.partition("=")
        if not sep or not k:
            return ctx.fail(f"--label {item!r} is not K=V", kind="invalid_params", code=exit_codes.USAGE)
        labels[k] = v
    params: dict[str, Any] = {**_target(args, args.vault), "key": key, "value": value, "overwrite": args.force}
    if args.allow_empty:
        params["allow_empty"] = True
    if labels:
        params["labels"] = labels
    if args.refresh_from:
        params["refresh_command"] = args.refresh_from
        try:
            params["refresh_ttl"] = _ttl_seconds(args.refresh_ttl or "50m")
        except ValueError:
            return ctx.fail("--refresh-ttl must look like 30s, 50m, 2h", kind="invalid_params", code=exit_codes.USAGE)
    elif args.refresh_ttl:
        return ctx.fail("--refresh-ttl needs --refresh-from", kind="invalid_params", code=exit_codes.USAGE)
    result = ctx.call("vault.put", params)
    del value, params
    verb = "replaced" if result.get("overwritten") else "stored"
    ctx.output(result, lambda r: f"{verb} {r['vaultName']}/{r['secretKey']}")
    return exit_codes.OK


def _rm(args: argparse.Namespace, ctx: CliContext) -> int:
    result = ctx.call("vault.delete", {**_target(args, args.vault), "key": args.key})
    ctx.output(
        result,
        lambda r: f"{'no such secret' if r.get('noOp') else 'deleted'} {r['vaultName']}/{r['secretKey']}",
    )
    return exit_codes.OK


def _rotate(args: argparse.Namespace, ctx: CliContext) -> int:
    params: dict[str, Any] = {**_target(args, args.vault), "key": args.key}
    for name in ("length", "alphabet", "command", "timeout"):
        if getattr(args, name) is not None:
            params[name] = getattr(args, name)
    result = ctx.call("vault.rotate", params)
    ctx.output(result, lambda r: f"rotated {r['vaultName']}/{r['secretKey']} ({r['source']}) at {r['rotatedAt']}")
    return exit_codes.OK


def _audit(args: argparse.Namespace, ctx: CliContext) -> int:
    params: dict[str, Any] = {"since": args.since, "limit": args.limit}
    for name in ("vault", "key", "action", "until", "repo"):
        if getattr(args, name) is not None:
            params[name] = getattr(args, name)
    if isinstance(params.get("repo"), str) and os.path.isdir(params["repo"]):
        params["repo"] = os.path.abspath(params["repo"])
    result = ctx.call("vault.audit", params)

    def human(r: dict[str, Any]) -> str:
        lines = [
            f"{e['timestamp']}  {e.get('action', 'get'):<8} {e['vaultName']}/{e['secretKey']}"
            f"  {e.get('callerContext', '')}"
            for e in r["entries"]
        ]
        if r.get("truncated"):
            lines.append(f"(showing the newest {r['returnedCount']}; use --limit for more)")
        return "\n".join(lines) or "no entries"

    ctx.output(result, human)
    return exit_codes.OK


def _lock(args: argparse.Namespace, ctx: CliContext) -> int:
    result = ctx.call("vault.lock", {})
    ctx.output(result, lambda r: f"vault locked ({r['droppedKeys']} warm keys dropped)")
    return exit_codes.OK


def _unlock(args: argparse.Namespace, ctx: CliContext) -> int:
    result = ctx.call("vault.unlock", {})
    ctx.output(result, lambda r: "vault unlocked")
    return exit_codes.OK


ACTIONS = {
    "ls": _ls,
    "get": _get,
    "put": _put,
    "rm": _rm,
    "rotate": _rotate,
    "audit": _audit,
    "lock": _lock,
    "unlock": _unlock,
}
