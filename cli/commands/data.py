"""`swamp data get|put|ls|versions`: swamp's versioned model data through the daemon's hot tier."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from cli.context import CliContext
from swampd.repo_root import find_repo_root

NAME = "data"
HELP = "read and write swamp model data through the hot tier"


READ_FILE_ABOVE = 64 * 1024
"""Values of this many bytes or more are read from the daemon's cached file instead of arriving as
base64 in the reply (benchmarks/results/data.md: at 64 KiB binary, a path and a read cost half of base64)."""

def add_repo_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repo", help="repo path or registered name (default: the repo around the cwd)")


def resolve_repo(args: argparse.Namespace, ctx: CliContext) -> str:
    """The repo param for the daemon; registers the repo with this shell's SWAMP_DATASTORE when set."""
    repo: str | None = args.repo
    if repo is None:
        repo = os.environ.get("SWAMP_REPO_DIR") or find_repo_root(os.getcwd(), accept_data_dir=True) or os.getcwd()
    elif os.sep in repo or repo in (".", ".."):
        repo = os.path.abspath(repo)
    swamp_datastore = os.environ.get("SWAMP_DATASTORE")
    if swamp_datastore and os.path.isabs(repo):
        ctx.call("repos.register", {"path": repo, "swamp_datastore": swamp_datastore})
    return repo


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_action", required=True, metavar="ACTION")
    get = sub.add_parser("get", help="print one version's content (default latest)")
    put = sub.add_parser("put", help="write a new version from --file, --text or stdin")
    for p in (get, put):
        add_repo_option(p)
        p.add_argument("type", help="model type, e.g. command/shell or AWS::EC2::VPC")
        p.add_argument("model", help="model id or name")
        p.add_argument("name", help="data name")
    get.add_argument("--version", type=int, help="a pinned version")
    get.add_argument("--path", action="store_true", help="print the cached file's path for large values")
    get.add_argument("--meta", action="store_true", help="print the metadata instead of the content")
    source = put.add_mutually_exclusive_group()
    source.add_argument("--file", help="read the content from this file")
    source.add_argument("--text", help="the content as text")
    put.add_argument("--content-type", help="MIME type (default text/plain for text, else octet-stream)")
    put.add_argument("--tag", action="append", default=[], metavar="K=V", help="a tag (repeatable)")
    put.add_argument("--owner", metavar="TYPE:REF",
                     help="write as this owner (model-method|workflow-step|manual:REF; default: the model's "
                          "own); a name owned by another is refused, as swamp refuses it")
    ls = sub.add_parser("ls", help="a model's data names with latest versions (or a type's models)")
    add_repo_option(ls)
    ls.add_argument("type")
    ls.add_argument("model", nargs="?")
    versions = sub.add_parser("versions", help="the versions of one data name")
    add_repo_option(versions)
    versions.add_argument("type")
    versions.add_argument("model")
    versions.add_argument("name")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    repo = resolve_repo(args, ctx)
    action = args.data_action
    if action == "get":
        params: dict[str, Any] = {"repo": repo, "type": args.type, "model": args.model, "name": args.name,
                                  "as_path": bool(args.path)}
        if args.version is not None:
            params["version"] = args.version
        read_file = not (ctx.json or args.meta or args.path)
        if read_file:
            params["path_above"] = READ_FILE_ABOVE
        result = ctx.call("data.get", params)
        if ctx.json:
            ctx.output(result)
        elif args.meta:
            import json

            sys.stdout.write(json.dumps(result["metadata"], indent=2) + "\n")
        else:
            if read_file and result["encoding"] == "path":
                try:
                    with open(result["path"], "rb") as fh:
                        content = fh.read()
                except OSError:  # evicted between the reply and the read: ask for the bytes
                    del params["path_above"]
                    result = ctx.call("data.get", params)
                else:
                    result = {**result, "encoding": "bytes", "content": content}
            _write_content(result)
        return 0
    if action == "put":
        return _put(args, ctx, repo)
    if action == "ls":
        params = {"repo": repo, "type": args.type}
        if args.model:
            params["model"] = args.model
        ctx.output(ctx.call("data.list", params), _ls_human)
        return 0
    result = ctx.call("data.versions", {"repo": repo, "type": args.type, "model": args.model, "name": args.name})
    ctx.output(result, lambda r: "\n".join(str(v) for v in r["versions"]))
    return 0


def _write_content(result: dict[str, Any]) -> None:
    if result["encoding"] == "path":
        sys.stdout.write(result["path"] + "\n")
    elif result["encoding"] == "text":
        sys.stdout.write(result["content"])
    elif result["encoding"] == "bytes":
        sys.stdout.flush()
        sys.stdout.buffer.write(result["content"])
    else:
        import base64

        sys.stdout.flush()
        sys.stdout.buffer.write(base64.b64decode(result["content"]))
    if result.get("stale"):
        sys.stderr.write("swampd: warning: the datastore is unreachable; this is the cached copy\n")


def _put(args: argparse.Namespace, ctx: CliContext, repo: str) -> int:
    if args.text is not None:
        data: bytes = args.text.encode()
    elif args.file:
        with open(args.file, "rb") as fh:
            data = fh.read()
    else:
        data = sys.stdin.buffer.read()
    tags = {}
    for item in args.tag:
        key, sep, value = item.partition("=")
        if not sep or not key:
            return ctx.fail(f"--tag {item!r} is not K=V", kind="invalid_params", code=2)
        tags[key] = value
    params: dict[str, Any] = {"repo": repo, "type": args.type, "model": args.model, "name": args.name}
    content_type = args.content_type
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and (content_type is None or content_type.startswith("text/")
                             or content_type in ("application/json", "application/yaml", "application/x-yaml")):
        params["content"] = text
    else:
        import base64

        params["content_base64"] = base64.b64encode(data).decode("ascii")
    if content_type:
        params["content_type"] = content_type
    if tags:
        params["tags"] = tags
    if args.owner:
        owner_type, sep, owner_ref = args.owner.partition(":")
        if not sep or not owner_type or not owner_ref:
            return ctx.fail(f"--owner {args.owner!r} is not TYPE:REF", kind="invalid_params", code=2)
        params["owner"] = {"ownerType": owner_type, "ownerRef": owner_ref}
    result = ctx.call("data.put", params)
    ctx.output(result, lambda r: f"{r['name']} version {r['version']} ({r['size']} bytes, sha256 {r['checksum'][:12]})")
    return 0


def _ls_human(result: dict[str, Any]) -> str:
    if "models" in result:
        return "\n".join(result["models"]) or "no models"
    rows = [f"{d['name']}\t{d['latest']}" for d in result["data"]]
    return "\n".join(rows) or "no data"
