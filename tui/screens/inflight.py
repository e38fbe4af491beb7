"""In-flight: identical calls the daemon runs once, their waiters and the waiting peers."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from tui import format as fmt
from tui.screens.base import Pane, Results
from tui.widgets.table import LiveTable, Row

COLUMNS = [("key", "key"), ("method", "method"), ("model", "model"), ("age", "age"), ("waiters", "waiters"),
           ("held", "held")]


class InflightPane(Pane):
    NAME = "inflight"
    TITLE = "In-flight"
    TOPICS = ("calls",)
    METHODS = ("calls.inflight",)
    MUTATING = frozenset({"cancel_flight"})
    KEYS = [("x", "cancel the selected flight for every waiter (asks first)")]
    BINDINGS = [Binding("x", "cancel_flight", "cancel flight")]

    def __init__(self) -> None:
        super().__init__()
        self.flights: dict[str, dict[str, Any]] = {}

    def compose(self) -> ComposeResult:
        yield self.filter_box()
        yield self.empty_line()
        yield LiveTable(COLUMNS, id="inflight-table", order=lambda k, r: -(self.flights.get(k, {}).get("started") or 0))
        yield Static("", id="peers", classes="box detail")

    def show(self, results: Results) -> None:
        if self.unavailable(results):
            return
        error = self.error_text(results, "calls.inflight")
        if error:
            self.set_empty(error)
            return
        calls = (results.get("calls.inflight") or {}).get("calls") or []
        self.flights = {c["key"]: c for c in calls if c.get("key")}
        self.query_one(LiveTable).sync({k: self._row(c) for k, c in self.flights.items()})
        self._after_change()

    def _row(self, call: dict[str, Any]) -> Row:
        started = call.get("started")
        age = self.dash.source.now() - started if isinstance(started, int | float) else call.get("age")
        return (fmt.short(call.get("key"), 14), call.get("method") or "-", call.get("model") or "-",
                fmt.duration(age), call.get("waiters", 0), "yes" if call.get("held") else "")

    def tick(self) -> None:
        table = self.query_one(LiveTable)
        for key, flight in self.flights.items():
            table.upsert(key, self._row(flight))

    def on_events(self, events: list[dict[str, Any]]) -> None:
        table = self.query_one(LiveTable)
        for event in events:
            data = event["data"]
            key = data.get("key")
            if not key:
                continue
            kind = data.get("type", "")
            if kind in ("call.ended", "call.cancelled"):
                self.flights.pop(key, None)
                table.discard(key)
            else:
                flight = self.flights.setdefault(key, {"key": key, "peers": []})
                if kind == "call.started" and "age" in data:
                    flight.setdefault("started", self.dash.source.now() - float(data["age"] or 0))
                for field in ("method", "model", "waiters", "age"):
                    if field in data:
                        flight[field] = data[field]
                peer = data.get("peer")
                peers = flight.setdefault("peers", [])
                if kind in ("call.started", "call.joined") and isinstance(peer, dict):
                    if all(p.get("pid") != peer.get("pid") for p in peers):
                        peers.append(peer)
                elif kind == "call.left" and isinstance(peer, dict):
                    flight["peers"] = [p for p in peers if p.get("pid") != peer.get("pid")]
                table.upsert(key, self._row(flight))
        self._after_change()

    def _after_change(self) -> None:
        self.set_empty("" if self.flights else "no calls in flight: identical calls that overlap show here")
        self._show_peers(self.query_one(LiveTable).cursor_key())

    def record_of(self, key: str) -> dict[str, Any] | None:
        return self.flights.get(key)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_peers(str(event.row_key.value) if event.row_key is not None else None)

    def _show_peers(self, key: str | None) -> None:
        flight = self.flights.get(key or "")
        box = self.query_one("#peers", Static)
        if flight is None:
            box.update("select a flight to see who waits on it")
            return
        peers = flight.get("peers") or []
        lines = [f"[b]flight[/b] {flight['key']}", f"{len(peers)} waiting peer(s) (pid, command):"]
        lines += [f"  {p.get('pid', '?'):>7}  {fmt.short(p.get('cmdline'), 110)}" for p in peers[:50]]
        if len(peers) > 50:
            lines.append(f"  … and {len(peers) - 50} more")
        box.update("\n".join(lines))

    def commands(self) -> list[tuple[str, str, str]]:
        return [("Cancel flight", "cancel the selected in-flight call for every waiter", "cancel_flight")]

    def action_cancel_flight(self) -> None:
        key = self.query_one(LiveTable).cursor_key()
        flight = self.flights.get(key or "")
        if flight is None:
            self.dash.notify("no flight selected", severity="warning")
            return
        self.dash.confirm_rpc(
            f"Cancel this flight for all {flight.get('waiters', 0)} waiter(s)?",
            f"{flight.get('method')} {flight.get('model') or ''}\n{flight['key']}",
            "calls.cancel", {"key": flight["key"]}, done="flight cancelled",
        )
