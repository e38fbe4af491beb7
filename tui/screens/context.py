"""Context: the agents' shared short-term context: scopes, their keys, sizes and TTL left; drop a scope.

Values are never read: `context.list` sends names, versions, sizes and times only.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from swampd.client import DaemonUnavailable, RpcError
from tui import format as fmt
from tui import records as rec
from tui.screens.base import Pane, Results
from tui.widgets.table import Cell, Col, LiveTable, Row
from tui.widgets.textbox import TextBox

SCOPE_COLUMNS = [Col("scope", "scope", flex=True, min=16), Col("keys", "keys"), Col("bytes", "size"),
                 Col("updated", "updated", drop=2), Col("next", "next key expires", drop=1), Col("ttl", "TTL left")]
KEY_COLUMNS = [Col("key", "key", flex=True, min=16), Col("version", "version"), Col("size", "size"),
               Col("updated", "updated", drop=1), Col("ttl", "TTL left")]


class ContextPane(Pane):
    NAME = "context"
    TITLE = "Context"
    TOPICS = ("context",)
    METHODS = ("context.list",)
    MUTATING = frozenset({"drop_scope", "drop_key"})
    KEYS = [("d", "drop the selected scope and every key in it (asks first)"),
            ("D", "drop the selected key of the scope (asks first)")]
    BINDINGS = [Binding("d", "drop_scope", "drop scope"), Binding("D", "drop_key", "drop key")]

    def __init__(self) -> None:
        super().__init__()
        self.scopes: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, dict[str, Any]] = {}
        self.keys_of: str | None = None

    def compose(self) -> ComposeResult:
        yield self.filter_box()
        yield self.empty_line()
        yield TextBox("", id="context-summary", classes="box")
        yield LiveTable(SCOPE_COLUMNS, id="context-scopes", sort=("updated", False))
        yield TextBox("", id="context-keys-title")
        yield LiveTable(KEY_COLUMNS, id="context-keys", order=lambda k, r: k)

    def table(self) -> LiveTable:
        return self.query_one("#context-scopes", LiveTable)

    def show(self, results: Results) -> None:
        if self.unavailable(results):
            return
        error = self.error_text(results, "context.list")
        if error:
            self.set_empty(error)
            return
        listing = rec.mapping(results.get("context.list"))
        now = self.dash.source.now()
        scopes = rec.dicts(listing.get("scopes"))
        self.scopes = {rec.text(s.get("scope")): s for s in scopes if rec.text(s.get("scope"))}
        self.table().sync({k: self._scope_row(s, now) for k, s in self.scopes.items()})
        used, limit = listing.get("bytes"), listing.get("max_bytes")
        self.query_one("#context-summary", Static).update(Text.assemble(
            ("shared agent context", "bold"),
            f"  {len(self.scopes)} scope(s), {fmt.size(used)} of {fmt.size(limit)} — names, sizes and TTLs only, "
            "never values"))
        self.set_empty("" if self.scopes else "no context: agents put some with `swamp ctx put SCOPE KEY VALUE`")
        self._load_keys(self.table().cursor_key())

    def _scope_row(self, scope: dict[str, Any], now: float) -> Row:
        updated = rec.number(scope.get("updated_at"))
        soonest = rec.number(scope.get("next_expiry"))
        left = rec.number(scope.get("ttl_left"))
        return (rec.text(scope.get("scope")), rec.integer(scope.get("keys")),
                Cell(fmt.size(scope.get("bytes")), sort=rec.number(scope.get("bytes"))),
                Cell(fmt.ago(updated, now) + " ago" if updated else "-", sort=-(updated or 0)),
                Cell(fmt.until(soonest, now) if soonest else "-", sort=soonest),
                Cell(fmt.duration(left), sort=left, tone="warn" if left is not None and left < 60 else ""))

    def tick(self) -> None:
        now = self.dash.source.now()
        for key, scope in self.scopes.items():
            self.table().upsert(key, self._scope_row(scope, now))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "context-scopes" and event.row_key is not None:
            scope = str(event.row_key.value)
            if scope != self.keys_of:
                self._load_keys(scope)

    @work(thread=True, exclusive=True, group="context-keys")
    def _load_keys(self, scope: str | None) -> None:
        if not scope:
            self.app.call_from_thread(self._show_keys, None, {})
            return
        try:
            reply = self.dash.source.call("context.list", {"scope": scope})
        except (RpcError, DaemonUnavailable):
            reply = {}
        self.app.call_from_thread(self._show_keys, scope, reply)

    def _show_keys(self, scope: str | None, reply: Any) -> None:
        if scope is not None and scope != self.table().cursor_key():
            return  # the cursor moved on meanwhile
        self.keys_of = scope
        now = self.dash.source.now()
        self.keys = {rec.text(k.get("key")): k for k in rec.dicts(rec.mapping(reply).get("keys")) if k.get("key")}
        title = Text(f"keys of {scope}: {len(self.keys)}" if scope else "select a scope to see its keys")
        self.query_one("#context-keys-title", Static).update(title)
        self.query_one("#context-keys", LiveTable).sync({
            k: (k, rec.integer(v.get("version")), Cell(fmt.size(v.get("size")), sort=rec.number(v.get("size"))),
                Cell(fmt.ago(v.get("updated_at"), now) + " ago", sort=-(rec.number(v.get("updated_at")) or 0)),
                Cell(fmt.duration(rec.number(v.get("ttl_left"))), sort=rec.number(v.get("ttl_left"))))
            for k, v in self.keys.items()})

    def record_of(self, key: str) -> dict[str, Any] | None:
        scope = self.scopes.get(key)
        return None if scope is None else {**scope, "keys listed": sorted(self.keys) if self.keys_of == key else "-"}

    def commands(self) -> list[tuple[str, str, str]]:
        return [("Drop context scope", "remove the selected scope and its keys", "drop_scope"),
                ("Drop context key", "remove one key of the selected scope", "drop_key")]

    def action_drop_scope(self) -> None:
        scope = self.table().cursor_key()
        entry = self.scopes.get(scope or "")
        if entry is None or scope is None:
            self.dash.notify("no scope selected", severity="warning")
            return
        self.dash.confirm_rpc(f"Drop context scope {scope}?",
                              f"{rec.integer(entry.get('keys'))} key(s), {fmt.size(entry.get('bytes'))}; "
                              "agents reading it get not_found", "context.drop", {"scope": scope},
                              done=f"dropped {{dropped}} key(s) of {scope}")

    def action_drop_key(self) -> None:
        scope = self.keys_of
        key = self.query_one("#context-keys", LiveTable).cursor_key()
        if scope is None or key is None:
            self.dash.notify("select a scope with keys first", severity="warning")
            return
        self.dash.confirm_rpc(f"Drop key {key} of scope {scope}?", "agents reading it get not_found",
                              "context.drop", {"scope": scope, "key": key}, done=f"dropped {key}")
