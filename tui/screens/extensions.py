"""Extensions: the host store's entries, the types they provide, linked projects, verify."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding

from tui import records as rec
from tui.screens.base import Pane, Results
from tui.widgets.table import Cell, Col, LiveTable, Row

COLUMNS = [Col("name", "name"), Col("version", "version"), Col("types", "provided types", flex=True, min=10, drop=1),
           Col("linked", "linked projects", flex=True, min=12), Col("verify", "verify")]


class ExtensionsPane(Pane):
    NAME = "extensions"
    TITLE = "Extensions"
    TOPICS = ("extensions",)
    METHODS = ("extensions.list",)
    KEYS = [("v", "verify the selected extension (re-hash its files)"), ("V", "verify every extension")]
    BINDINGS = [Binding("v", "verify", "verify"), Binding("V", "verify_all", "verify all")]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[str, dict[str, Any]] = {}
        self.verified: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield self.filter_box()
        yield self.empty_line()
        yield LiveTable(COLUMNS, id="extensions-table", order=lambda k, r: k)

    def show(self, results: Results) -> None:
        if self.unavailable(results):
            return
        error = self.error_text(results, "extensions.list")
        if error:
            self.set_empty(error)
            return
        items = rec.dicts(rec.mapping(results.get("extensions.list")).get("extensions"))
        self.entries = {f"{e.get('name')}@{e.get('version')}": e for e in items if e.get("name")}
        self._redraw()
        self.set_empty("" if self.entries else "no extensions: `swamp ext install DIR` adds one")

    def record_of(self, key: str) -> dict[str, Any] | None:
        entry = self.entries.get(key)
        return None if entry is None else {**entry, "verify": self.verified.get(key, "not checked")}

    def _redraw(self) -> None:
        self.query_one(LiveTable).sync({k: self._row(k, e) for k, e in self.entries.items()})

    def _row(self, key: str, entry: dict[str, Any]) -> Row:
        types = entry.get("types")
        if isinstance(types, dict):
            names = [n for group in types.values() if isinstance(group, list) for n in group]
        else:
            names = list(types) if isinstance(types, list) else []
        linked: list[Any] = entry["linked_projects"] if isinstance(entry.get("linked_projects"), list) else []
        verify = self.verified.get(key, "not checked")
        tone = "ok" if verify == "ok" else "bad" if verify.startswith("DRIFT") else "muted"
        return (rec.text(entry.get("name"), "-"), rec.text(entry.get("version"), "-"),
                ", ".join(map(str, names)) or "-", ", ".join(map(str, linked)) or "not linked",
                Cell(verify, tone=tone))

    def show_verify(self, result: dict[str, Any]) -> None:
        for report in rec.dicts(result.get("entries")):
            key = f"{report.get('name')}@{report.get('version')}"
            if report.get("ok"):
                self.verified[key] = "ok"
            else:
                counts = [len(report.get(k) or []) for k in ("changed", "missing", "added")]
                self.verified[key] = "DRIFT: {} changed, {} missing, {} added".format(*counts)
        self._redraw()

    def commands(self) -> list[tuple[str, str, str]]:
        return [("Verify extension", "re-hash the selected extension's files", "verify"),
                ("Verify all extensions", "re-hash every installed extension", "verify_all")]

    def action_verify(self) -> None:
        key = self.query_one(LiveTable).cursor_key()
        entry = self.entries.get(key or "")
        if entry is None:
            self.dash.notify("no extension selected", severity="warning")
            return
        self.dash.rpc_action("extensions.verify", {"name": entry["name"], "version": entry["version"]},
                             done="verified", on_result=self.show_verify)

    def action_verify_all(self) -> None:
        self.dash.rpc_action("extensions.verify", {}, done="verified every extension", on_result=self.show_verify)
