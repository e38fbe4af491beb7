"""Overview: the daemon, its backends' health, KPIs and two charts over a window the operator picks."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Static

from tui import format as fmt
from tui import records as rec
from tui.screens.base import Pane, Results
from tui.widgets.chart import RateChart
from tui.widgets.table import theme_style
from tui.widgets.textbox import TextBox

KPI_KEYS = ("hit", "hit-window", "rps", "coalesced", "saved", "flights", "waiters", "running")
WINDOWS = (60, 900, 3600)
"""The chart windows `w` cycles through: 1 m, 15 m, 1 h (the daemon keeps an hour)."""
MAX_POINTS = 120


def window_label(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds / 60:g} m" if seconds >= 60 else f"{seconds:g} s"


class OverviewPane(Pane, can_focus=True):
    NAME = "overview"
    TITLE = "Overview"
    TOPICS = ()
    METHODS = ("daemon.status", "calls.stats", "cache.stats", "datastore.health", "jobs.list", "stats.history")
    KEYS = [("w", "chart window: 1 m, 15 m, 1 h (the daemon keeps the last hour)")]
    BINDINGS = [Binding("w", "window", "window")]

    def __init__(self) -> None:
        super().__init__()
        self.window = WINDOWS[0]
        self._last: tuple[float, int, int] | None = None
        """now, requests_total, the console's own requests (for requests/s of other clients)."""
        self._health: dict[str, Any] | None = None
        self.connected = True
        self.kpis: dict[str, str] = dict.fromkeys(KPI_KEYS, "-")

    def compose(self) -> ComposeResult:
        yield Input(id="filter-overview", classes="filter")
        yield self.empty_line()
        with Horizontal(id="overview-top"):
            yield TextBox("", id="daemon-info", classes="box")
            yield TextBox("", id="backends", classes="box")
        yield TextBox("", id="kpis", classes="box")
        with Horizontal(id="charts"):
            with Vertical(classes="chart"):
                yield TextBox("", classes="chart-title", id="hit-title")
                yield RateChart(id="hit-chart", percent=True, colour="success")
            with Vertical(classes="chart"):
                yield TextBox("", classes="chart-title", id="rps-title")
                yield RateChart(id="rps-chart", percent=False, colour="accent")

    def requests(self, tick: int) -> list[tuple[str, Any]]:
        if not self.is_visible_pane():
            return [("daemon.status", None)]  # the status line's; the rest is read when shown
        wanted: list[tuple[str, Any]] = [("daemon.status", None), ("calls.stats", None), ("cache.stats", None),
                                         ("jobs.list", {"state": "running", "limit": 1000}),
                                         ("stats.history", {"window": self.window,
                                                            "points": min(self.window, MAX_POINTS)})]
        if tick % 5 == 0 or self._health is None:
            wanted.append(("datastore.health", None))
        return wanted

    def show(self, results: Results) -> None:
        now = self.dash.source.now()
        status = results.get("daemon.status")
        if isinstance(status, dict):
            self._show_daemon(status)
        self._requests_now(now, status)
        if "calls.stats" not in results:
            return  # a hidden overview reads only the daemon's status
        calls = results.get("calls.stats")
        cache = results.get("cache.stats")
        jobs = results.get("jobs.list")
        health = results.get("datastore.health")
        if "datastore.health" in results:
            self._health = health if isinstance(health, dict) else {"error": health}
        self._show_backends(cache if isinstance(cache, dict) else None)
        self._kpis(calls, cache, jobs)
        if "stats.history" in results:
            self._charts(results["stats.history"])

    def set_connected(self, up: bool) -> None:
        if up != self.connected:
            self.connected = up
            self._show_backends(None)

    def _show_daemon(self, status: dict[str, Any]) -> None:
        text = Text.assemble((f"swampd {rec.text(status.get('version'), '?')}", "bold"),
                             f"  protocol {rec.text(status.get('protocol'), '?')}"
                             f"  pid {rec.text(status.get('pid'), '-')}"
                             f"  up {fmt.duration(rec.number(status.get('uptime')))}")
        rows = [("socket", rec.text(status.get("socket")) or self.dash.source.label),
                ("clients", f"{rec.text(status.get('connections'), '-')}  "
                            f"(subscriptions {rec.text(status.get('subscriptions'), '-')})"),
                ("requests", f"{fmt.number(status.get('requests_total'))} since start, "
                             f"{rec.text(status.get('requests_in_flight'), '-')} in flight")]
        busy = status.get("busy")
        if status.get("draining"):
            rows.append(("state", "draining"))
        elif isinstance(busy, list) and busy:
            rows.append(("busy", ", ".join(map(str, busy))))
        for name, value in rows:
            text.append(f"\n{name:<10} ")
            text.append(value)
        text.no_wrap, text.overflow = True, "ellipsis"
        self.query_one("#daemon-info", Static).update(text)

    def _show_backends(self, cache: dict[str, Any] | None) -> None:
        if cache is not None:
            self._cache = cache
        cache = getattr(self, "_cache", None)
        text = Text("backends", style="bold")
        if not self.connected:
            text.append("  (last known: the daemon is not answering)", style="italic")
        health = self._health or {}
        stores = rec.dicts(health.get("datastores"))
        ok_style, bad_style = self._tone("success"), self._tone("error")
        if stores:
            for store in stores:
                healthy = bool(store.get("healthy"))
                if not self.connected:
                    text.append("\n? ", style="dim")
                else:
                    text.append("\n● " if healthy else "\n✖ ", style=ok_style if healthy else bad_style)
                latency = rec.number(store.get("latency_ms"))
                lat = f"{latency:.1f} ms" if latency is not None else "-"
                repos = ", ".join(map(str, store.get("repos") or [])) if isinstance(store.get("repos"), list) else ""
                text.append(f"{rec.text(store.get('backend'), '?'):<10} {rec.text(store.get('state'), '?'):<5} "
                            f"{lat:>9}  {repos}")
                if not healthy and rec.text(store.get("message")):
                    text.append(f"\n    why: {rec.text(store.get('message'))}", style=bad_style)
        elif "error" in health:
            text.append(f"\ndatastore health: {_why(health['error'])}")
        else:
            text.append("\nno datastores registered")
        backends = rec.mapping(rec.mapping(cache).get("backends"))
        if backends:
            text.append("\nhot tier, since start: ", style="bold")
            text.append("  ".join(f"{kind} {fmt.ratio(rec.mapping(e).get('hit_ratio'))} hits, "
                                  f"p95 {_ms(rec.mapping(e).get('latency_p95_ms'))}" for kind, e in backends.items()))
        text.no_wrap, text.overflow = True, "ellipsis"
        self.query_one("#backends", Static).update(text)

    def _tone(self, variable: str) -> str:
        return theme_style(self.app.theme_variables, {"success": "ok", "error": "bad"}.get(variable, variable))

    def _kpis(self, calls: Any, cache: Any, jobs: Any) -> None:
        def kpi(key: str, value: str) -> None:
            self.kpis[key] = value

        overall = rec.mapping(rec.mapping(cache).get("overall"))
        kpi("hit", fmt.ratio(overall.get("hit_ratio")) if isinstance(cache, dict) else "n/a")
        if isinstance(calls, dict):
            kpi("coalesced", fmt.number(calls.get("coalesced_total")))
            kpi("saved", fmt.number(calls.get("executions_saved")))
            kpi("flights", str(rec.integer(calls.get("flights"))))
            kpi("waiters", str(rec.integer(calls.get("waiters"))))
        else:
            for key in ("coalesced", "saved", "flights", "waiters"):
                kpi(key, "n/a")
        if isinstance(jobs, dict):
            kpi("running", fmt.number(sum(1 for j in rec.dicts(jobs.get("jobs")) if j.get("state") == "running")))
        else:
            kpi("running", "n/a")
        self._draw_kpis()

    def _draw_kpis(self) -> None:
        """One line of headline numbers, each saying what it covers (wraps on a narrow terminal)."""
        k = self.kpis
        parts = [("hit ratio ", k["hit"], " since start, ", k["hit-window"], f" last {window_label(self.window)}"),
                 ("requests/s ", k["rps"], " (other clients, now)", "", ""),
                 ("coalesced ", k["coalesced"], " calls, saved ", k["saved"], " runs"),
                 ("flights ", k["flights"], ", waiters ", k["waiters"], ""),
                 ("running jobs ", k["running"], "", "", "")]
        text = Text()
        for i, (a, b, c, d, e) in enumerate(parts):
            if i:
                text.append("  ·  ", style="dim")
            text.append(a)
            text.append(b, style="bold")
            text.append(c)
            text.append(d, style="bold")
            text.append(e)
        self.query_one("#kpis", Static).update(text)
    def _requests_now(self, now: float, status: Any) -> None:
        """Requests/s of every client but this console, between the last two refreshes."""
        if not isinstance(status, dict):
            return
        total = rec.integer(status.get("requests_total"))
        own = int(getattr(self.dash.source, "requests_made", 0))
        if self._last is not None:
            then, last_total, last_own = self._last
            if now > then:
                others = max(0.0, ((total - last_total) - (own - last_own)) / (now - then))
                self.kpis["rps"] = f"{others:.1f}"
        self._last = (now, total, own)

    def _charts(self, history: Any) -> None:
        label = window_label(self.window)
        hit_title = self.query_one("#hit-title", Static)
        rps_title = self.query_one("#rps-title", Static)
        if not isinstance(history, dict):
            why = "not available in this daemon" if _missing(history) else _why(history)
            self.kpis["hit-window"] = "n/a"
            self._draw_kpis()
            hit_title.update(Text(f"cache hit rate: {why}"))
            rps_title.update(Text(f"requests per second: {why}"))
            self.query_one("#hit-chart", RateChart).show_series(self.window, [])
            self.query_one("#rps-chart", RateChart).show_series(self.window, [])
            return
        now = rec.number(history.get("now")) or 0.0
        points = rec.dicts(history.get("points"))
        covered = rec.number(history.get("covered")) or 0.0
        step = rec.number(history.get("step")) or 1.0
        shown = f"last {label}"
        if covered + step < self.window:
            shown += f" (the daemon has {window_label(round(covered))} of it)"
        overall = rec.mapping(history.get("overall"))
        ratio = rec.number(overall.get("hit_ratio"))
        self.kpis["hit-window"] = fmt.ratio(ratio) if ratio is not None else "no reads"
        self._draw_kpis()
        hits = [(rec.number(p.get("t")) or now) - now for p in points]
        hit_values = [None if (r := rec.number(p.get("hit_ratio"))) is None else 100 * r for p in points]
        rps_values = [rec.number(p.get("requests_per_s")) for p in points]
        reads = sum(rec.integer(p.get("reads")) for p in points)
        hit_note = "" if reads else ": no cache reads in this window"
        hit_title.update(Text(f"hit rate % {shown}{hit_note}, per {fmt.duration(step)} (w: 1 m/15 m/1 h)",
                              no_wrap=True, overflow="ellipsis"))
        last = next((v for v in reversed(rps_values) if v is not None), None)
        rps_now = f", now {last:.1f}/s" if last is not None else ""
        rps_title.update(Text(f"requests/s {shown}{rps_now}, all clients (this console too)",
                              no_wrap=True, overflow="ellipsis"))
        self.query_one("#hit-chart", RateChart).show_series(self.window, list(zip(hits, hit_values, strict=True)))
        self.query_one("#rps-chart", RateChart).show_series(self.window, list(zip(hits, rps_values, strict=True)))

    def action_window(self) -> None:
        self.window = WINDOWS[(WINDOWS.index(self.window) + 1) % len(WINDOWS)] if self.window in WINDOWS \
            else WINDOWS[0]
        self.dash.notify(f"charts: last {window_label(self.window)}")
        self.dash.refresh_panes([self.NAME])

    def commands(self) -> list[tuple[str, str, str]]:
        return [("Chart window", "1 m, 15 m or 1 h of hit rate and requests/s (w)", "window")]

    def open_filter(self) -> None:
        self.dash.notify("the overview has no table to filter", severity="information")


def _ms(value: Any) -> str:
    return f"{value:.1f}ms" if isinstance(value, int | float) else "-"


def _missing(error: Any) -> bool:
    return isinstance(error, BaseException) and getattr(error, "kind", "") == "method_not_found"


def _why(error: Any) -> str:
    if isinstance(error, BaseException):
        kind = getattr(error, "kind", "")
        return "not available in this daemon" if kind == "method_not_found" else str(getattr(error, "message", error))
    return str(error)
