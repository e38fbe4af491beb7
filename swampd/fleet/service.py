"""The fleet: other hosts' daemons over ssh and `swamp serve` endpoints, as one registry.

- Entries live in the host config (`[fleet.hosts.NAME]`, `[fleet.serve.NAME]`); `add`/`remove`
  edit the file and this daemon's view together.
- One `SshSession` per host, opened on first use and shared by every caller (its calls are
  multiplexed); a per-host lock makes concurrent first calls wait for one connect.
- Each entry's state (reachable, daemon and protocol version, round trip, last seen, error) is
  kept here and published on the `fleet` topic whenever it changes or is measured.
- Sessions with nothing to do for `session_idle` seconds are closed; open ones are pinged every
  `ping_interval` seconds, so a host that died shows as down without anyone calling it.
"""

from __future__ import annotations

import asyncio
import builtins
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.abc import TaskGroup

from swampd.errors import BackendUnavailable, InvalidInput, NotFound, SwampdError, Unsupported
from swampd.fleet import config_file
from swampd.fleet.session import SshSession
from swampd.fleet.settings import (
    HOSTS,
    SERVE,
    Entry,
    FleetSettings,
    HostEntry,
    ServeEntry,
    check_name,
    entries_from_table,
    host_entry,
    serve_entry,
)
from swampd.taskhost import TaskHost

log = logging.getLogger("swampd.fleet")

TOPIC = "fleet"
Publish = Callable[[str, dict[str, Any]], None]


@dataclass
class EntryState:
    """What is known about one entry, as `fleet.list` and the `fleet` topic show it."""

    name: str
    kind: str
    state: str = "unknown"
    """unknown (never contacted), up, down, version_mismatch."""
    version: str | None = None
    protocol: int | None = None
    rtt_ms: float | None = None
    last_seen: float | None = None
    checked_at: float | None = None
    error: dict[str, Any] | None = None
    session: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {"state": self.state, "reachable": None if self.state == "unknown" else self.state == "up",
                "version": self.version, "protocol": self.protocol, "rtt_ms": self.rtt_ms,
                "last_seen": self.last_seen, "checked_at": self.checked_at, "error": self.error,
                "session": self.session, **self.extra}


class FleetService:
    def __init__(self, settings: FleetSettings, *, config_path: str, entries: dict[str, Entry],
                 state_dir: str, publish: Publish | None = None,
                 extensions: Callable[[], Any] | None = None, vault: Callable[[], Any] | None = None) -> None:
        from swampd.fleet.inbox import Inbox
        from swampd.fleet.push import Pusher

        self.settings = settings
        self.config_path = config_path
        self._entries = dict(entries)
        self._publish = publish or (lambda topic, data: None)
        self._states: dict[str, EntryState] = {n: EntryState(n, e.kind) for n, e in entries.items()}
        self._sessions: dict[str, SshSession] = {}
        self._connect_locks: dict[str, anyio.Lock] = {}
        self._host = TaskHost("swampd fleet")
        self._start_lock = anyio.Lock()
        self._background: set[asyncio.Task[None]] = set()
        missing = _missing("extensions")
        self.pusher = Pusher(self, extensions=extensions or missing, vault=vault or _missing("vault"))
        self.inbox = Inbox(os.path.join(state_dir, "fleet", "uploads"),
                           extensions=extensions or missing, vault=vault or _missing("vault"),
                           publish=self.publish)

    @classmethod
    def from_config(cls, table: dict[str, Any], config_path: str, publish: Publish, **deps: Any) -> FleetService:
        return cls(FleetSettings.from_mapping(table), config_path=config_path,
                   entries=entries_from_table(table), publish=publish, **deps)

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the task group that hosts session readers and the monitor (once)."""
        async with self._start_lock:
            if self._host.group is not None:
                return
            tg = await self._host.start()
            tg.start_soon(self._monitor)
            await self.inbox.start()

    async def aclose(self) -> None:
        """Close every session and stop the task group."""
        with anyio.CancelScope(shield=True):
            sessions, self._sessions = list(self._sessions.values()), {}
            for session in sessions:
                await session.aclose("the daemon is stopping")
            await self._host.aclose()

    async def _group(self) -> TaskGroup:
        if self._host.group is None:
            await self.start()
        assert self._host.group is not None
        return self._host.group

    def spawn(self, fn: Callable[[], Any]) -> None:
        """Run `fn()` in the fleet's task group, in the background (from sync code on the loop)."""

        async def go() -> None:
            tg = await self._group()
            tg.start_soon(fn)

        task = asyncio.get_running_loop().create_task(go())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- the registry ----------------------------------------------------------------------

    def entry(self, name: str) -> Entry:
        entry = self._entries.get(name)
        if entry is None:
            raise NotFound(f"no fleet host or serve endpoint named {name} (swamp fleet ls)", name=name)
        return entry

    def host(self, name: str) -> HostEntry:
        entry = self.entry(name)
        if not isinstance(entry, HostEntry):
            raise InvalidInput(f"{name} is a swamp serve endpoint, not a host running swampd", name=name)
        return entry

    def resolve(self, target: str) -> Entry:
        """The entry a job target names: an entry's name, or a label (its least busy entry that is up)."""
        if not isinstance(target, str) or not target:
            raise InvalidInput("target must be a fleet host name or label")
        label = target.removeprefix("label:")
        if target in self._entries and not target.startswith("label:"):
            return self._entries[target]
        matching = [e for e in self._entries.values() if label in e.labels]
        if not matching:
            raise NotFound(f"no fleet host, serve endpoint or label named {target} (swamp fleet ls)",
                           target=target)

        def rank(entry: Entry) -> tuple[int, int, float, str]:
            state = self._states[entry.name]
            session = self._sessions.get(entry.name)
            return ({"up": 0, "unknown": 1}.get(state.state, 2), session.in_flight if session else 0,
                    state.rtt_ms if state.rtt_ms is not None else 1e9, entry.name)

        return min(matching, key=rank)

    async def list(self) -> list[dict[str, Any]]:
        return [{**entry.describe(), **self._states[name].describe()}
                for name, entry in sorted(self._entries.items())]

    async def add(self, name: str, *, destination: str | None = None, url: str | None = None,
                  labels: builtins.list[str] | None = None, command: str | None = None,
                  ssh_options: builtins.list[str] | None = None, token_secret: str | None = None,
                  token_repo: str | None = None, token_file: str | None = None,
                  connect_timeout: float | None = None, replace: bool = False) -> dict[str, Any]:
        """Add (or with `replace`, change) a host (`destination`) or a serve endpoint (`url`)."""
        check_name(name)
        if (destination is None) == (url is None):
            raise InvalidInput("give a destination (an ssh host running swampd) or a url (a swamp serve endpoint)")
        entry: Entry
        if destination is not None:
            if token_secret or token_repo or token_file:
                raise InvalidInput("token_secret, token_repo and token_file belong to serve endpoints (url)")
            table: dict[str, Any] = {"destination": destination}
            if labels:
                table["labels"] = labels
            if command:
                table["command"] = command
            if ssh_options:
                table["ssh_options"] = ssh_options
            if connect_timeout is not None:
                table["connect_timeout"] = connect_timeout
            entry = host_entry(name, table)
            kind = HOSTS
        else:
            if command or ssh_options or connect_timeout is not None:
                raise InvalidInput("command, ssh_options and connect_timeout belong to hosts (destination)")
            table = {"url": url}
            if labels:
                table["labels"] = labels
            for key, value in (("token_secret", token_secret), ("token_repo", token_repo),
                               ("token_file", token_file)):
                if value:
                    table[key] = value
            entry = serve_entry(name, table)
            kind = SERVE
        replaced = await anyio.to_thread.run_sync(
            lambda: config_file.add_entry(self.config_path, kind, name, entry.to_table(), replace=replace))
        old = self._sessions.pop(name, None)
        if old is not None:
            await old.aclose("the entry was replaced")
        self._entries[name] = entry
        self._states[name] = EntryState(name, entry.kind)
        self._emit_entry("fleet.added" if not replaced else "fleet.changed", name)
        return {**entry.describe(), "replaced": replaced, "config_file": self.config_path}

    async def remove(self, name: str) -> dict[str, Any]:
        entry = self.entry(name)
        await anyio.to_thread.run_sync(config_file.remove_entry, self.config_path,
                                       HOSTS if entry.kind == "ssh" else SERVE, name)
        session = self._sessions.pop(name, None)
        if session is not None:
            await session.aclose("the host was removed from the fleet")
        self._entries.pop(name, None)
        self._states.pop(name, None)
        self._publish(TOPIC, {"type": "fleet.removed", "name": name})
        return {"removed": name, "config_file": self.config_path}

    # -- sessions and calls ----------------------------------------------------------------

    async def session(self, name: str) -> SshSession:
        """The open session to host `name`, connecting it when there is none."""
        session = self._sessions.get(name)
        if session is not None and session.alive:
            return session
        entry = self.host(name)
        lock = self._connect_locks.setdefault(name, anyio.Lock())
        async with lock:
            session = self._sessions.get(name)
            if session is not None and session.alive:
                return session
            tg = await self._group()
            session = SshSession(entry, self.settings, tg, on_lost=self._session_lost)
            self._set_state(name, state="connecting", session=False, publish=False)
            started = time.monotonic()
            try:
                hello = await session.open()
            except SwampdError as exc:
                state = "version_mismatch" if exc.kind == "version_mismatch" else "down"
                self._set_state(name, state=state, error={"kind": exc.kind, "message": exc.message},
                                checked_at=time.time(), session=False,
                                version=exc.data.get("remote_version"), protocol=exc.data.get("remote_protocol"))
                raise
            now = time.time()
            self._sessions[name] = session
            self._set_state(name, state="up", version=hello.get("version"), protocol=hello.get("protocol"),
                            rtt_ms=round((time.monotonic() - started) * 1000, 3), last_seen=now,
                            checked_at=now, error=None, session=True, extra={"connect_ms": round(
                                (time.monotonic() - started) * 1000, 3)})
            return session

    def _session_lost(self, session: SshSession) -> None:
        if self._sessions.get(session.name) is not session:
            return  # closed on purpose (idle, removed, replaced, the daemon stopping) or never opened
        del self._sessions[session.name]
        if session.name in self._states and session.hello:
            self._set_state(session.name, state="down", session=False, checked_at=time.time(),
                            error={"kind": "backend_unavailable", "message": session.lost_reason})

    async def call(self, host: str, method: str, params: Any = None, *, timeout: float | None | bool = True) -> Any:
        """Call `method` on host's daemon over its shared session."""
        session = await self.session(host)
        try:
            result = await session.call(method, params, timeout=timeout)
        except SwampdError as exc:
            if exc.kind in ("backend_unavailable", "timeout") and not session.alive:
                self._set_state(host, state="down", session=False, checked_at=time.time(),
                                error={"kind": exc.kind, "message": exc.message})
            raise
        self._states[host].last_seen = time.time()
        return result

    async def ping(self, names: builtins.list[str] | None = None) -> builtins.list[dict[str, Any]]:
        """Measure every named entry (default: all) concurrently; each within its own bounds."""
        targets = names if names is not None else sorted(self._entries)
        for name in targets:
            self.entry(name)
        results: dict[str, dict[str, Any]] = {}

        async def one(name: str) -> None:
            results[name] = await self._ping_one(name)

        async with anyio.create_task_group() as tg:
            for name in targets:
                tg.start_soon(one, name)
        return [results[n] for n in targets]

    async def _ping_one(self, name: str) -> dict[str, Any]:
        entry = self.entry(name)
        if isinstance(entry, ServeEntry):
            return await self._ping_serve(entry)
        try:
            session = await self.session(name)
            started = time.monotonic()
            hello = await session.call("daemon.hello", None, timeout=session.connect_timeout, touch=False)
            now = time.time()
            self._set_state(name, state="up", version=hello.get("version"), protocol=hello.get("protocol"),
                            rtt_ms=round((time.monotonic() - started) * 1000, 3), last_seen=now,
                            checked_at=now, error=None, session=True)
        except SwampdError as exc:
            if self._states[name].state not in ("down", "version_mismatch"):
                self._set_state(name, state="down", checked_at=time.time(), session=False,
                                error={"kind": exc.kind, "message": exc.message})
        return {"name": name, "kind": entry.kind, **self._states[name].describe()}

    async def _ping_serve(self, entry: ServeEntry) -> dict[str, Any]:
        import urllib.error
        import urllib.request  # not at import: the daemon's start-up does not pay for http.client

        url = entry.url.replace("ws://", "http://", 1).replace("wss://", "https://", 1).rstrip("/") + "/health"
        timeout = self.settings.connect_timeout
        started = time.monotonic()

        def fetch() -> dict[str, Any]:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                health: dict[str, Any] = json.loads(response.read(1024 * 1024))
                return health

        try:
            with anyio.fail_after(timeout + 1):
                body = await anyio.to_thread.run_sync(fetch, abandon_on_cancel=True)
            if not isinstance(body, dict) or body.get("status") != "ok":
                raise BackendUnavailable(f"swamp serve {entry.name} is not healthy")
            now = time.time()
            self._set_state(entry.name, state="up", version=str(body.get("version")), protocol=None,
                            rtt_ms=round((time.monotonic() - started) * 1000, 3), last_seen=now, checked_at=now,
                            error=None)
        except (TimeoutError, OSError, ValueError, urllib.error.URLError, SwampdError) as exc:
            kind = "timeout" if isinstance(exc, TimeoutError) else "backend_unavailable"
            message = (exc.message if isinstance(exc, SwampdError)
                       else f"swamp serve {entry.name} at {entry.url} is unreachable ({type(exc).__name__})")
            self._set_state(entry.name, state="down", checked_at=time.time(), error={"kind": kind, "message": message})
        return {"name": entry.name, "kind": entry.kind, **self._states[entry.name].describe()}

    async def _monitor(self) -> None:
        """Ping open sessions now and then; close the ones nobody used for `session_idle`."""
        periods = [p for p in (self.settings.ping_interval, self.settings.session_idle / 2) if p > 0]
        tick = max(1.0, min(periods)) if periods else None
        if tick is None:
            return
        last_ping = time.monotonic()
        while True:
            await anyio.sleep(tick)
            now = time.monotonic()
            ping_due = bool(self.settings.ping_interval) and now - last_ping >= self.settings.ping_interval
            if ping_due:
                last_ping = now
            for name, session in list(self._sessions.items()):
                idle = now - session.last_used
                if self.settings.session_idle and idle > self.settings.session_idle and not session.in_flight:
                    self._sessions.pop(name, None)
                    await session.aclose("idle")
                    self._set_state(name, session=False)
                elif ping_due:
                    await self._ping_one(name)

    # -- state and events ------------------------------------------------------------------

    def _set_state(self, name: str, *, publish: bool = True, extra: dict[str, Any] | None = None,
                   **changes: Any) -> None:
        state = self._states.get(name)
        if state is None:
            return
        for key, value in changes.items():
            setattr(state, key, value)
        if extra:
            state.extra.update(extra)
        if publish:
            self._emit_entry("fleet.host", name)

    def _emit_entry(self, type_: str, name: str) -> None:
        entry = self._entries.get(name)
        if entry is None:
            return
        self._publish(TOPIC, {"type": type_, **entry.describe(), **self._states[name].describe()})

    def busy_reason(self) -> str | None:
        # An open session alone never keeps the daemon up (remote jobs count in jobs); an upload does.
        return self.inbox.busy_reason()

    # -- for other fleet modules -----------------------------------------------------------

    def publish(self, data: dict[str, Any]) -> None:
        self._publish(TOPIC, data)


def _missing(what: str) -> Callable[[], Any]:
    def fail() -> Any:
        raise Unsupported(f"this fleet service was built without the {what} service")

    return fail
