"""What every pane shares: a name, the RPCs it needs, a filter box, an empty-state line."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.widgets import DataTable, Input, Static

from tui.datasource import is_unavailable
from tui.widgets.table import LiveTable
from tui.widgets.textbox import TextBox

if TYPE_CHECKING:
    from tui.app import DashApp

Results = dict[str, Any]
"""method -> its result, or the exception it raised."""
PARAMS = "_params"
"""Key in a pane's fetched results: method -> the params it was called with."""

CLI_ADVICE = {"run `swamp vault unlock` first": "press l on the Vault pane to unlock",
              "`swamp vault unlock`": "l on the Vault pane"}
"""Daemon messages written for the CLI, in the console's words."""


def console_words(message: str) -> str:
    for cli, console in CLI_ADVICE.items():
        message = message.replace(cli, console)
    return message


class Pane(Vertical):
    """A pane of the console. Subclasses set NAME/TITLE/TOPICS/METHODS and fill `show`."""

    NAME: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""
    TOPICS: ClassVar[tuple[str, ...]] = ()
    """Event topics that make this pane's lists stale."""
    METHODS: ClassVar[tuple[str, ...]] = ()
    """RPCs the pane needs; when the first is missing the pane says it is not available."""
    WHOLE_FROM_EVENTS: ClassVar[bool] = False
    """True: a pane that applied a batch of its events is up to date (it fetches what the events
    lack itself), so it takes its events hidden or not and is not read again for them (nor when
    shown); while the console is paused it still is."""
    READ_EVERY: ClassVar[int] = 0
    """While visible, read its lists every this many ticks (0: the console's default)."""
    AGES_EVERY: ClassVar[int] = 0
    """While visible, redo its ages every this many ticks (`redo_ages`; 0: it has no slow ages)."""
    MUTATING: ClassVar[frozenset[str]] = frozenset()
    """Actions turned off by --read-only."""
    KEYS: ClassVar[list[tuple[str, str]]] = []
    """(key, what) lines for the help screen."""
    BINDINGS: ClassVar[list[Binding]] = []  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__(id=f"pane-{self.NAME}", classes="pane")
        self.available: bool | None = None
        self._ages_at = 0.0
        """When (the data source's clock) the ages were last redone."""

    @property
    def dash(self) -> DashApp:
        return self.app  # type: ignore[return-value]

    # -- data ----------------------------------------------------------------------------------

    def requests(self, tick: int) -> list[tuple[str, Any]]:
        """(method, params) to fetch on a refresh of this pane."""
        return [(m, None) for m in self.METHODS]

    def show(self, results: Results) -> None:
        """Apply fetched results (UI thread)."""

    def on_events(self, events: list[dict[str, Any]]) -> None:
        """Apply a batch of events of this pane's topics (UI thread); cheap, by row key."""

    def remember(self, events: list[dict[str, Any]]) -> None:
        """Every batch of this pane's topics, visible or not, paused or not (a timeline keeps them)."""

    def record_of(self, key: str) -> dict[str, Any] | None:
        """The record behind a row, for the enter detail view (None: no detail)."""
        return None

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_detail()

    def action_detail(self) -> None:
        table = self.table()
        key = table.cursor_key() if table is not None else None
        record = self.record_of(key) if key is not None else None
        if record is not None:
            from tui.widgets.detail import DetailScreen

            self.app.push_screen(DetailScreen(f"{self.TITLE}: {key}", record))

    def is_visible_pane(self) -> bool:
        try:
            return self.dash.active_pane() is self
        except NoMatches:
            return False

    def tick(self) -> None:
        """Once per poll interval while visible: refresh time-based cells (ages, durations)."""

    def shown(self) -> None:
        """The pane became the visible one: ages older than its ticks would let them be (it was hidden,
        and kept the ages of when it was painted) are redone at once; a quick switch back costs nothing."""
        if self.AGES_EVERY and self.NAME in self.dash.loaded and \
                self.dash.source.now() - self._ages_at >= self.AGES_EVERY * self.dash.refresh_seconds:
            self.redo_ages()

    def redo_ages(self) -> None:
        """Recompute the slowly moving ages (`AGES_EVERY`); call `ages_redone` once they are."""

    def ages_redone(self) -> None:
        self._ages_at = self.dash.source.now()

    def commands(self) -> list[tuple[str, str, str]]:
        """(title, help, action name on this pane) for the palette."""
        return []

    # -- shared parts ------------------------------------------------------------------------

    def filter_box(self) -> Input:
        return Input(placeholder="filter (enter keeps it, escape clears)", id=f"filter-{self.NAME}",
                     classes="filter")

    def empty_line(self) -> Static:
        return TextBox("", id=f"empty-{self.NAME}", classes="empty")

    def table(self) -> LiveTable | None:
        tables = self.query(LiveTable)
        return tables.first() if tables else None

    def set_empty(self, text: str) -> None:
        line = self.query_one(f"#empty-{self.NAME}", Static)
        line.update(Text(text))  # daemon messages are data, never markup
        line.display = bool(text)

    def unavailable(self, results: Results, method: str | None = None) -> bool:
        """Show the not-available state when the daemon lacks `method`; True if so."""
        method = method or self.METHODS[0]
        error = results.get(method)
        if error is not None and is_unavailable(error):
            self.available = False
            self.set_empty(f"{self.NAME}: not available in this daemon ({method} is missing)")
            return True
        self.available = True
        return False

    def error_text(self, results: Results, method: str) -> str | None:
        error = results.get(method)
        if isinstance(error, BaseException):
            return f"{method}: {console_words(getattr(error, 'message', None) or str(error))}"
        return None

    def open_filter(self) -> None:
        box = self.query_one(f"#filter-{self.NAME}", Input)
        # Inline display and a synchronous set_focus: keys typed right after `/` (already queued,
        # as from tmux or a fast typist) must land in the box, not in the table (focus() is deferred).
        box.display = True
        self.screen.set_focus(box)

    def apply_filter(self, text: str) -> None:
        table = self.table()
        if table is not None:
            table.set_filter(text)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.has_class("filter"):
            event.stop()
            self.apply_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.has_class("filter"):
            event.stop()
            if not event.value:
                event.input.display = False
            table = self.table()
            if table is not None:
                table.focus()

    def close_filter(self) -> bool:
        """Escape in the filter box: clear and hide it; False when it was not open."""
        box = self.query_one(f"#filter-{self.NAME}", Input)
        if not box.display:
            return False
        box.value = ""
        box.display = False
        self.apply_filter("")
        table = self.table()
        if table is not None:
            table.focus()
        return True

    def focus_main(self) -> None:
        """Focus this pane's table; a pane without one takes focus off every table, or the
        hidden table of the pane left behind keeps it (and TabbedContent brings that pane back)."""
        table = self.table()
        if table is not None:
            self.screen.set_focus(table)
        else:  # a pane without a table takes focus itself (its keys work), or none
            self.screen.set_focus(self if self.can_focus else None)

    def set_stale(self, stale: bool) -> None:
        """The daemon is gone: what is shown is the last thing it said (dimmed, not live)."""
        self.set_class(stale, "stale-data")

    def retone(self) -> None:
        """The theme changed: recolour what the pane coloured by state."""
        for table in self.query(LiveTable):
            table.retone()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.MUTATING and self.dash.read_only:
            return False
        return True
