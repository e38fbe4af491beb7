"""`swamp cache stats|ls|evict|prefetch`: inspect and control the daemon's hot tier."""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # argparse and typing only when the full parser runs (see parse_quick())
    import argparse
    from types import SimpleNamespace
    from typing import Any

    from cli.context import CliContext

NAME = "cache"
HELP = "inspect and control the hot tier"
UNDER_SWAMP = True
"""Also `swamp cache`: swamp has no command of this name."""


def parse_quick(words: list[str]) -> SimpleNamespace | None:
    """`cache stats` without argparse (its common call); None leaves the line to argparse."""
    from types import SimpleNamespace

    return SimpleNamespace(cache_action="stats") if words == ["stats"] else None


def configure(parser: argparse.ArgumentParser) -> None:
    from cli.commands.data import add_repo_option

    sub = parser.add_subparsers(dest="cache_action", required=True, metavar="ACTION")
    sub.add_parser("stats", help="hits, misses, bytes, evictions, backend latency")
    ls = sub.add_parser("ls", help="cached keys with size, age, backend, stale flag")
    ls.add_argument("--repo", help="only this repo's keys (path or name)")
    ls.add_argument("--filter", help="substring the key must contain")
    ls.add_argument("--offset", type=int, default=0)
    ls.add_argument("--limit", type=int, default=100)
    evict = sub.add_parser("evict", help="evict a key, a prefix, a model, or everything")
    evict.add_argument("--repo", help="repo path or name (required except with --all)")
    what = evict.add_mutually_exclusive_group(required=True)
    what.add_argument("--key", help="a path like data/{type}/{id}/{name}/{version}/raw")
    what.add_argument("--prefix", help="a path prefix like data/{type}/")
    what.add_argument("--model", nargs=2, metavar=("TYPE", "MODEL"), help="every entry of one model")
    what.add_argument("--all", action="store_true", help="everything (of --repo, or the whole cache)")
    prefetch = sub.add_parser("prefetch", help="warm the cache in the background")
    add_repo_option(prefetch)
    src = prefetch.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", nargs=2, metavar=("TYPE", "MODEL"))
    src.add_argument("--prefix")
    src.add_argument("--key", action="append", dest="keys", metavar="PATH")
    prefetch.add_argument("--wait", action="store_true", help="wait until it is done")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    action = args.cache_action
    if action == "stats":
        ctx.output(ctx.call("cache.stats"), _stats_human)
    elif action == "ls":
        params: dict[str, Any] = {"offset": args.offset, "limit": args.limit}
        if args.repo:
            params["repo"] = _repo_param(args.repo)
        if args.filter:
            params["filter"] = args.filter
        ctx.output(ctx.call("cache.keys", params), _keys_human)
    elif action == "evict":
        params = {"all": bool(args.all)}
        if args.repo:
            params["repo"] = _repo_param(args.repo)
        if args.key:
            params["key"] = args.key
        if args.prefix:
            params["prefix"] = args.prefix
        if args.model:
            params["type"], params["model"] = args.model
        ctx.output(ctx.call("cache.evict", params), lambda r: f"evicted {r['evicted']} entries")
    else:
        from cli.commands.data import resolve_repo

        params = {"repo": resolve_repo(args, ctx)}
        if args.model:
            params["type"], params["model"] = args.model
        if args.prefix:
            params["prefix"] = args.prefix
        if args.keys:
            params["keys"] = args.keys
        job = ctx.call("cache.prefetch", params)
        if args.wait:
            job = _wait(ctx, job["id"])
        ctx.output(job, lambda r: f"{r['id']}: {r['state']}" + (f" {r['done']}/{r['total']}" if "done" in r else ""))
    return 0


def _repo_param(repo: str) -> str:
    import os

    return os.path.abspath(repo) if os.sep in repo or repo in (".", "..") else repo


def _wait(ctx: CliContext, job_id: str) -> dict[str, Any]:
    while True:
        jobs = {p["id"]: p for p in ctx.call("cache.stats").get("prefetches", [])}
        job = jobs.get(job_id)
        if job is None or job["state"] != "running":
            return job or {"id": job_id, "state": "unknown"}
        time.sleep(0.1)


def _stats_human(stats: dict[str, Any]) -> str:
    o = stats["overall"]
    ratio = "-" if o["hit_ratio"] is None else f"{o['hit_ratio']:.1%}"
    lines = [
        f"requests {o['requests']}  hits {o['hits']}  misses {o['misses']}  hit ratio {ratio}  "
        f"stale served {o['stale_served']}",
        f"items {o['items']}  bytes {o['bytes']} / {o['max_size']}  evictions {o['evictions']}  "
        f"policy {o['eviction_policy']}  staleness {o['staleness']}s",
    ]
    for kind, b in stats["backends"].items():
        lines.append(f"  {kind:<10} req {b['requests']}  hits {b['hits']}  misses {b['misses']}  "
                     f"errors {b['backend_errors']}  p50 {b['latency_p50_ms']} ms  p95 {b['latency_p95_ms']} ms  "
                     f"items {b['items']}  bytes {b['bytes']}")
    return "\n".join(lines)


def _keys_human(page: dict[str, Any]) -> str:
    lines = [f"{k['key']}  {k['size']}B  {k['age']:.0f}s  {k['backend']}" + ("  stale" if k["stale"] else "")
             for k in page["keys"]]
    lines.append(f"({len(page['keys'])} of {page['total']})")
    return "\n".join(lines)
