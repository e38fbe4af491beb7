"""Canned daemon replies for snapshots: fixed pids, times and sizes (nothing varies)."""

from __future__ import annotations

from typing import Any

from swampd.client import RpcError
from tui.datasource import FixedSource

NOW = 1_795_000_000.0
STORE = "fi-3c1d2e4f5a6b"


def _job(i: int, state: str, model: str, method: str, *, waiters: int = 0, pid: int | None = None,
         started: float | None = None, ended: float | None = None) -> dict[str, Any]:
    return {"id": f"job{i:03d}abcdef"[:12], "kind": "swamp", "state": state,
            "spec": {"model": model, "method": method, "inputs": {"region": "eu-west-1"}, "repo": "/srv/infra"},
            "pid": pid, "pgid": pid, "exit_code": 0 if state == "succeeded" else None, "result": None,
            "error": {"message": "cancelled by pid 4242"} if state == "cancelled" else None,
            "created_at": NOW - 600 + i, "started_at": started, "ended_at": ended, "waiters": waiters,
            "model": model, "method": method, "detached": False}


JOBS = [
    _job(9, "running", "web-fleet", "plan", waiters=20, pid=31337, started=NOW - 42.5),
    _job(8, "running", "db-backup", "snapshot", waiters=1, pid=31290, started=NOW - 305),
    _job(7, "queued", "dns", "sync", waiters=1),
    _job(6, "succeeded", "web-fleet", "apply", pid=30001, started=NOW - 500, ended=NOW - 430),
    _job(5, "failed", "lint", "check", pid=30000, started=NOW - 520, ended=NOW - 519.2),
    _job(4, "cancelled", "soak", "run", pid=29999, started=NOW - 560, ended=NOW - 540),
]

FLIGHT_KEY = "7f3a9c0d2b1e4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c"
PEERS = [{"pid": 40100 + i, "uid": 1000, "cmdline": f"swamp run web-fleet plan --arg region=eu-west-1 # agent {i}",
          "ppid": 39000 + i % 4, "parent_cmdline": f"claude --agent infra-{i % 4}", "waited": 42.5 - i}
         for i in range(20)]

def _history(params: dict[str, Any] | None) -> dict[str, Any]:
    """stats.history as the daemon answers it: 60 s window, a dip from 95 % to 85 %, one empty bucket."""
    window = int((params or {}).get("window", 60))
    points = int((params or {}).get("points", 60))
    step = window / points
    out = []
    for i in range(points):
        ratio = None if i == 20 else (0.95 if i < points // 2 else 0.85)
        reads = 0 if ratio is None else 40
        out.append({"t": NOW - window + (i + 1) * step, "seconds": step, "reads": reads,
                    "hits": round(reads * (ratio or 0)), "hit_ratio": ratio,
                    "requests_per_s": 40.0 + (i * 13) % 50})
    return {"window": window, "step": step, "now": NOW, "covered": float(window), "daemon_started": NOW - 8000,
            "points": out, "overall": {"t": NOW, "seconds": float(window), "reads": 2360, "hits": 2124,
                                       "hit_ratio": 0.9, "requests_per_s": 63.2}}


FLEET = [
    {"name": "build-1", "kind": "ssh", "destination": "ci@build-1.internal", "labels": ["linux", "gpu"],
     "command": None, "state": "up", "reachable": True, "version": "0.1.0", "protocol": 1, "rtt_ms": 1.27,
     "last_seen": NOW - 4, "checked_at": NOW - 4, "error": None, "session": True},
    {"name": "build-2", "kind": "ssh", "destination": "ci@build-2.internal", "labels": ["linux"], "command": None,
     "state": "down", "reachable": False, "version": None, "protocol": None, "rtt_ms": None, "last_seen": NOW - 3600,
     "checked_at": NOW - 30, "session": False,
     "error": {"kind": "backend_unavailable",
               "message": "ssh could not reach host build-2: ssh: connect to host build-2.internal port 22: "
                          "Connection refused"}},
    {"name": "legacy", "kind": "ssh", "destination": "ops@legacy", "labels": [], "command": None,
     "state": "version_mismatch", "reachable": False, "version": "0.0.9", "protocol": 0, "rtt_ms": None,
     "last_seen": None, "checked_at": NOW - 60, "session": False,
     "error": {"kind": "version_mismatch", "message": "host legacy runs swampd 0.0.9 speaking protocol 0"}},
    {"name": "swamp", "kind": "serve", "url": "wss://swamp.internal:9090", "labels": ["serve"],
     "token": "vault host/SWAMP_SERVE_TOKEN", "state": "unknown", "reachable": None, "version": None,
     "protocol": None, "rtt_ms": None, "last_seen": None, "checked_at": None, "error": None, "session": False},
]


LOGS = {JOBS[0]["id"]: [f"[web-fleet.plan] step {i}: planning host web-{i}" for i in range(12)]}


RESULTS: dict[str, Any] = {
    "daemon.status": {"pid": 4242, "version": "0.1.0", "protocol": 1, "started_at": NOW - 8000, "uptime": 8000.0,
                      "mode": "daemon", "socket": "/run/user/1000/swampd/swampd.sock", "connections": 23,
                      "connections_total": 180, "requests_total": 98765, "requests_in_flight": 21,
                      "subscriptions": 1, "draining": False, "busy": ["2 job(s) running"], "config": {}},
    "calls.stats": {"flights": 1, "waiters": 20, "oldest_age": 42.5, "calls_total": 412, "flights_total": 57,
                    "coalesced_total": 355, "executions_saved": 349, "errors_total": 2, "cancelled_total": 1,
                    "detached_total": 0},
    "calls.inflight": {"calls": [{"key": FLIGHT_KEY, "method": "jobs.swamp", "model": "web-fleet",
                                  "started": NOW - 42.5, "age": 42.5, "waiters": 20, "held": False,
                                  "peers": PEERS}]},
    "cache.stats": {
        "overall": {"requests": 5000, "hits": 4610, "misses": 390, "hit_ratio": 0.922, "stale_served": 12,
                    "backend_reads": 390, "backend_errors": 1, "latency_p50_ms": 3.2, "latency_p95_ms": 18.4,
                    "items": 3, "bytes": 5_600_000, "max_size": 1_073_741_824, "evictions": 17,
                    "eviction_policy": "least-recently-stored", "staleness": 5.0, "coalescer": "local"},
        "backends": {
            "filesystem": {"requests": 4000, "hits": 3900, "misses": 100, "hit_ratio": 0.975, "stale_served": 0,
                           "backend_reads": 100, "backend_errors": 0, "latency_p50_ms": 0.4,
                           "latency_p95_ms": 1.1, "items": 2, "bytes": 1_600_000},
            "s3": {"requests": 1000, "hits": 710, "misses": 290, "hit_ratio": 0.71, "stale_served": 12,
                   "backend_reads": 290, "backend_errors": 1, "latency_p50_ms": 21.0, "latency_p95_ms": 64.3,
                   "items": 1, "bytes": 4_000_000},
        },
        "prefetches": [{"id": "prefetch-1", "repo": "infra", "state": "running", "total": 40, "done": 10,
                        "fetched": 9, "bytes": 900_000, "errors": 0}],
    },
    "cache.keys": {"total": 3, "offset": 0, "limit": 100, "keys": [
        {"key": f"{STORE}/data/aws-ec2/web-1/state/3/raw", "size": 1_200_000, "age": 125.0,
         "backend": "filesystem", "mutable": False, "stale": False},
        {"key": f"{STORE}/data/aws-ec2/web-1/state/latest", "size": 400_000, "age": 7.5, "backend": "filesystem",
         "mutable": True, "stale": True},
        {"key": "s3-99aa00bb11cc/data/dns/zone/records/12/raw", "size": 4_000_000, "age": 3600.0, "backend": "s3",
         "mutable": False, "stale": False},
    ]},
    "repos.list": [{"name": "infra", "path": "/srv/infra", "backend": "filesystem", "store_id": STORE},
                   {"name": "dns", "path": "/srv/dns", "backend": "s3", "store_id": "s3-99aa00bb11cc"}],
    "datastore.health": {"healthy": False, "datastores": [
        {"store_id": STORE, "backend": "filesystem", "repos": ["infra"], "state": "up", "healthy": True,
         "message": "ok", "latency_ms": 0.2},
        {"store_id": "s3-99aa00bb11cc", "backend": "s3", "repos": ["dns"], "state": "down", "healthy": False,
         "message": "unreachable", "latency_ms": 2000.0}]},
    "jobs.list": lambda params: {"jobs": [j for j in JOBS if not (params or {}).get("state")
                                          or j["state"] == (params or {}).get("state")]},
    "jobs.get": lambda params: next(j for j in JOBS if j["id"] == params["id"]),
    "vault.list": {"locked": False, "vaults": [
        {"name": "host", "type": "keyring", "repo": None, "supported": True, "keys": [
            {"key": "GITHUB_TOKEN", "backend": "SecretService", "updatedAt": NOW - 86400, "rotatedAt": NOW - 3600,
             "version": 4, "labels": {"team": "infra"}, "value": "MUST-NEVER-SHOW"},
            {"key": "SLACK_WEBHOOK", "backend": "SecretService", "updatedAt": NOW - 7200, "rotatedAt": None,
             "version": 1, "labels": {}}]},
        {"name": "dev", "type": "local_encryption", "repo": "/srv/infra", "supported": True, "keys": [
            {"key": "DB_PASSWORD", "updatedAt": NOW - 500, "version": 2}]},
        {"name": "prod", "type": "aws_sm", "repo": "/srv/infra", "supported": False, "keys": []}]},
    "extensions.list": {"extensions": [
        {"name": "@acme/aws", "version": "1.4.0", "kinds": ["model"], "types": {"model": ["@acme/aws-ec2",
                                                                                         "@acme/aws-s3"]},
         "size": 120_000, "files": 12, "checksum": "sha256:ab", "linked_projects": ["/srv/infra", "/srv/dns"]},
        {"name": "@acme/dns", "version": "0.9.1", "kinds": ["model"], "types": {"model": ["@acme/dns-zone"]},
         "size": 30_000, "files": 4, "checksum": "sha256:cd", "linked_projects": []}]},
    "extensions.verify": {"ok": False, "entries": [
        {"name": "@acme/aws", "version": "1.4.0", "ok": True, "changed": [], "missing": [], "added": []},
        {"name": "@acme/dns", "version": "0.9.1", "ok": False, "changed": ["a.ts"], "missing": [], "added": []}]},
    "calls.cancel": {"cancelled": True, "waiters": 20},
    "jobs.cancel": {"id": "job009abcdef", "state": "cancelled", "status": "cancelled"},
    "cache.evict": {"evicted": 1},
    "cache.prefetch": {"id": "prefetch-2", "state": "running", "topic": "cache"},
    "vault.rotate": {"vault": "host", "key": "GITHUB_TOKEN", "source": "policy", "version": 5},
    "stats.history": _history,
    "context.list": lambda params: (
        {"scope": params["scope"], "keys": [
            {"scope": params["scope"], "key": f"step-{i}", "version": i + 1, "size": 120 * (i + 1), "ttl": 3600,
             "ttl_left": 3000.0 - i * 100, "expires_at": NOW + 3000 - i * 100, "created_at": NOW - 600,
             "updated_at": NOW - 60 * i} for i in range(3)]}
        if (params or {}).get("scope") else
        {"bytes": 9_400, "max_bytes": 268_435_456, "scopes": [
            {"scope": "run-7f3a", "keys": 3, "bytes": 720, "next_expiry": NOW + 2800, "last_expiry": NOW + 3000,
             "updated_at": NOW - 5, "ttl_left": 3000.0},
            {"scope": "run-b21c", "keys": 12, "bytes": 8_680, "next_expiry": NOW + 40, "last_expiry": NOW + 45,
             "updated_at": NOW - 300, "ttl_left": 45.0}]}),
    "context.drop": {"scope": "run-7f3a", "key": None, "dropped": 3},
    "fleet.list": {"hosts": FLEET},
    "fleet.ping": lambda params: {"hosts": [{**h, "state": "up", "rtt_ms": 1.9, "last_seen": NOW, "error": None}
                                            for h in FLEET if h["name"] in ((params or {}).get("names") or
                                                                            [x["name"] for x in FLEET])]},
}

def fixed_source(**overrides: Any) -> FixedSource:
    results = {**RESULTS, **overrides}
    return FixedSource({k: v for k, v in results.items() if v is not None}, now=NOW, logs=LOGS)


def missing(method: str) -> RpcError:
    return RpcError(-32601, f"method not found: {method}", {"kind": "method_not_found"})
