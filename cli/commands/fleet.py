"""`swamp fleet ls|add|rm|ping|push|rpc`: other hosts' swampd over ssh, and swamp serve endpoints."""

from __future__ import annotations

import argparse
import re
import sys
import time
from typing import Any

from cli import exit_codes
from cli.context import CliContext

NAME = "fleet"
HELP = "other hosts' swampd over ssh and swamp serve endpoints: add, ping, push, run jobs there"
UNDER_SWAMP = True
"""Also `swamp fleet`: swamp has no command of this name."""


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.add_parser("ls", help="hosts and serve endpoints with their state (the default)")
    add = sub.add_parser("add", help="add a host (an ssh destination running swampd) or a serve endpoint")
    add.add_argument("destination", nargs="?", help="ssh destination: [user@]host, or ssh://user@host:port")
    add.add_argument("--name", help="the name jobs and pushes use (default: the destination's host)")
    add.add_argument("--serve", metavar="URL", help="a swamp serve endpoint (ws://, wss://, http://, https://)")
    add.add_argument("--label", "-l", action="append", default=[], help="a label (repeatable)")
    add.add_argument("--command", help="what runs on the host (default: [fleet] remote_command)")
    add.add_argument("--ssh-option", "-o", action="append", default=[], metavar="OPT",
                     help="an extra ssh option, as for ssh -o (repeatable)")
    add.add_argument("--connect-timeout", type=float, help="seconds to connect (default: [fleet] connect_timeout)")
    add.add_argument("--token-secret", metavar="VAULT/KEY", help="serve: the token's vault secret")
    add.add_argument("--token-repo", metavar="REPO", help="serve: the repo of that vault (for a repo vault)")
    add.add_argument("--token-file", metavar="PATH", help="serve: a private (0600) file holding the token")
    add.add_argument("--replace", action="store_true", help="change an existing entry")
    rm = sub.add_parser("rm", help="remove a host or serve endpoint")
    rm.add_argument("name")
    ping = sub.add_parser("ping", help="contact hosts (default: all); exit 1 when one is not up")
    ping.add_argument("names", nargs="*")
    push = sub.add_parser("push", help="copy extensions or secrets to a host's swampd")
    push.add_argument("host")
    push.add_argument("--ext", action="append", default=[], metavar="NAME[@VERSION]",
                      help="an installed extension (repeatable); checksum-verified on arrival")
    push.add_argument("--secret", action="append", default=[], metavar="VAULT/KEY",
                      help="a secret (repeatable); audited on both hosts")
    push.add_argument("--repo", help="the repo of the source vault (a repo vault)")
    push.add_argument("--to-vault", help="the vault on the host (default: the same name)")
    push.add_argument("--to-repo", help="the repo on the host that holds that vault")
    push.add_argument("--overwrite", action="store_true", help="replace a secret the host has already")
    push.add_argument("--force", action="store_true", help="replace an extension installed with another checksum")
    rpc = sub.add_parser("rpc", help="call a method on a host's daemon (result JSON on stdout)")
    rpc.add_argument("host")
    rpc.add_argument("method")
    rpc.add_argument("params", nargs="?", help="params as JSON (an object or an array)")
    rpc.add_argument("--timeout", type=float, help="seconds (default: [fleet] call_timeout)")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    return ACTIONS[args.action or "ls"](args, ctx)


# -- ls ------------------------------------------------------------------------------------------


def _ls(args: argparse.Namespace, ctx: CliContext) -> int:
    ctx.output(ctx.call("fleet.list"), human=lambda r: _table(r["hosts"]) or "no hosts (swamp fleet add HOST)")
    return exit_codes.OK


def _age(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    seconds = max(0.0, time.time() - stamp)
    return f"{seconds:.0f}s ago" if seconds < 120 else f"{seconds / 60:.0f}m ago"


def _table(hosts: list[dict[str, Any]]) -> str:
    if not hosts:
        return ""
    rows = [("NAME", "KIND", "WHERE", "LABELS", "STATE", "VERSION", "RTT", "LAST SEEN")]
    for h in hosts:
        rtt = f"{h['rtt_ms']:.1f}ms" if h.get("rtt_ms") is not None else "-"
        version = h.get("version") or "-"
        if h.get("protocol") is not None:
            version += f" (p{h['protocol']})"
        rows.append((h["name"], h["kind"], h.get("destination") or h.get("url") or "-",
                     ",".join(h.get("labels") or []) or "-", h["state"], version, rtt, _age(h.get("last_seen"))))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines += [f"  {h['name']}: {h['error']['message']} ({h['error']['kind']})"
              for h in hosts if h.get("error") and h["state"] != "up"]
    return "\n".join(lines)


# -- add / rm ------------------------------------------------------------------------------------


def default_name(destination: str) -> str:
    """`ci@build-1.internal` → `build-1.internal`; `ssh://u@h:2222` → `h`."""
    host = destination.removeprefix("ssh://").rsplit("@", 1)[-1]
    host = re.sub(r":\d+$", "", host).strip("[]")
    return re.sub(r"[^A-Za-z0-9._-]", "-", host).strip(".-_") or "host"


def _add(args: argparse.Namespace, ctx: CliContext) -> int:
    if (args.destination is None) == (args.serve is None):
        return ctx.fail("give an ssh destination, or --serve URL for a swamp serve endpoint",
                        kind="invalid_params", code=exit_codes.USAGE)
    params: dict[str, Any] = {"replace": args.replace}
    if args.label:
        params["labels"] = args.label
    if args.serve is not None:
        if not args.name:
            return ctx.fail("a serve endpoint needs --name", kind="invalid_params", code=exit_codes.USAGE)
        params.update(name=args.name, url=args.serve)
        for key in ("token_secret", "token_repo", "token_file"):
            if getattr(args, key):
                params[key] = getattr(args, key)
    else:
        params.update(name=args.name or default_name(args.destination), destination=args.destination)
        if args.command:
            params["command"] = args.command
        if args.ssh_option:
            params["ssh_options"] = [f"-o{o}" for o in args.ssh_option]
        if args.connect_timeout is not None:
            params["connect_timeout"] = args.connect_timeout
    result = ctx.call("fleet.add", params)
    ctx.output(result, human=lambda r: f"{'changed' if r['replaced'] else 'added'} {r['kind']} {r['name']} "
                                       f"({r.get('destination') or r.get('url')}) in {r['config_file']}")
    return exit_codes.OK


def _rm(args: argparse.Namespace, ctx: CliContext) -> int:
    result = ctx.call("fleet.remove", {"name": args.name})
    ctx.output(result, human=lambda r: f"removed {r['removed']} from {r['config_file']}")
    return exit_codes.OK


# -- ping ----------------------------------------------------------------------------------------


def _ping(args: argparse.Namespace, ctx: CliContext) -> int:
    result = ctx.call("fleet.ping", {"names": args.names} if args.names else None)
    ctx.output(result, human=lambda r: "\n".join(_ping_line(h) for h in r["hosts"]) or "no hosts")
    return exit_codes.OK if all(h["state"] == "up" for h in result["hosts"]) else exit_codes.RPC_ERROR


def _ping_line(h: dict[str, Any]) -> str:
    if h["state"] == "up":
        proto = f", protocol {h['protocol']}" if h.get("protocol") is not None else ""
        return f"{h['name']}: up, {h['rtt_ms']:.1f} ms, version {h.get('version')}{proto}"
    error = h.get("error") or {}
    return f"{h['name']}: {h['state']}: {error.get('message', '')} ({error.get('kind', '')})"


# -- push ----------------------------------------------------------------------------------------


def _push(args: argparse.Namespace, ctx: CliContext) -> int:
    if not args.ext and not args.secret:
        return ctx.fail("give --ext NAME[@VERSION] and/or --secret VAULT/KEY", kind="invalid_params",
                        code=exit_codes.USAGE)
    results = []
    for spec in args.ext:
        params: dict[str, Any] = {"host": args.host, "extension": spec, "force": args.force}
        results.append(_call_with_progress(ctx, params))
    for secret in args.secret:
        params = {"host": args.host, "secret": secret, "overwrite": args.overwrite}
        for key in ("repo", "to_vault", "to_repo"):
            if getattr(args, key):
                params[key] = getattr(args, key)
        results.append(_call_with_progress(ctx, params))
    if ctx.json:
        ctx.output(results if len(results) > 1 else results[0])
    else:
        for r in results:
            sys.stdout.write(_push_line(r) + "\n")
    return exit_codes.OK


def _push_line(r: dict[str, Any]) -> str:
    if "extension" in r:
        sent = f", {_size(r['bytes_sent'])} sent" if r.get("bytes_sent") else ""
        return f"{r['extension']} -> {r['host']}: {r['status']}, checksum {r['checksum'][:12]} verified{sent}"
    vault = r["remote"].get("vaultName")
    return f"{r['secret']} -> {r['host']}: {r['status']} in vault {vault} (audited on both hosts)"


def _size(n: int) -> str:
    return f"{n / 1048576:.1f} MiB" if n >= 1048576 else f"{n / 1024:.0f} KiB" if n >= 1024 else f"{n} B"


def _call_with_progress(ctx: CliContext, params: dict[str, Any]) -> Any:
    """fleet.push through the daemon, drawing its progress notifications on stderr."""
    if ctx.no_daemon:
        return ctx.call("fleet.push", params)
    from swampd.client import DaemonUnavailable, RpcError

    try:
        client = ctx.client()
    except DaemonUnavailable:
        return ctx.call("fleet.push", params)
    show = not ctx.json and sys.stderr.isatty()
    request_id = client.request("fleet.push", params)
    while True:
        message = client.next_message(None, method="fleet.push")
        if not isinstance(message, dict):
            continue
        if message.get("method") == "fleet.push.progress" and "id" not in message:
            if show:
                _draw(message.get("params") or {})
        elif message.get("id") == request_id:
            if show:
                sys.stderr.write("\r\033[K")
            if "error" in message:
                err = message["error"]
                raise RpcError(err.get("code", -32000), err.get("message", ""), err.get("data"))
            return message.get("result")


def _draw(p: dict[str, Any]) -> None:
    total = p.get("total") or 0
    if p.get("kind") == "extension" and total:
        percent = 100 * (p.get("sent") or 0) / total
        text = f"{p['item']} -> {p['host']}: {_size(p.get('sent') or 0)} / {_size(total)} ({percent:.0f}%)"
    else:
        text = f"{p.get('item')} -> {p.get('host')}: {p.get('status')}"
    sys.stderr.write("\r\033[K" + text)
    sys.stderr.flush()


# -- rpc -----------------------------------------------------------------------------------------


def _rpc(args: argparse.Namespace, ctx: CliContext) -> int:
    params: dict[str, Any] = {"host": args.host, "method": args.method}
    if args.params is not None:
        from swampd.client import loads

        try:
            params["params"] = loads(args.params)
        except ValueError:
            return ctx.fail("params are not valid JSON", kind="parse_error", code=exit_codes.USAGE)
    if args.timeout is not None:
        params["timeout"] = args.timeout
    ctx.output(ctx.call("fleet.call", params))
    return exit_codes.OK


ACTIONS = {"ls": _ls, "add": _add, "rm": _rm, "ping": _ping, "push": _push, "rpc": _rpc}
