"""A read-only look at one row's record (enter on a table row); escape or q closes it."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Static

from tui import format as fmt

TIME_FIELDS = ("created_at", "started_at", "ended_at", "started", "ended", "createdAt", "updatedAt", "rotatedAt",
               "lastRefreshedAt", "dueAt", "timestamp")
"""Fields shown as UTC stamps, never as raw epoch floats."""


def shown_value(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key in TIME_FIELDS:
        return f"{fmt.stamp(value)} UTC"
    if isinstance(value, list) and not any(isinstance(v, dict | list) for v in value):
        return ", ".join(map(str, value)) or "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def render_record(record: dict[str, Any], indent: int = 0) -> list[str]:
    lines: list[str] = []
    pad = " " * indent
    for key, value in record.items():
        if isinstance(value, dict) and value:
            lines.append(f"{pad}[b]{escape(str(key))}[/b]")
            lines += render_record(value, indent + 2)
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            lines.append(f"{pad}[b]{escape(str(key))}[/b] ({len(value)})")
            for item in value[:50]:
                lines += render_record(item, indent + 2)
                lines.append("")
        else:
            lines.append(f"{pad}[b]{escape(str(key))}[/b]  {escape(shown_value(str(key), value))}")
    return lines


class DetailScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,enter", "close", "close")]

    def __init__(self, title: str, record: dict[str, Any]) -> None:
        super().__init__(classes="modal")
        self.title_text = title
        self.record = record

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog", classes="help"):
            yield Static("\n".join([f"[b]{escape(self.title_text)}[/b]  (escape closes)", "",
                                    *render_record(self.record)]), id="detail-text")

    def action_close(self) -> None:
        self.dismiss(None)


class TableScreen(ModalScreen[None]):
    """A list of records in a sortable table over the console (the vault audit trail)."""

    BINDINGS = [Binding("escape,q", "close", "close")]

    def __init__(self, title: str, columns: list[Any], rows: dict[str, tuple[Any, ...]], note: str = "",
                 sort: tuple[str, bool] | None = None) -> None:
        super().__init__(classes="modal")
        self.title_text = title
        self.columns = columns
        self.rows = rows
        self.note = note
        self.sort = sort

    def compose(self) -> ComposeResult:
        from tui.widgets.table import LiveTable

        with Vertical(id="dialog", classes="wide"):
            yield Static(Text.assemble((self.title_text, "bold"), "  (escape closes; < > I sort)"), id="table-title")
            if self.note:
                yield Static(Text(self.note), classes="hint")
            yield LiveTable(self.columns, id="table-screen", sort=self.sort)

    def on_mount(self) -> None:
        from tui.widgets.table import LiveTable

        table = self.query_one(LiveTable)
        table.sync(self.rows)
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)
