"""A job's log on the whole screen, k9s style: wrap, autoscroll and timestamps toggle.

Lines are text, never markup. The timestamps are when the console received each line (the
daemon's log has none); lines read as a finished job's tail have no time and show blanks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import RichLog, Static

from tui import format as fmt
from tui.widgets.keyline import KeyLine

MAX_LINES = 10_000
LogLine = tuple[float | None, str]
"""(received at, text)."""


class LogScreen(Screen[None]):
    BINDINGS: ClassVar = [
        Binding("escape,q,l", "close", "back"),
        Binding("w", "toggle('wrap')", "wrap"),
        Binding("s", "toggle('autoscroll')", "autoscroll"),
        Binding("t", "toggle('timestamps')", "timestamps"),
        Binding("g", "top", "top", show=False),
        Binding("G", "bottom", "bottom", show=False),
    ]

    def __init__(self, job_id: str, title: str, lines: Iterable[LogLine], *, following: bool) -> None:
        super().__init__(id="log-screen")
        self.job_id = job_id
        self.title_text = title
        self.lines: list[LogLine] = list(lines)[-MAX_LINES:]
        self.following = following
        self.wrap = False
        self.autoscroll = True
        self.timestamps = False

    def compose(self) -> ComposeResult:
        yield Static("", id="log-head")
        yield RichLog(id="log-full", wrap=False, markup=False, highlight=False, auto_scroll=True, max_lines=MAX_LINES)
        yield KeyLine()

    def on_mount(self) -> None:
        self._rewrite()
        self.query_one(RichLog).focus()

    def append(self, lines: list[LogLine]) -> None:
        self.lines.extend(lines)
        del self.lines[:-MAX_LINES]
        log = self.query_one(RichLog)
        for line in lines:
            log.write(self._line(line), scroll_end=self.autoscroll)
        self._head()

    def ended(self) -> None:
        self.following = False
        self._head()

    async def action_toggle(self, what: str) -> None:  # DOMNode's own is async: an override must be too
        setattr(self, what, not getattr(self, what))
        if what == "autoscroll" and self.autoscroll:
            self.query_one(RichLog).scroll_end(animate=False)
        if what in ("wrap", "timestamps"):
            self._rewrite()
        else:
            self._head()
        self.query_one(RichLog).auto_scroll = self.autoscroll

    def action_top(self) -> None:
        self.autoscroll = False
        self.query_one(RichLog).auto_scroll = False
        self.query_one(RichLog).scroll_home(animate=False)
        self._head()

    def action_bottom(self) -> None:
        self.query_one(RichLog).scroll_end(animate=False)

    def action_close(self) -> None:
        self.dismiss(None)

    def _line(self, line: LogLine) -> Text:
        at, text = line
        out = Text(no_wrap=not self.wrap, overflow="fold" if self.wrap else "ellipsis", end="")
        if self.timestamps:
            out.append(fmt.stamp(at)[11:] if at is not None else " " * 8, style="dim")
            out.append("  ")
        out.append(text)
        return out

    def _rewrite(self) -> None:
        log = self.query_one(RichLog)
        log.wrap = self.wrap
        log.clear()
        for line in self.lines:
            log.write(self._line(line), scroll_end=self.autoscroll)
        self._head()

    def _head(self) -> None:
        def flag(name: str, on: bool, key: str) -> str:
            return f"{name} {'on' if on else 'off'} ({key})"

        state = "following" if self.following else "ended"
        flags = "  ".join([flag("wrap", self.wrap, "w"), flag("autoscroll", self.autoscroll, "s"),
                           flag("timestamps", self.timestamps, "t")])
        head = Text.assemble(flags, "  ·  ", (f"log of {self.title_text}", "bold"),
                             f"  ·  {len(self.lines)} line(s), {state}  ·  escape back")
        head.no_wrap, head.overflow = True, "ellipsis"
        self.query_one("#log-head", Static).update(head)
