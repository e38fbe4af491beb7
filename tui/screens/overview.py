"""Overview: the daemon, its backends' health, KPIs and two sparklines."""

from __future__ import annotations

from collections import deque
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Sparkline, Static

from tui import format as fmt
from tui.screens.base import Pane, Results

HISTORY = 120
"""Samples kept for the charts (two minutes at the default 1 s poll... or more at slower polls)."""


class Kpi(Vertical):
    def __init__(self, key: str, title: str) -> None:
        super().__init__(id=f"kpi-{key}", classes="kpi")
        self.title = title

    def compose(self) -> ComposeResult:
        yield Label(self.title, classes="kpi-title")
        yield Label("-", classes="kpi-value")

    def set(self, value: str) -> None:
        self.query_one(".kpi-value", Label).update(value)


class OverviewPane(Pane):
    NAME = "overview"
    TITLE = "Overview"
    TOPICS = ()
    METHODS = ("daemon.status", "calls.stats", "cache.stats", "datastore.health", "jobs.list")

    def __init__(self) -> None:
        super().__init__()
        self.hits: deque[float] = deque(maxlen=HISTORY)
        self.rates: deque[float] = deque(maxlen=HISTORY)
        self._last: tuple[float, int, int, int, int] | None = None
        """now, requests_total, cache hits, cache requests, the console's own requests."""
        self._health: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield Input(id="filter-overview", classes="filter")
        yield self.empty_line()
        with Horizontal(id="overview-top"):
            yield Static("", id="daemon-info", classes="box")
            yield Static("", id="backends", classes="box")
        with Horizontal(id="kpis"):
            yield Kpi("hit", "hit ratio")
            yield Kpi("rps", "requests/s")
            yield Kpi("coalesced", "coalesced calls")
            yield Kpi("saved", "executions saved")
            yield Kpi("flights", "flights / waiters")
            yield Kpi("running", "running jobs")
        yield Label("cache hit rate (%)", classes="chart-title", id="hit-title")
        yield Sparkline([], id="hit-chart", summary_function=max)
        yield Label("requests per second", classes="chart-title", id="rps-title")
        yield Sparkline([], id="rps-chart", summary_function=max)

    def seed(self, samples: list[tuple[float, float]]) -> None:
        for hit, rate in samples:
            self.hits.append(hit)
            self.rates.append(rate)
        self._draw_charts()

    def requests(self, tick: int) -> list[tuple[str, Any]]:
        wanted: list[tuple[str, Any]] = [("daemon.status", None), ("calls.stats", None), ("cache.stats", None),
                                         ("jobs.list", {"state": "running", "limit": 1000})]
        if tick % 5 == 0 or self._health is None:
            wanted.append(("datastore.health", None))
        return wanted

    def show(self, results: Results) -> None:
        now = self.dash.source.now()
        status = results.get("daemon.status")
        if isinstance(status, dict):
            self._show_daemon(status)
        calls = results.get("calls.stats")
        cache = results.get("cache.stats")
        jobs = results.get("jobs.list")
        health = results.get("datastore.health")
        if "datastore.health" in results:
            self._health = health if isinstance(health, dict) else {"error": health}
        self._show_backends(cache if isinstance(cache, dict) else None)
        self._kpis(calls, cache, jobs)
        self._sample(now, status, cache)

    def _show_daemon(self, status: dict[str, Any]) -> None:
        lines = [
            f"[b]swampd {status.get('version', '?')}[/b]  protocol {status.get('protocol', '?')}",
            f"pid        {status.get('pid', '-')}",
            f"uptime     {fmt.duration(status.get('uptime'))}",
            f"socket     {status.get('socket') or self.dash.source.label}",
            f"clients    {status.get('connections', '-')}  (subscriptions {status.get('subscriptions', '-')})",
            f"requests   {fmt.number(status.get('requests_total'))}  in flight {status.get('requests_in_flight', '-')}",
        ]
        busy = status.get("busy") or []
        if status.get("draining"):
            lines.append("[b]draining[/b]")
        elif busy:
            lines.append(f"busy       {fmt.short(', '.join(map(str, busy)), 48)}")
        self.query_one("#daemon-info", Static).update("\n".join(lines))

    def _show_backends(self, cache: dict[str, Any] | None) -> None:
        lines = ["[b]backends[/b]"]
        health = self._health or {}
        stores = health.get("datastores") if isinstance(health.get("datastores"), list) else None
        if stores:
            for store in stores:
                mark = "[green]●[/green]" if store.get("healthy") else "[red]✖[/red]"
                latency = store.get("latency_ms")
                lat = f"{latency:.1f} ms" if isinstance(latency, int | float) else "-"
                repos = ", ".join(store.get("repos") or [])
                lines.append(f"{mark} {store.get('backend', '?'):<10} {store.get('state', '?'):<5} {lat:>9}  "
                             f"{fmt.short(repos, 24)}")
        elif "error" in health:
            lines.append(f"datastore health: {_why(health['error'])}")
        else:
            lines.append("no datastores registered")
        backends = (cache or {}).get("backends") or {}
        if backends:
            lines.append("")
            lines.append("[b]hot tier[/b] by backend: hit ratio, p50/p95 backend latency")
            for kind, entry in backends.items():
                lines.append(f"  {kind:<10} {fmt.ratio(entry.get('hit_ratio')):>6}  "
                             f"{_ms(entry.get('latency_p50_ms'))}/{_ms(entry.get('latency_p95_ms'))}")
        self.query_one("#backends", Static).update("\n".join(lines))

    def _kpis(self, calls: Any, cache: Any, jobs: Any) -> None:
        def kpi(key: str, value: str) -> None:
            self.query_one(f"#kpi-{key}", Kpi).set(value)

        if isinstance(cache, dict):
            kpi("hit", fmt.ratio((cache.get("overall") or {}).get("hit_ratio")))
        else:
            kpi("hit", "n/a")
        if isinstance(calls, dict):
            kpi("coalesced", fmt.number(calls.get("coalesced_total")))
            kpi("saved", fmt.number(calls.get("executions_saved")))
            kpi("flights", f"{calls.get('flights', 0)} / {calls.get('waiters', 0)}")
        else:
            for key in ("coalesced", "saved", "flights"):
                kpi(key, "n/a")
        if isinstance(jobs, dict):
            kpi("running", fmt.number(sum(1 for j in jobs.get("jobs", []) if j.get("state") == "running")))
        else:
            kpi("running", "n/a")

    def _sample(self, now: float, status: Any, cache: Any) -> None:
        if not isinstance(status, dict):
            return
        overall = (cache or {}).get("overall") if isinstance(cache, dict) else None
        hits = int((overall or {}).get("hits") or 0)
        reqs = int((overall or {}).get("requests") or 0)
        total = int(status.get("requests_total") or 0)
        own = int(getattr(self.dash.source, "requests_made", 0))
        if self._last is not None:
            then, last_total, last_hits, last_reqs, last_own = self._last
            elapsed = now - then
            if elapsed > 0:
                others = (total - last_total) - (own - last_own)
                self.rates.append(max(0.0, others / elapsed))
                dreq = reqs - last_reqs
                if overall is not None and dreq > 0:
                    self.hits.append(100.0 * (hits - last_hits) / dreq)
        self._last = (now, total, hits, reqs, own)
        self.query_one("#kpi-rps", Kpi).set(f"{self.rates[-1]:.1f}" if self.rates else "-")
        self._draw_charts()

    def _draw_charts(self) -> None:
        # Pad on the left so a young history fills from the right, not one bar across the screen.
        self.query_one("#hit-chart", Sparkline).data = [0.0] * (HISTORY - len(self.hits)) + list(self.hits)
        self.query_one("#rps-chart", Sparkline).data = [0.0] * (HISTORY - len(self.rates)) + list(self.rates)
        hit_now = f"{self.hits[-1]:.0f}%" if self.hits else "n/a (no cache reads yet)"
        rps_now = f"{self.rates[-1]:.1f}/s" if self.rates else "n/a"
        self.query_one("#hit-title", Label).update(f"cache hit rate (%) of recent reads: now {hit_now}")
        self.query_one("#rps-title", Label).update(
            f"requests per second from clients (the console's own polls left out): now {rps_now}")

    def open_filter(self) -> None:
        self.dash.notify("the overview has no table to filter", severity="information")


def _ms(value: Any) -> str:
    return f"{value:.1f}ms" if isinstance(value, int | float) else "-"


def _why(error: Any) -> str:
    if isinstance(error, BaseException):
        kind = getattr(error, "kind", "")
        return "not available in this daemon" if kind == "method_not_found" else str(getattr(error, "message", error))
    return str(error)
