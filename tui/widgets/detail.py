"""A read-only look at one row's record (enter on a table row); escape or q closes it."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.screen import ModalScreen
from textual.widgets import Static


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
            lines.append(f"{pad}[b]{escape(str(key))}[/b]  {escape(str(value))}")
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
