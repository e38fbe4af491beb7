"""`swamp dash`: the operator console (a Textual app over a DataSource)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.theme import Theme
from textual.widgets import Static, TabbedContent, TabPane

from swampd.client import DaemonUnavailable, RpcError
from themes import DEFAULT_THEME, load_themes, resolve_name
from tui import format as fmt
from tui import settings as dash_settings
from tui.datasource import DataSource
from tui.help import HelpScreen
from tui.messages import ConnectionChanged, EventsArrived, Fetched, LogEnded, LogLines
from tui.palette import DashCommands
from tui.screens import PANES, JobsPane, OverviewPane, Pane
from tui.screens.base import PARAMS
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.keyline import KeyLine
from tui.widgets.prompt import PromptScreen
from tui.widgets.table import theme_style
from tui.widgets.textbox import TextBox

PaneT = TypeVar("PaneT", bound=Pane)

MUTATING_METHODS = frozenset({"calls.cancel", "jobs.cancel", "cache.evict", "cache.prefetch", "vault.rotate",
                              "vault.lock", "vault.unlock"})
EVENT_BATCH_SECONDS = 0.25
"""A quiet stream's events are applied within a quarter of a second."""
BUSY_BATCH_SECONDS = 1.0
BUSY_BATCH_EVENTS = 8
"""After a batch of this many events the stream is busy, and its events are applied once a second:
each applied batch repaints the tables it touches (a newest-first table, all of it), and a busy
table is read at that pace anyway (htop: 1.5 s, k9s: 2 s)."""
ACTIVE_PANE_EVERY = 5
"""The visible pane re-reads its lists every this many ticks even without events."""
APP_KEYS = [
    ("1-8", "overview, cache, in-flight, jobs, vault, extensions, context, fleet"),
    ("/", "filter the table of this pane"), ("enter", "detail of the selected row (jobs: with the live log)"),
    ("escape", "close the filter or the detail"), ("p", "pause / resume live updates"),
    ("+ / -", "refresh interval up / down (1 s minimum)"), ("ctrl+r", "refresh now"),
    ("< / >", "sort by the column left / right of the current one (a header click too)"),
    ("I", "invert the sort order (each pane keeps its own)"),
    ("s", "start the daemon when it is not running"), ("ctrl+p", "command palette: every action, pane, theme"),
    ("?", "this help"), ("q", "quit"),
]


class DashApp(App[None]):
    """The console. Give it a DataSource; everything else has a default."""

    CSS_PATH = Path(__file__).with_name("dash.tcss")
    TITLE = "swamp dash"
    COMMANDS: ClassVar = App.COMMANDS | {DashCommands}
    BINDINGS: ClassVar = [
        *(Binding(str(i + 1), f"show_pane('{pane.NAME}')", pane.TITLE, show=False) for i, pane in enumerate(PANES)),
        Binding("slash", "filter", "filter"),
        Binding("question_mark", "help", "help"),
        Binding("p", "pause", "pause"),
        Binding("plus", "interval(1)", "slower", show=False),
        Binding("minus", "interval(-1)", "faster", show=False),
        Binding("ctrl+r", "refresh_now", "refresh", show=False),
        Binding("s", "start_daemon", "start daemon"),
        Binding("escape", "back", "back", show=False),
        Binding("q", "quit", "quit"),
    ]

    def __init__(
        self,
        source: DataSource,
        *,
        read_only: bool = False,
        theme: str | None = None,
        refresh: float = 2.0,
        config_file: str | os.PathLike[str] | None = None,
        themes_dir: Path | None = None,
        live: bool = True,
    ) -> None:
        super().__init__()
        self.source = source
        self.read_only = read_only
        self.refresh_seconds = max(dash_settings.MIN_REFRESH, float(refresh))
        self.config_file = config_file
        self.live = live
        """False: no event stream and no poll timer (snapshots): one refresh at start."""
        self.paused = False
        self.connected: bool | None = None
        """None until the event reader has tried; then whether the daemon answers."""
        self.tick = 0
        self.fetches = 0
        """Completed refreshes (tests wait on this instead of sleeping)."""
        self.events_applied = 0
        self.dirty: set[str] = set()
        """Panes whose lists an event made stale since their last refresh."""
        self.loaded: set[str] = set()
        self._stop = threading.Event()
        self._log_stop: threading.Event | None = None
        self._timer: Any = None
        self._status: dict[str, Any] = {}
        self._saved_theme = dash_settings.DashSettings.load(config_file).theme if config_file else None
        for t in load_themes(themes_dir):
            self.register_theme(t)
        wanted = resolve_name(theme or self._saved_theme or DEFAULT_THEME)
        self.theme = wanted if wanted in self.available_themes else DEFAULT_THEME
        self._theme_warning = None if wanted in self.available_themes else f"unknown theme {theme!r}"

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield TextBox("", id="status")
        yield TextBox("", id="banner")
        with TabbedContent(id="tabs"):
            for index, pane_type in enumerate(PANES):
                with TabPane(f"{index + 1} {pane_type.TITLE}", id=f"tab-{pane_type.NAME}"):
                    yield pane_type()
        yield KeyLine()

    def on_mount(self) -> None:
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        if self._theme_warning:
            self.notify(self._theme_warning, severity="warning")
        self._draw_status()
        self.refresh_panes([p.NAME for p in PANES])
        if self.live:
            self._timer = self.set_interval(self.refresh_seconds, self._on_tick)
            self.follow_events()

    def notify(self, message: str, *, title: str = "", severity: Any = "information", timeout: float | None = None,
               markup: bool = False) -> None:
        """Notifications carry daemon data (keys, messages): text, never markup, unless asked."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def on_unmount(self) -> None:
        self._stop.set()
        if self._timer is not None:
            self._timer.stop()
        if self._log_stop is not None:
            self._log_stop.set()
        self.source.close()

    # -- panes ---------------------------------------------------------------------------

    def panes(self) -> list[Pane]:
        return list(self.query(Pane))

    def pane(self, kind: type[PaneT]) -> PaneT:
        return self.query_one(kind)

    def pane_named(self, name: str) -> Pane:
        return self.query_one(f"#pane-{name}", Pane)

    def active_pane(self) -> Pane:
        active = self.query_one(TabbedContent).active or "tab-overview"
        return self.pane_named(active.removeprefix("tab-"))

    def action_show_pane(self, name: str) -> None:
        self.query_one(TabbedContent).active = f"tab-{name}"
        pane = self.pane_named(name)
        pane.focus_main()
        if name in self.dirty or name not in self.loaded or name == OverviewPane.NAME:
            self.refresh_panes([name])  # the overview reads only the status line's data while hidden

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id != self.query_one(TabbedContent).active:
            return  # a late event of a tab left already (keys typed fast): focusing it would pull it back
        name = (event.pane.id or "").removeprefix("tab-")
        pane = self.pane_named(name)
        if not pane.has_focus_within:
            pane.focus_main()  # a clicked tab: the pane's keys work at once
        self.refresh_bindings()
        pane.shown()
        if name in self.dirty:
            self.refresh_panes([name])

    # -- refresh -----------------------------------------------------------------------------

    def _on_tick(self) -> None:
        if self.paused or self._stop.is_set():
            return
        try:
            self._tick_panes()
        except NoMatches:  # shutting down: the panes are already gone
            return

    def _tick_panes(self) -> None:
        self.tick += 1
        names = {"overview"}
        pane = self.active_pane()
        pane.tick()
        active = pane.NAME
        if active in self.dirty or self.tick % (pane.READ_EVERY or ACTIVE_PANE_EVERY) == 0:
            names.add(active)
        self.refresh_panes(sorted(names))

    def refresh_panes(self, names: list[str]) -> None:
        plans = {name: self.pane_named(name).requests(self.tick) for name in names}
        self.dirty.difference_update(names)
        self._fetch(plans)

    @work(thread=True, group="fetch")
    def _fetch(self, plans: dict[str, list[tuple[str, Any]]]) -> None:
        results: dict[str, dict[str, Any]] = {}
        for name, calls in plans.items():
            got: dict[str, Any] = {PARAMS: dict(calls)}  # what was asked: a late reply can tell it is late
            for method, params in calls:
                try:
                    got[method] = self.source.call(method, params)
                except RpcError as exc:
                    got[method] = exc
                except DaemonUnavailable:
                    return  # the event reader owns the connection state and says so
            results[name] = got
        self.post_message(Fetched(results))

    def on_fetched(self, message: Fetched) -> None:
        try:
            self._show_fetched(message)
        except NoMatches:  # shutting down: the panes are already gone
            return

    def _show_fetched(self, message: Fetched) -> None:
        for name, results in message.results.items():
            pane = self.pane_named(name)
            try:
                pane.show(results)
            except Exception as exc:  # noqa: BLE001 - a surprising reply must not take the console down
                self.notify(f"{name}: cannot show the daemon's reply ({type(exc).__name__}: {exc})",
                            severity="error")
            self.loaded.add(name)
            if name == "overview" and isinstance(results.get("daemon.status"), dict):
                self._status = results["daemon.status"]
        self.fetches += 1
        self._draw_status()

    # -- events ------------------------------------------------------------------------------

    @work(thread=True, group="events")
    def follow_events(self) -> None:
        """Read the event stream on its own connection; reconnect when the daemon comes back."""
        topics = sorted({t for p in PANES for t in p.TOPICS} | {"daemon"})
        was_up: bool | None = None
        while not self._stop.is_set():
            batch: list[dict[str, Any]] = []
            last = time.monotonic()
            interval = EVENT_BATCH_SECONDS
            try:
                for event in self.source.events(topics, self._stop):
                    if was_up is not True:
                        was_up = True
                        self.post_message(ConnectionChanged(True))
                    if event is not None:
                        batch.append(event)
                    if batch and time.monotonic() - last >= interval:
                        self.post_message(EventsArrived(batch))
                        interval = BUSY_BATCH_SECONDS if len(batch) >= BUSY_BATCH_EVENTS else EVENT_BATCH_SECONDS
                        batch, last = [], time.monotonic()
                if batch:
                    self.post_message(EventsArrived(batch))
            except DaemonUnavailable as exc:
                if was_up is not False:
                    was_up = False
                    self.post_message(ConnectionChanged(False, str(exc)))
            except RpcError as exc:
                self.post_message(ConnectionChanged(False, f"cannot subscribe: {exc.message}"))
            self._stop.wait(1.0)

    def on_events_arrived(self, message: EventsArrived) -> None:
        try:
            self._apply_events(message)
        except NoMatches:  # shutting down: the panes are already gone
            return

    def _apply_events(self, message: EventsArrived) -> None:
        self.events_applied += len(message.events)
        by_topic: dict[str, list[dict[str, Any]]] = {}
        for event in message.events:
            by_topic.setdefault(str(event.get("topic")), []).append(event)
        active = self.active_pane().NAME
        for pane in self.panes():
            mine = [e for t in pane.TOPICS for e in by_topic.get(t, [])]
            if not mine:
                continue
            pane.remember(mine)
            applied = False
            # a hidden pane re-reads when shown, unless its events keep it whole
            if not self.paused and (pane.NAME == active or (pane.WHOLE_FROM_EVENTS and pane.NAME in self.loaded)):
                try:
                    pane.on_events(mine)
                    applied = True
                except Exception as exc:  # noqa: BLE001 - an odd event must not take the console down
                    self.notify(f"{pane.NAME}: cannot apply an event ({exc})", severity="error")
            if not (applied and pane.WHOLE_FROM_EVENTS and pane.NAME in self.loaded):
                self.dirty.add(pane.NAME)

    def on_connection_changed(self, message: ConnectionChanged) -> None:
        try:
            self._connection_changed(message)
        except NoMatches:  # shutting down: the panes are already gone
            return

    def _connection_changed(self, message: ConnectionChanged) -> None:
        before = self.connected
        self.connected = message.up
        for pane in self.panes():
            pane.set_stale(not message.up)
        self.pane(OverviewPane).set_connected(message.up)
        if message.up and before is False:
            self.notify("reconnected to the daemon")
            self.refresh_panes([p.NAME for p in self.panes()])
        elif not message.up and before is not False:
            self.notify(f"lost the daemon: {message.detail}", severity="error")
        self.refresh_bindings()
        self._draw_status()

    # -- status line -----------------------------------------------------------------------

    def _draw_status(self) -> None:
        """Badges first (a narrow terminal cuts the end of the line, never the state)."""
        status = self._status
        state = "paused" if self.paused else ("live" if self.connected is not False else "disconnected")
        tone = {"live": "ok", "paused": "warn", "disconnected": "bad"}[state]
        line = Text.assemble((f" {state} ", f"reverse bold {theme_style(self.theme_variables, tone)}".strip()))
        if self.read_only:
            line.append(" ")
            line.append(" read-only ", style="reverse")
        line.append(f"  swampd {status.get('version', '?')}", style="bold")
        parts = [f"pid {status.get('pid', '-')}"]
        if isinstance(status.get("uptime"), int | float) and not isinstance(status.get("uptime"), bool):
            parts.append(f"up {fmt.duration(status['uptime'])}")
        parts.append(f"refresh {self.refresh_seconds:g}s")
        parts.append(str(status.get("socket") or self.source.label))
        line.append("  ·  " + "  ·  ".join(parts))
        line.no_wrap, line.overflow = True, "ellipsis"
        self.query_one("#status", Static).update(line)
        banner = self.query_one("#banner", Static)
        if self.connected is False:
            was = f" (was pid {status.get('pid')})" if status.get("pid") else ""
            banner.update(Text(f"daemon not running{was} — press s to start; reconnecting by itself when it is back; "
                               "what shows is the last the daemon said"))
            banner.display = True
        else:
            banner.display = False

    # -- actions -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start_daemon":
            return self.connected is False
        if action == "filter":
            try:
                return self.active_pane().table() is not None
            except NoMatches:
                return True
        return True

    def action_filter(self) -> None:
        self.active_pane().open_filter()

    async def action_back(self) -> None:  # App's own is async: an override must be too
        pane = self.active_pane()
        if pane.close_filter():
            return
        if isinstance(pane, JobsPane) and pane.close_detail():
            pane.focus_main()

    def action_help(self) -> None:
        sections = [("everywhere", APP_KEYS)] + [(p.TITLE, p.KEYS) for p in PANES if p.KEYS]
        self.push_screen(HelpScreen(sections, self.read_only))

    def action_pause(self) -> None:
        self.paused = not self.paused
        self.notify("live updates paused (p resumes)" if self.paused else "live updates resumed")
        if not self.paused and self.dirty:
            self.refresh_panes(sorted(self.dirty | {"overview"}))
        self._draw_status()

    def action_interval(self, step: int) -> None:
        self.refresh_seconds = min(60.0, max(dash_settings.MIN_REFRESH, self.refresh_seconds + step))
        if self._timer is not None:
            self._timer.stop()
            self._timer = self.set_interval(self.refresh_seconds, self._on_tick)
        self._draw_status()

    def action_refresh_now(self) -> None:
        self.refresh_panes(["overview", self.active_pane().NAME])

    def action_start_daemon(self) -> None:
        self.notify("starting the daemon…")
        self._start_daemon()

    @work(thread=True, exclusive=True, group="start")
    def _start_daemon(self) -> None:
        try:
            self.source.start()
        except (DaemonUnavailable, OSError) as exc:
            self.call_from_thread(self.notify, f"could not start the daemon: {exc}", severity="error")

    # -- RPC actions (used by the panes) ---------------------------------------------------

    def confirm_rpc(self, title: str, detail: str, method: str, params: dict[str, Any], *, done: str) -> None:
        """Ask y/n first, then run a mutating call."""
        if self.read_only:
            self.notify("read-only: this action is off", severity="warning")
            return

        def answered(ok: bool | None) -> None:
            if ok:
                self.rpc_action(method, params, done=done)
            else:
                self.notify("nothing done")

        self.push_screen(ConfirmScreen(title, detail), answered)

    def prompt(self, title: str, placeholder: str, value: str, then: Callable[[str | None], None]) -> None:
        if self.read_only:
            self.notify("read-only: this action is off", severity="warning")
            return
        self.push_screen(PromptScreen(title, placeholder, value), then)

    @work(thread=True, group="actions")
    def rpc_action(self, method: str, params: dict[str, Any], *, done: str,
                   on_result: Callable[[dict[str, Any]], None] | None = None) -> None:
        if method in MUTATING_METHODS and self.read_only:
            self.call_from_thread(self.notify, "read-only: this action is off", severity="warning")
            return
        try:
            result = self.source.call(method, params)
        except RpcError as exc:
            self.call_from_thread(self.notify, exc.message, title=f"{method} failed", severity="error")
            return
        except DaemonUnavailable as exc:
            self.call_from_thread(self.notify, str(exc), title=f"{method} failed", severity="error")
            return
        self.call_from_thread(self._action_done, result, done, on_result)

    def _action_done(self, result: Any, done: str, on_result: Callable[[dict[str, Any]], None] | None) -> None:
        if self._stop.is_set():
            return
        try:
            text = done.format(**result) if isinstance(result, dict) else done
        except (KeyError, IndexError, ValueError):
            text = done
        self.notify(text)
        if on_result is not None and isinstance(result, dict):
            on_result(result)
        self.refresh_panes(sorted({"overview", self.active_pane().NAME}))

    # -- job log following -------------------------------------------------------------------

    def follow_log(self, job_id: str) -> None:
        self.stop_log()
        self._log_stop = threading.Event()
        self._follow_log(job_id, self._log_stop)

    def stop_log(self) -> None:
        if self._log_stop is not None:
            self._log_stop.set()
            self._log_stop = None

    @work(thread=True, group="log")
    def _follow_log(self, job_id: str, stop: threading.Event) -> None:
        try:
            for lines, live in self.source.follow_log(job_id, stop):
                if stop.is_set():
                    return
                self.post_message(LogLines(job_id, lines, live))
        except RpcError as exc:
            self.call_from_thread(self.notify, exc.message, title="log", severity="error")
        except DaemonUnavailable:
            pass
        self.post_message(LogEnded(job_id))

    def on_log_lines(self, message: LogLines) -> None:
        try:
            self.pane(JobsPane).append_log(message.job_id, message.lines, message.live)
        except NoMatches:  # shutting down: the panes are already gone
            return

    def on_log_ended(self, message: LogEnded) -> None:
        try:
            self.pane(JobsPane).log_ended(message.job_id)
        except NoMatches:
            return

    # -- palette and themes ----------------------------------------------------------------

    def palette_entries(self) -> list[tuple[str, str, Callable[[], object]]]:
        entries: list[tuple[str, str, Callable[[], object]]] = []
        for index, pane_type in enumerate(PANES):
            entries.append((f"Show {pane_type.TITLE}", f"switch to the {pane_type.TITLE} pane (key {index + 1})",
                            partial(self.action_show_pane, pane_type.NAME)))
        for pane in self.panes():
            for title, help_text, action in pane.commands():
                if self.read_only and action in pane.MUTATING:
                    continue
                entries.append((title, f"{pane.TITLE}: {help_text}",
                                partial(self._pane_action, pane, action)))
        entries += [
            ("Pause or resume live updates", "stop applying events and polls (p)", self.action_pause),
            ("Refresh now", "re-read the visible pane (ctrl+r)", self.action_refresh_now),
            ("Slower refresh", "poll one second less often (+)", lambda: self.action_interval(1)),
            ("Faster refresh", "poll one second more often, 1 s at most (-)", lambda: self.action_interval(-1)),
            ("Help", "every key (?)", self.action_help),
        ]
        if self.connected is False:
            entries.append(("Start the daemon", "start swampd (s)", self.action_start_daemon))
        for name in sorted(self.available_themes):
            if name.startswith("swamp-"):
                entries.append((f"Theme: {name}", "switch theme (kept in the host config)",
                                partial(setattr, self, "theme", name)))
        return entries

    def _pane_action(self, pane: Pane, action: str) -> None:
        self.action_show_pane(pane.NAME)
        getattr(pane, f"action_{action}")()

    def _theme_changed(self, theme: Theme) -> None:
        for pane in self.panes():
            pane.retone()
        self._draw_status()
        if self.config_file is None or theme.name == self._saved_theme:
            return
        try:
            dash_settings.save_theme(self.config_file, theme.name)
            self._saved_theme = theme.name
        except (OSError, ValueError) as exc:
            self.notify(f"could not save the theme: {exc}", severity="error")
