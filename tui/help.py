"""The `?` screen: every key, generated from the app's and panes' bindings."""

from __future__ import annotations

from collections.abc import Iterable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss_help", "close")]

    def __init__(self, sections: Iterable[tuple[str, list[tuple[str, str]]]], read_only: bool) -> None:
        super().__init__(classes="modal")
        self.sections = list(sections)
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        lines: list[str] = ["[b]swamp dash[/b] — keys (escape closes)", ""]
        if self.read_only:
            lines += ["[i]read-only: evict, prefetch, rotate and cancel are off[/i]", ""]
        for title, keys in self.sections:
            lines.append(f"[b]{title}[/b]")
            lines += [f"  [b]{key:<8}[/b] {text}" for key, text in keys]
            lines.append("")
        with VerticalScroll(id="dialog", classes="help"):
            yield Static("\n".join(lines), id="help-text")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
