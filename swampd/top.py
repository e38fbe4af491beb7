"""One snapshot of what the daemon is doing now, for `swamp top` (`daemon.top`).

Everything comes from memory except the job list (one small SQLite query in a worker thread).
The cache hit rate and the daemon's requests of the last minute come from its history (its
counters sampled each second, `stats.history`), which never opens the hot tier; requests per
peer from each connection's per-second counts.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from swampd.rates import RECENT_WINDOW

if TYPE_CHECKING:
    from swampd.peer import Connection
    from swampd.services import Services

ACTIVE_JOB_STATES = ["running", "queued"]


def peers(connections: Iterable[Connection], flights: list[dict[str, Any]], *,
          exclude_pid: int | None = None) -> list[dict[str, Any]]:
    """Connected client processes, busiest first: requests in the last minute, then work in progress."""
    by_pid: dict[int, dict[str, Any]] = {}
    for conn in connections:
        pid = conn.peer.pid
        if pid is None or pid == exclude_pid:
            continue
        entry = by_pid.get(pid)
        if entry is None:
            entry = by_pid[pid] = {"pid": pid, "cmdline": conn.peer.cmdline, "connections": 0,
                                   "requests_recent": 0, "requests_total": 0, "in_flight": 0, "waiting": 0,
                                   "connected_at": conn.opened_at}
        entry["connections"] += 1
        entry["requests_recent"] += conn.requests_recent.total() if conn.requests_recent is not None else 0
        entry["requests_total"] += conn.requests_total
        entry["in_flight"] += getattr(conn, "requests_in_flight", 0)
        entry["connected_at"] = min(entry["connected_at"], conn.opened_at)
    for flight in flights:
        for peer in flight["peers"]:
            if peer is not None and peer.get("pid") in by_pid:
                by_pid[peer["pid"]]["waiting"] += 1
    return sorted(by_pid.values(), key=lambda p: (p["requests_recent"], p["in_flight"] + p["waiting"],
                                                   p["requests_total"]), reverse=True)


def connected_peers(services: Services, flights: list[dict[str, Any]] | None = None, *,
                    exclude_pid: int | None = None) -> list[dict[str, Any]]:
    control = services.control
    connections = control.connections() if control is not None else []
    if flights is None:
        flights = services.fanout.inflight()
    return peers(connections, flights, exclude_pid=exclude_pid)


def _job(view: dict[str, Any], now: float) -> dict[str, Any]:
    spec = view.get("spec") or {}
    what = (f"{view.get('model')}.{view.get('method')}" if view.get("kind") == "swamp"
            else " ".join(str(a) for a in spec.get("argv") or []))
    since = view.get("started_at") or view.get("created_at") or now
    return {"id": view["id"], "kind": view.get("kind"), "state": view.get("state"), "what": what,
            "age": round(max(0.0, now - since), 3), "waiters": view.get("waiters", 0), "held": view.get("held"),
            "pid": view.get("pid")}


async def snapshot(services: Services, *, caller_pid: int | None = None, peer_limit: int = 10) -> dict[str, Any]:
    now = time.time()
    state = services.state
    fanout = services.fanout
    flights = fanout.inflight()
    jobs = await services.jobs.list(ACTIVE_JOB_STATES, 200)
    recent = services.history.window(RECENT_WINDOW, 1)  # the daemon's counters, sampled each second
    overall = recent["overall"]
    busy = connected_peers(services, flights, exclude_pid=caller_pid)
    return {
        "time": now,
        "window": RECENT_WINDOW,
        "daemon": {
            "pid": state.pid, "version": state.version, "uptime": round(state.uptime, 3),
            "connections": state.connections, "subscriptions": services.bus.subscription_count,
            "requests_total": state.requests_total,
            "requests_recent": round(overall["requests_per_s"] * overall["seconds"]),
            "requests_in_flight": state.requests_in_flight, "draining": state.draining,
        },
        "calls": {"flights": flights, "stats": fanout.stats()},
        "jobs": [_job(j, now) for j in jobs],
        "cache": {"window": RECENT_WINDOW, "covered": recent["covered"], "reads": overall["reads"],
                  "hits": overall["hits"], "hit_ratio": overall["hit_ratio"]},
        "peers": busy[:peer_limit],
        "peers_total": len(busy),
    }
