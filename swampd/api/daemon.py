"""daemon.*: handshake, status and stop."""

from __future__ import annotations

from typing import Any

from swampd import protocol
from swampd.api._context import CallContext
from swampd.api._registry import rpc
from swampd.errors import InvalidParams, Unsupported

CAPABILITIES = ("batch", "notifications", "events", "cancel", "discover")


def hello_now(ctx: CallContext, client_protocol: int | None = None) -> dict[str, Any]:
    """daemon.hello answered at once: it reads nothing but the daemon's own facts."""
    state = ctx.services.state
    return {
        "version": state.version,
        "protocol": protocol.PROTOCOL_VERSION,
        "pid": state.pid,
        "started_at": state.started_at,
        "capabilities": list(CAPABILITIES),
        "compatible": client_protocol in (None, protocol.PROTOCOL_VERSION),
    }


@rpc("daemon.hello", now=hello_now)
async def hello(ctx: CallContext, client_protocol: int | None = None) -> dict[str, Any]:
    """Handshake: version, protocol, pid, start time and capabilities."""
    return hello_now(ctx, client_protocol)


@rpc("daemon.status")
async def status(ctx: CallContext) -> dict[str, Any]:
    """pid, version, protocol, uptime, socket, connections, requests and config summary."""
    services = ctx.services
    state = services.state
    daemon = services.control
    return {
        "pid": state.pid,
        "version": state.version,
        "protocol": protocol.PROTOCOL_VERSION,
        "started_at": state.started_at,
        "uptime": round(state.uptime, 3),
        "mode": "in-process" if state.in_process else "daemon",
        "socket": services.config.paths.socket if daemon else None,
        "connections": state.connections,
        "connections_total": state.connections_total,
        "requests_total": state.requests_total,
        "requests_in_flight": state.requests_in_flight,
        "requests_answered_now": state.requests_answered_now,
        "requests_answered_again": state.requests_answered_again,
        "subscriptions": services.bus.subscription_count,
        "draining": state.draining,
        "busy": services.busy_reasons(),
        "limits": daemon.limits() if daemon is not None else None,
        "front": services.front.status(),
        "config": services.config.summary(),
    }


@rpc("daemon.top")
async def top(ctx: CallContext, peers: int = 10) -> dict[str, Any]:
    """One snapshot for `swamp top`: flights and waiters, running jobs, cache hit rate and busiest peers."""
    from swampd.top import snapshot

    if peers < 0:
        raise InvalidParams("peers must be >= 0", param="peers")
    return await snapshot(ctx.services, caller_pid=ctx.peer.pid, peer_limit=peers)


@rpc("daemon.peers")
async def peers_(ctx: CallContext) -> dict[str, Any]:
    """Connected client processes: pid, command line, connections, requests (last minute, total), work."""
    from swampd.top import connected_peers

    return {"peers": connected_peers(ctx.services)}


@rpc("daemon.stop", mutating=True)
async def stop(ctx: CallContext, reason: str = "requested by client") -> dict[str, Any]:
    """Stop gracefully: in-flight requests answer (within the drain grace), then exit."""
    daemon = ctx.services.control
    if daemon is None:
        raise Unsupported("no daemon is running: this call ran in-process")
    daemon.request_stop(f"{reason} (pid {ctx.peer.pid})")
    return {"stopping": True, "pid": ctx.services.state.pid}
