"""`swamp ext ls|install|rm|link|unlink|verify|which`: the host-level extension store."""

from __future__ import annotations

import argparse
import os
from typing import Any

from cli import exit_codes
from cli.context import CliContext
from swampd.repo_root import find_repo_root

NAME = "ext"
HELP = "the host extension store shared by every swamp project on this machine"

DRIFT = 1
"""`swamp ext verify` exit code when an entry's files differ from what was installed."""


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("ls", help="installed extensions, their types, size, checksum and linked projects")
    install = sub.add_parser("install", help="install from a directory or an extension.tar.gz")
    install.add_argument("source", help="an extension directory (with manifest.yaml) or extension.tar.gz")
    install.add_argument("--force", action="store_true", help="replace an entry of the same version")
    rm = sub.add_parser("rm", help="remove an extension (all versions unless @version is given)")
    rm.add_argument("extension", help="@collective/name[@version]")
    rm.add_argument("--force", action="store_true", help="remove even when projects link it (unlinks them)")
    for action, text in (("link", "make a project load the shared copies"),
                         ("unlink", "stop a project loading the shared copies (restores its file)")):
        p = sub.add_parser(action, help=text)
        p.add_argument("extensions", nargs="*", metavar="EXTENSION",
                       help="@collective/name[@version] (default: every installed extension)")
        p.add_argument("--project", help="the swamp repo (default: the one containing the current dir)")
    verify = sub.add_parser("verify", help="re-hash installed extensions; exit 1 on drift")
    verify.add_argument("extension", nargs="?", help="@collective/name[@version] (default: all)")
    which = sub.add_parser("which", help="where a type comes from for a project, and why")
    which.add_argument("type", help="@collective/name")
    which.add_argument("--project", help="the swamp repo (default: the one containing the current dir)")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    return ACTIONS[args.action](args, ctx)


def find_project(start: str | None) -> str:
    """The given dir, else the nearest ancestor of cwd holding .swamp.yaml, else cwd."""
    if start:
        return os.path.abspath(start)
    return find_repo_root(os.getcwd()) or os.getcwd()


def split_spec(spec: str) -> tuple[str, str | None]:
    """`@c/name@2026.01.01.1` → (`@c/name`, `2026.01.01.1`)."""
    name, sep, version = spec[1:].partition("@") if spec.startswith("@") else (spec, "", "")
    return ("@" + name if spec.startswith("@") else name), (version if sep else None)


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.1f} {unit}"


def _ls(args: argparse.Namespace, ctx: CliContext) -> int:
    ctx.output(ctx.call("extensions.list"), _human_ls)
    return exit_codes.OK


def _human_ls(result: dict[str, Any]) -> str:
    rows = result["extensions"]
    if not rows:
        return "no extensions in the host store (swamp ext install <dir|extension.tar.gz>)"
    lines = []
    for e in rows:
        types = ", ".join(t for names in e["types"].values() for t in names) or "-"
        lines.append(f"{e['name']}@{e['version']}  {_size(e['size'])}  sha256:{e['checksum'][:12]}")
        lines.append(f"  kinds  {', '.join(e['kinds']) or '-'}")
        lines.append(f"  types  {types}")
        lines.append(f"  linked {', '.join(e['linked_projects']) or '-'}")
    return "\n".join(lines)


def _install(args: argparse.Namespace, ctx: CliContext) -> int:
    params = {"source": os.path.abspath(args.source), "force": args.force}
    result = ctx.call("extensions.install", params)
    ctx.output(result, lambda r: f"{r['status']}: {r['name']}@{r['version']} sha256:{r['checksum']}\n  {r['path']}")
    return exit_codes.OK


def _rm(args: argparse.Namespace, ctx: CliContext) -> int:
    name, version = split_spec(args.extension)
    result = ctx.call("extensions.remove", {"name": name, "version": version, "force": args.force})

    def human(r: dict[str, Any]) -> str:
        text = "removed " + ", ".join(r["removed"])
        if r["unlinked_projects"]:
            text += "\nunlinked from " + ", ".join(r["unlinked_projects"])
        return text

    ctx.output(result, human)
    return exit_codes.OK


def _link(args: argparse.Namespace, ctx: CliContext) -> int:
    params = {"project": find_project(args.project), "extensions": args.extensions or None}
    result = ctx.call("extensions.link", params)
    ctx.output(result, lambda r: f"linked {', '.join(r['linked'])} in {r['file']}")
    return exit_codes.OK


def _unlink(args: argparse.Namespace, ctx: CliContext) -> int:
    params = {"project": find_project(args.project), "extensions": args.extensions or None}
    result = ctx.call("extensions.unlink", params)
    ctx.output(result, lambda r: f"unlinked {', '.join(r['unlinked']) or 'nothing'} ({r['action']} {r['file']})")
    return exit_codes.OK


def _verify(args: argparse.Namespace, ctx: CliContext) -> int:
    params: dict[str, Any] = {}
    if args.extension:
        params["name"], params["version"] = split_spec(args.extension)
    result = ctx.call("extensions.verify", params)
    ctx.output(result, _human_verify)
    return exit_codes.OK if result["ok"] else DRIFT


def _human_verify(result: dict[str, Any]) -> str:
    if not result["entries"]:
        return "no extensions in the host store"
    lines = []
    for e in result["entries"]:
        lines.append(f"{'ok' if e['ok'] else 'DRIFT'}  {e['name']}@{e['version']}")
        for what in ("changed", "missing", "added"):
            lines.extend(f"  {what:8} {path}" for path in e[what])
    return "\n".join(lines)


def _which(args: argparse.Namespace, ctx: CliContext) -> int:
    result = ctx.call("extensions.resolve", {"project": find_project(args.project), "type": args.type})
    ctx.output(result, _human_which)
    return exit_codes.OK if result["found"] else exit_codes.RPC_ERROR


def _human_which(r: dict[str, Any]) -> str:
    lines = [f"{r['type']}: {r['path']} ({r['origin']})" if r["found"] else f"{r['type']}: not found"]
    lines.append(f"  {r['reason']}")
    lines.extend(f"  {c['status']:10} {c['origin']:6} {c.get('path') or '-'}" for c in r["candidates"])
    return "\n".join(lines)


ACTIONS = {
    "ls": _ls,
    "install": _install,
    "rm": _rm,
    "link": _link,
    "unlink": _unlink,
    "verify": _verify,
    "which": _which,
}
