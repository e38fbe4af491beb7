"""In-flight: identical calls the daemon runs once, who waits on them, for how long, from which agent."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from tui import format as fmt
from tui import records as rec
from tui.screens.base import Pane, Results
from tui.widgets.table import Cell, Col, LiveTable, Row
from tui.widgets.textbox import TextBox

COLUMNS = [Col("key", "key", max=12, drop=6), Col("method", "method", drop=3),
           Col("target", "model / command", flex=True, min=20), Col("origin", "origin", drop=4),
           Col("age", "age"), Col("waiters", "waiters"), Col("held", "held", drop=5)]
TIMELINE_COLUMNS = [Col("time", "time (UTC)"), Col("phase", "phase"), Col("key", "flight", max=12),
                    Col("what", "method / model / command", flex=True, min=16, drop=2), Col("pid", "peer pid"),
                    Col("peer", "peer command line", flex=True, min=12, drop=1), Col("waiters", "waiters"),
                    Col("outcome", "outcome", drop=3), Col("duration", "duration", drop=4)]
TIMELINE_KEEP = 1000
"""Calls events the timeline keeps (the console's own memory; `swamp events --since-start` has older)."""
PEER_COLUMNS = [Col("pid", "pid"), Col("waited", "waited"), Col("ppid", "agent pid", drop=2),
                Col("agent", "agent (parent process)", flex=True, min=16, drop=1),
                Col("cmdline", "command line", flex=True, min=24)]


def flight_record(raw: Any, now: float) -> dict[str, Any] | None:
    """A flight from `calls.inflight` or an event, in the shape the pane uses (None: no key)."""
    data = rec.mapping(raw)
    key = rec.text(data.get("key"))
    if not key:
        return None
    age = rec.number(data.get("age"))
    started = rec.number(data.get("started"))
    if started is None:
        started = now - (age or 0.0)
    peers = [peer_record(p, now) for p in rec.dicts(data.get("peers"))]
    return {"key": key, "method": rec.text(data.get("method"), "-"), "model": rec.text(data.get("model")),
            "detail": rec.text(data.get("detail")), "origin": rec.text(data.get("origin"), "client"),
            "internal": bool(data.get("internal")), "started": started,
            "waiters": rec.integer(data.get("waiters"), len(peers)),
            "internal_waiters": rec.integer(data.get("internal_waiters")), "held": bool(data.get("held")),
            "peers": [p for p in peers if p is not None]}


def peer_record(raw: Any, now: float) -> dict[str, Any] | None:
    data = rec.mapping(raw)
    if data.get("pid") is None:
        return None
    waited = rec.number(data.get("waited"))
    return {"pid": rec.text(data.get("pid")), "cmdline": rec.text(data.get("cmdline")),
            "ppid": rec.text(data.get("ppid")), "parent_cmdline": rec.text(data.get("parent_cmdline")),
            "joined": now - (waited or 0.0)}


class InflightPane(Pane):
    NAME = "inflight"
    TITLE = "In-flight"
    TOPICS = ("calls",)
    METHODS = ("calls.inflight",)
    MUTATING = frozenset({"cancel_flight"})
    KEYS = [("x", "cancel the selected flight for every waiter (asks first)"),
            ("i", "hide / show the daemon's own flights (hot-tier reads and revalidations)"),
            ("t", "the calls timeline (what `swamp events --topic calls` prints) instead of the peers")]
    BINDINGS = [Binding("x", "cancel_flight", "cancel flight"), Binding("i", "toggle_internal", "hide internal"),
                Binding("t", "toggle_timeline", "timeline")]

    def __init__(self) -> None:
        super().__init__()
        self.flights: dict[str, dict[str, Any]] = {}
        self.hide_internal = False
        self.shown_key: str | None = None
        self.timeline: dict[str, Row] = {}
        self.show_timeline = False

    def compose(self) -> ComposeResult:
        yield self.filter_box()
        yield self.empty_line()
        yield LiveTable(COLUMNS, id="inflight-table", sort=("waiters", True),  # the biggest flight first
                        order=lambda k, r: -(self.flights.get(k, {}).get("started") or 0))
        yield TextBox("", id="peers-title")
        yield LiveTable(PEER_COLUMNS, id="peers", sort=("waited", True))
        yield LiveTable(TIMELINE_COLUMNS, id="calls-timeline", sort=("time", True))

    def table(self) -> LiveTable:
        return self.query_one("#inflight-table", LiveTable)

    def show(self, results: Results) -> None:
        if self.unavailable(results):
            return
        error = self.error_text(results, "calls.inflight")
        if error:
            self.set_empty(error)
            return
        now = self.dash.source.now()
        flights = (flight_record(c, now) for c in rec.dicts(rec.mapping(results.get("calls.inflight")).get("calls")))
        self.flights = {f["key"]: f for f in flights if f is not None}
        self._redraw()

    def _redraw(self) -> None:
        self.table().sync({k: self._row(f) for k, f in self.flights.items() if self._wanted(f)})
        self._after_change()

    def _wanted(self, flight: dict[str, Any]) -> bool:
        return not (self.hide_internal and flight["internal"])

    def _row(self, flight: dict[str, Any]) -> Row:
        age = max(0.0, self.dash.source.now() - flight["started"])
        target = flight["detail"] or flight["model"] or "-"
        origin = Cell("daemon", tone="muted") if flight["origin"] == "daemon" else Cell(flight["origin"])
        return (Cell(flight["key"][:12], sort=flight["key"]), flight["method"], target, origin,
                Cell(fmt.duration(age), sort=age), flight["waiters"],
                Cell("held", tone="info") if flight["held"] else "")

    def tick(self) -> None:
        table = self.table()
        for key, flight in self.flights.items():
            if self._wanted(flight):
                table.upsert(key, self._row(flight))
        self._show_peers(self.shown_key)

    def on_events(self, events: list[dict[str, Any]]) -> None:
        now = self.dash.source.now()
        table = self.table()
        for event in events:
            data = rec.mapping(event.get("data"))
            key = rec.text(data.get("key"))
            if not key:
                continue
            kind = rec.text(data.get("type"))
            if kind in ("call.ended", "call.cancelled"):
                self.flights.pop(key, None)
                table.discard(key)
                continue
            flight = self.flights.get(key)
            if flight is None:
                flight = flight_record({**data, "peers": []}, now)
                if flight is None:
                    continue
                self.flights[key] = flight
            for field in ("waiters", "internal_waiters"):
                if field in data:
                    flight[field] = rec.integer(data.get(field), flight[field])
            peer = peer_record(data.get("peer"), now)
            if peer is not None:
                if kind in ("call.started", "call.joined"):
                    if all(p["pid"] != peer["pid"] for p in flight["peers"]):
                        flight["peers"].append(peer)
                    flight["internal"] = False
                elif kind == "call.left":
                    flight["peers"] = [p for p in flight["peers"] if p["pid"] != peer["pid"]]
            if self._wanted(flight):
                table.upsert(key, self._row(flight))
        self._after_change()

    def _after_change(self) -> None:
        hidden = sum(1 for f in self.flights.values() if not self._wanted(f))
        note = f" ({hidden} internal hidden: i shows them)" if hidden else ""
        empty = "" if len(self.flights) > hidden else \
            f"no calls in flight: identical calls that overlap show here{note}"
        self.set_empty(empty)
        self._show_peers(self.table().cursor_key())

    def record_of(self, key: str) -> dict[str, Any] | None:
        flight = self.flights.get(key)
        if flight is None:
            return None
        now = self.dash.source.now()
        peers = [{"pid": p["pid"], "waited": fmt.duration(now - p["joined"]), "agent pid": p["ppid"] or "-",
                  "agent": p["parent_cmdline"] or "-", "command line": p["cmdline"] or "-"} for p in flight["peers"]]
        return {"key": flight["key"], "method": flight["method"], "model": flight["model"] or "-",
                "command": flight["detail"] or "-", "origin": flight["origin"],
                "started": fmt.stamp(flight["started"]), "age": fmt.duration(now - flight["started"]),
                "waiters": flight["waiters"], "daemon-internal waiters": flight["internal_waiters"],
                "held": "yes" if flight["held"] else "no", "peers": peers}

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "inflight-table":
            self._show_peers(str(event.row_key.value) if event.row_key is not None else None)

    def _show_peers(self, key: str | None) -> None:
        if self.show_timeline:
            return
        flight = self.flights.get(key or "")
        title = self.query_one("#peers-title", Static)
        peers_table = self.query_one("#peers", LiveTable)
        if flight is None:
            self.shown_key = None
            title.update(Text("select a flight to see who waits on it, for how long, from which agent"))
            peers_table.sync({})
            return
        self.shown_key = flight["key"]
        now = self.dash.source.now()
        internal = flight["internal_waiters"]
        what = flight["detail"] or " ".join(x for x in (flight["method"], flight["model"]) if x)
        line = Text.assemble((f"{len(flight['peers'])} waiting peer(s)", "bold"))
        if internal:
            line.append(f" + {internal} daemon-internal waiter(s)", style="italic")
        line.append(f"  ·  {what}  ·  flight {flight['key']}")
        line.no_wrap, line.overflow = True, "ellipsis"
        title.update(line)
        peers_table.sync({p["pid"]: (Cell(p["pid"], sort=int(p["pid"]) if p["pid"].isdigit() else 0),
                                     Cell(fmt.duration(now - p["joined"]), sort=now - p["joined"]),
                                     p["ppid"] or "-", p["parent_cmdline"] or "-", p["cmdline"] or "-")
                          for p in flight["peers"]})

    def on_mount(self) -> None:
        self.query_one("#calls-timeline").display = False

    def remember(self, events: list[dict[str, Any]]) -> None:
        """Every calls event since the console started, as `swamp events --topic calls` prints it."""
        for event in events:
            data = rec.mapping(event.get("data"))
            seq = rec.integer(event.get("seq")) or len(self.timeline) + 1
            at = rec.number(event.get("ts")) or self.dash.source.now()
            peer = rec.mapping(data.get("peer"))
            phase = rec.text(data.get("phase")) or rec.text(data.get("type")).removeprefix("call.")
            outcome = rec.text(data.get("outcome"))
            what = rec.text(data.get("detail")) or " ".join(
                x for x in (rec.text(data.get("method")), rec.text(data.get("model"))) if x)
            duration = rec.number(data.get("duration"))
            self.timeline[f"{seq:012d}"] = (
                Cell(fmt.stamp(at)[11:] + f".{int(at * 1000) % 1000:03d}", sort=(at, seq)),
                Cell(phase, tone={"started": "active", "finished": "ok" if outcome == "succeeded" else "bad",
                                  "detached": "muted"}.get(phase, "")),
                rec.text(data.get("key"))[:12], what or "-", rec.text(peer.get("pid"), "-"),
                rec.text(peer.get("cmdline"), "-"), rec.integer(data.get("waiters")),
                Cell(outcome or "-", tone="" if outcome in ("", "succeeded") else "bad"),
                Cell(fmt.duration(duration), sort=duration) if duration is not None else "-")
        while len(self.timeline) > TIMELINE_KEEP:
            self.timeline.pop(next(iter(self.timeline)))
        if self.show_timeline and self.is_visible_pane():
            self._draw_timeline()

    def _draw_timeline(self) -> None:
        self.query_one("#calls-timeline", LiveTable).sync(self.timeline)
        self.query_one("#peers-title", Static).update(Text(
            f"calls timeline: {len(self.timeline)} event(s) since this console started, newest first "
            "(t: back to the peers; `swamp events --topic calls --since-start` has older ones)"))

    def action_toggle_timeline(self) -> None:
        self.show_timeline = not self.show_timeline
        self.query_one("#calls-timeline").display = self.show_timeline
        self.query_one("#peers").display = not self.show_timeline
        if self.show_timeline:
            self._draw_timeline()
        else:
            self._show_peers(self.table().cursor_key())

    def commands(self) -> list[tuple[str, str, str]]:
        return [("Calls timeline", "what `swamp events --topic calls` prints, in the pane", "toggle_timeline"),
                ("Cancel flight", "cancel the selected in-flight call for every waiter", "cancel_flight"),
                ("Hide or show internal flights", "the daemon's own hot-tier reads and revalidations",
                 "toggle_internal")]

    def action_toggle_internal(self) -> None:
        self.hide_internal = not self.hide_internal
        self.dash.notify("internal flights hidden (i shows them)" if self.hide_internal
                         else "internal flights shown")
        self._redraw()

    def action_cancel_flight(self) -> None:
        key = self.table().cursor_key()
        flight = self.flights.get(key or "")
        if flight is None:
            self.dash.notify("no flight selected", severity="warning")
            return
        what = flight["detail"] or " ".join(x for x in (flight["method"], flight["model"]) if x)
        self.dash.confirm_rpc(
            f"Cancel this flight for all {flight['waiters']} waiter(s)?",
            f"{what}\n{flight['key']}",
            "calls.cancel", {"key": flight["key"]}, done="flight cancelled",
        )
