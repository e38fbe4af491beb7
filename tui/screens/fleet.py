"""Fleet: other hosts' swampd over ssh and swamp serve endpoints: reachable, versions, round trip, pushes."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from tui import format as fmt
from tui import records as rec
from tui.screens.base import Pane, Results
from tui.widgets.table import Cell, Col, LiveTable, Row
from tui.widgets.textbox import TextBox

COLUMNS = [Col("name", "name"), Col("kind", "kind"), Col("where", "where", flex=True, min=12),
           Col("labels", "labels", drop=2), Col("state", "state"), Col("version", "version"),
           Col("rtt", "round trip"), Col("seen", "last seen", drop=1), Col("session", "session", drop=3)]
TONES = {"up": "ok", "down": "bad", "version_mismatch": "warn", "connecting": "active", "unknown": "muted"}
HOST_EVENTS = ("fleet.host", "fleet.added", "fleet.changed")


class FleetPane(Pane):
    NAME = "fleet"
    TITLE = "Fleet"
    TOPICS = ("fleet",)
    METHODS = ("fleet.list",)
    KEYS = [("g", "ping the selected host (daemon.hello over its ssh session)"), ("G", "ping every host")]
    BINDINGS = [Binding("g", "ping", "ping"), Binding("G", "ping_all", "ping all")]

    def __init__(self) -> None:
        super().__init__()
        self.hosts: dict[str, dict[str, Any]] = {}
        self.activity: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield self.filter_box()
        yield self.empty_line()
        yield LiveTable(COLUMNS, id="fleet-table", order=lambda k, r: k)
        yield TextBox("", id="fleet-activity")

    def show(self, results: Results) -> None:
        if self.unavailable(results):
            return
        error = self.error_text(results, "fleet.list")
        if error:
            self.set_empty(error)
            return
        hosts = rec.dicts(rec.mapping(results.get("fleet.list")).get("hosts"))
        self.hosts = {rec.text(h.get("name")): h for h in hosts if rec.text(h.get("name"))}
        self._redraw()
        self.set_empty("" if self.hosts else "no fleet hosts: `swamp fleet add [USER@]HOST` adds one "
                                             "(`--serve URL` for a swamp serve endpoint)")

    def _redraw(self) -> None:
        now = self.dash.source.now()
        self.query_one(LiveTable).sync({k: self._row(h, now) for k, h in self.hosts.items()})

    def _row(self, host: dict[str, Any], now: float) -> Row:
        state = rec.text(host.get("state"), "unknown")
        version = rec.text(host.get("version"), "-")
        if host.get("protocol") is not None:
            version += f" (p{rec.integer(host.get('protocol'))})"
        rtt = rec.number(host.get("rtt_ms"))
        seen = rec.number(host.get("last_seen"))
        labels: list[Any] = host["labels"] if isinstance(host.get("labels"), list) else []
        return (rec.text(host.get("name")), rec.text(host.get("kind"), "-"),
                rec.text(host.get("destination")) or rec.text(host.get("url"), "-"),
                ", ".join(map(str, labels)) or "-",
                Cell(state.replace("_", " "), tone=TONES.get(state, "")), version,
                Cell(f"{rtt:.1f} ms" if rtt is not None else "-", sort=rtt),
                Cell(fmt.ago(seen, now) + " ago" if seen else "never", sort=-(seen or 0)),
                "open" if host.get("session") else "-")

    def tick(self) -> None:
        now = self.dash.source.now()
        for key, host in self.hosts.items():
            self.query_one(LiveTable).upsert(key, self._row(host, now))

    def on_events(self, events: list[dict[str, Any]]) -> None:
        table = self.query_one(LiveTable)
        now = self.dash.source.now()
        for event in events:
            data = rec.mapping(event.get("data"))
            kind = data.get("type")
            name = rec.text(data.get("name"))
            if kind in HOST_EVENTS and name:
                host = {**self.hosts.get(name, {}), **{k: v for k, v in data.items() if k != "type"}}
                self.hosts[name] = host
                table.upsert(name, self._row(host, now))
                self.set_empty("")
            elif kind == "fleet.removed" and name:
                self.hosts.pop(name, None)
                table.discard(name)
            elif kind in ("fleet.push", "fleet.received"):
                self.activity = data
                self._show_activity()

    def _show_activity(self) -> None:
        a = self.activity or {}
        what = f"{rec.text(a.get('kind'))} {rec.text(a.get('item'))}"
        if a.get("type") == "fleet.received":
            line = f"received {what} from {rec.text(a.get('origin'), '?')}"
        else:
            line = f"push {what} -> {rec.text(a.get('host'))}: {rec.text(a.get('status'))}"
            total = rec.number(a.get("total"))
            if total:
                sent = rec.number(a.get("sent")) or 0.0
                line += f" ({fmt.size(sent)} of {fmt.size(total)}, {100 * sent / total:.0f}%)"
        self.query_one("#fleet-activity", Static).update(Text(line))  # data, never markup

    def record_of(self, key: str) -> dict[str, Any] | None:
        return self.hosts.get(key)

    def show_ping(self, result: dict[str, Any]) -> None:
        for host in rec.dicts(result.get("hosts")):
            name = rec.text(host.get("name"))
            if name:
                self.hosts[name] = {**self.hosts.get(name, {}), **host}
        self._redraw()

    def commands(self) -> list[tuple[str, str, str]]:
        return [("Ping host", "daemon.hello to the selected fleet host", "ping"),
                ("Ping every host", "contact every fleet host and serve endpoint", "ping_all")]

    def action_ping(self) -> None:
        name = self.query_one(LiveTable).cursor_key()
        if name is None or name not in self.hosts:
            self.dash.notify("no host selected", severity="warning")
            return
        self.dash.rpc_action("fleet.ping", {"names": [name]}, done=f"pinged {name}", on_result=self.show_ping)

    def action_ping_all(self) -> None:
        self.dash.rpc_action("fleet.ping", {}, done="pinged every host", on_result=self.show_ping)
