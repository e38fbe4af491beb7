"""Cache: the hot tier per backend, a paged key browser, evict and prefetch."""

from __future__ import annotations

import re
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from tui import format as fmt
from tui import records as rec
from tui.screens.base import PARAMS, Pane, Results
from tui.widgets.table import Cell, Col, LiveTable, Row, theme_style
from tui.widgets.textbox import TextBox

KEY_COLUMNS = [Col("key", "key (in its repo; model names for ids)", flex=True, min=36), Col("repo", "repo", drop=4),
               Col("size", "size"), Col("age", "age", drop=2), Col("hits", "hits/reads", drop=1),
               Col("backend", "backend", drop=5), Col("stale", "stale", drop=3)]
STAT_COLUMNS = [Col("backend", "backend"), Col("requests", "requests", drop=6), Col("hits", "hits", drop=7),
                Col("misses", "misses", drop=8), Col("ratio", "hit ratio"), Col("stale", "stale served", drop=5),
                Col("errors", "backend errors", drop=4), Col("p50", "p50 ms", drop=3), Col("p95", "p95 ms", drop=2),
                Col("items", "items", drop=9), Col("bytes", "bytes", drop=1)]
PAGE = 100
FINISHED_PREFETCH_SECONDS = 30.0
"""A finished prefetch's line stays this long, then goes."""


UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


def display_key(path: str, model_name: str | None) -> str:
    """`data/aws/ec2/<uuid>/state/3/raw` as `data/aws/ec2/web-1/state/3/raw` when the name is known."""
    if not model_name:
        return path
    parts = path.split("/")
    for i in range(2, len(parts) - 1):
        if UUID.match(parts[i]):
            parts[i] = model_name
            break
    return "/".join(parts)


class CachePane(Pane):
    NAME = "cache"
    TITLE = "Cache"
    TOPICS = ("cache",)
    METHODS = ("cache.stats", "cache.keys", "repos.list")
    MUTATING = frozenset({"evict_key", "evict_prefix", "evict_model", "evict_all", "prefetch"})
    KEYS = [("e", "evict the selected key (asks first)"), ("E", "evict a prefix of the selected key's repo"),
            ("m", "evict one model (TYPE MODEL) of the selected key's repo"), ("A", "evict everything (asks first)"),
            ("f", "prefetch a model (TYPE MODEL) or a prefix, with progress"),
            ("[ / ]", "previous / next page of keys"), ("/", "filter keys (by the daemon, substring)")]
    BINDINGS = [Binding("e", "evict_key", "evict"), Binding("E", "evict_prefix", "evict prefix"),
                Binding("m", "evict_model", "evict model", show=False), Binding("A", "evict_all", "evict all"),
                Binding("f", "prefetch", "prefetch"), Binding("left_square_bracket", "page(-1)", "prev page"),
                Binding("right_square_bracket", "page(1)", "next page")]

    def __init__(self) -> None:
        super().__init__()
        self.page_offset = 0
        self.total = 0
        self.key_filter = ""
        self.key_rows: dict[str, dict[str, Any]] = {}
        self.repos_by_store: dict[str, str] = {}
        self.prefetches: dict[str, dict[str, Any]] = {}
        self.finished_at: dict[str, float] = {}
        self.summary_head = Text("hot tier", style="bold")

    def compose(self) -> ComposeResult:
        yield self.filter_box()
        yield TextBox("", id="cache-summary", classes="box")
        yield LiveTable(STAT_COLUMNS, id="cache-backends")
        yield TextBox("", id="cache-page")
        yield self.empty_line()
        yield LiveTable(KEY_COLUMNS, id="cache-keys")

    def table(self) -> LiveTable:
        return self.query_one("#cache-keys", LiveTable)

    def requests(self, tick: int) -> list[tuple[str, Any]]:
        params: dict[str, Any] = {"offset": self.page_offset, "limit": PAGE}
        if self.key_filter:
            params["filter"] = self.key_filter
        return [("cache.stats", None), ("cache.keys", params), ("repos.list", None)]

    def show(self, results: Results) -> None:
        if self.unavailable(results):
            for widget in self.query(LiveTable):
                widget.display = False
            return
        repos = results.get("repos.list")
        if isinstance(repos, list):
            self.repos_by_store = {rec.text(r.get("store_id")): rec.text(r.get("name")) for r in rec.dicts(repos)}
        stats = results.get("cache.stats")
        if isinstance(stats, dict):
            self._show_stats(stats)
        listing = results.get("cache.keys")
        asked = rec.mapping(rec.mapping(results.get(PARAMS)).get("cache.keys"))
        late = (asked.get("filter") or "") != self.key_filter or rec.integer(asked.get("offset")) != self.page_offset
        if isinstance(listing, dict) and not (asked and late):  # a reply to an older filter is dropped
            self.total = rec.integer(listing.get("total"))
            keys = rec.dicts(listing.get("keys"))
            self.key_rows = {rec.text(k["key"]): k for k in keys if rec.text(k.get("key"))}
            self.table().sync({k: self._row(v) for k, v in self.key_rows.items()})
            shown = f"{self.page_offset + 1}-{self.page_offset + len(keys)}" if keys else "none"
            where = f" matching {self.key_filter!r}" if self.key_filter else ""
            self.query_one("#cache-page", Static).update(
                Text(f"keys {shown} of {fmt.number(self.total)}{where}   ([ ] page, / filter)"))
        errors = [e for e in (self.error_text(results, m) for m in self.METHODS) if e]
        empty = "the hot tier is empty" if not self.key_filter else "no key matches the filter"
        empty = "" if self.key_rows else empty
        self.set_empty("; ".join(errors) or empty)

    def _show_stats(self, stats: dict[str, Any]) -> None:
        overall = rec.mapping(stats.get("overall"))
        manual = overall.get("evictions_manual")
        evictions = f"evictions {fmt.number(overall.get('evictions'))} by size"
        if manual is not None:
            evictions += f", {fmt.number(manual)} by request"
        self.summary_head = Text.assemble(
            ("hot tier", "bold"),
            f"  {fmt.number(overall.get('items'))} items, {fmt.size(overall.get('bytes'))} of "
            f"{fmt.size(overall.get('max_size'))}, hit ratio {fmt.ratio(overall.get('hit_ratio'))} since start, "
            f"{evictions}, policy {rec.text(overall.get('eviction_policy'), '-')}, "
            f"staleness {rec.text(overall.get('staleness'), '-')}s")
        memory = rec.mapping(rec.mapping(stats.get("tiers")).get("memory"))
        if memory:
            self.summary_head.append(f"; memory tier {fmt.ratio(memory.get('hit_ratio'))} of lookups, "
                                     f"{fmt.size(memory.get('bytes'))} of {fmt.size(memory.get('max_bytes'))}")
        for job in rec.dicts(stats.get("prefetches")):
            self._note_prefetch(job, announce=False)
        self._draw_summary()
        backends = rec.mapping(stats.get("backends"))
        self.query_one("#cache-backends", LiveTable).sync({
            kind: (kind, b.get("requests"), b.get("hits"), b.get("misses"),
                   Cell(fmt.ratio(b.get("hit_ratio")), sort=rec.number(b.get("hit_ratio"))), b.get("stale_served"),
                   Cell(fmt.number(b.get("backend_errors")), sort=rec.number(b.get("backend_errors")),
                        tone="bad" if rec.integer(b.get("backend_errors")) else ""),
                   Cell(_ms(b.get("latency_p50_ms")), sort=rec.number(b.get("latency_p50_ms"))),
                   Cell(_ms(b.get("latency_p95_ms")), sort=rec.number(b.get("latency_p95_ms"))),
                   b.get("items"), Cell(fmt.size(b.get("bytes")), sort=rec.number(b.get("bytes"))))
            for kind, b in ((k, rec.mapping(v)) for k, v in backends.items())})

    def _progress(self, job: dict[str, Any]) -> Text:
        total, done = rec.integer(job.get("total")), rec.integer(job.get("done"))
        width = 20
        filled = int(width * done / total) if total else 0
        bar = "█" * filled + "░" * (width - filled)
        state = rec.text(job.get("state"), "?")
        line = Text(f"prefetch {rec.text(job.get('id'))} ({rec.text(job.get('repo'))}"
                    f"{': ' + rec.text(job.get('prefix')) if job.get('prefix') else ''}): {bar} {done}/{total} ")
        tone = {"done": "ok", "failed": "bad", "cancelled": "warn"}.get(state, "active")
        line.append(state, style=theme_style(self.app.theme_variables, tone))
        line.append(f", fetched {rec.integer(job.get('fetched'))} ({fmt.size(job.get('bytes'))}), "
                    f"errors {rec.integer(job.get('errors'))}")
        if state == "done" and total == 0:
            line.append("  — nothing matched: wrong repo or prefix?", style="bold")
        return line

    def record_of(self, key: str) -> dict[str, Any] | None:
        item = self.key_rows.get(key)
        if item is None:
            return None
        store = key.split("/", 1)[0]
        return {"repo": self.repos_by_store.get(store, store), **item, "age": fmt.duration(rec.number(item.get("age")))}

    def _row(self, item: dict[str, Any]) -> Row:
        store, _, path = rec.text(item.get("key")).partition("/")
        age = rec.number(item.get("age"))
        reads, hits = rec.integer(item.get("reads")), rec.integer(item.get("hits"))
        return (Cell(display_key(path, rec.text(item.get("model_name"))), sort=path),
                self.repos_by_store.get(store, store),
                Cell(fmt.size(item.get("size")), sort=rec.number(item.get("size"))),
                Cell(fmt.age(age), sort=age), Cell(f"{hits}/{reads}" if reads else "-", sort=hits),
                rec.text(item.get("backend"), "-"), Cell("stale", tone="warn") if item.get("stale") else "")

    def on_events(self, events: list[dict[str, Any]]) -> None:
        changed = False
        for event in events:
            data = rec.mapping(event.get("data"))
            if data.get("type") == "cache.prefetch" and rec.text(data.get("id")):
                self._note_prefetch(data, announce=True)
                changed = True
        if changed:
            self._draw_summary()

    def _note_prefetch(self, job: dict[str, Any], *, announce: bool) -> None:
        job_id = rec.text(job.get("id"))
        before = rec.text(self.prefetches.get(job_id, {}).get("state"))
        state = rec.text(job.get("state"))
        if job_id in self.finished_at and state != "running":
            return  # already finished and (maybe) cleared: never brought back by a later stats reply
        self.prefetches[job_id] = job
        if state != "running":
            self.finished_at[job_id] = self.dash.source.now()
            if announce and before == "running":
                total = rec.integer(job.get("total"))
                if state == "done" and total == 0:
                    self.dash.notify(f"prefetch {job_id} found nothing to fetch in repo {rec.text(job.get('repo'))}"
                                     f"{' under ' + rec.text(job.get('prefix')) if job.get('prefix') else ''}",
                                     severity="warning")
                else:
                    self.dash.notify(f"prefetch {job_id} {state}: {rec.integer(job.get('fetched'))} fetched",
                                     severity="error" if state == "failed" else "information")

    def tick(self) -> None:
        now = self.dash.source.now()
        gone = [j for j, at in self.finished_at.items()
                if now - at > FINISHED_PREFETCH_SECONDS and j in self.prefetches]
        for job_id in gone:
            self.prefetches.pop(job_id, None)
        if gone:
            self._draw_summary()

    def _draw_summary(self) -> None:
        text = self.summary_head.copy()
        for job in self.prefetches.values():
            text.append("\n")
            text.append_text(self._progress(job))
        text.no_wrap, text.overflow = True, "ellipsis"
        self.query_one("#cache-summary", Static).update(text)

    # -- filter and paging (by the daemon) -------------------------------------------------

    def apply_filter(self, text: str) -> None:
        self.key_filter = text.strip()
        self.page_offset = 0
        self.dash.refresh_panes([self.NAME])

    def action_page(self, step: int) -> None:
        offset = self.page_offset + step * PAGE
        if offset < 0 or (step > 0 and offset >= self.total):
            self.dash.notify("no more pages", severity="information")
            return
        self.page_offset = offset
        self.dash.refresh_panes([self.NAME])

    # -- actions -----------------------------------------------------------------------------

    def commands(self) -> list[tuple[str, str, str]]:
        return [("Evict key", "evict the selected cache key", "evict_key"),
                ("Evict prefix", "evict every key under a prefix", "evict_prefix"),
                ("Evict model", "evict one model's data (TYPE MODEL)", "evict_model"),
                ("Evict all", "empty the whole hot tier", "evict_all"),
                ("Prefetch", "warm the cache with a model or a prefix", "prefetch")]

    def _selected(self) -> tuple[str, str] | None:
        """(repo, repo-relative path) of the selected key."""
        key = self.table().cursor_key()
        if key is None:
            return None
        store, _, path = key.partition("/")
        repo = self.repos_by_store.get(store)
        return (repo, path) if repo else None

    def _repo(self) -> str | None:
        selected = self._selected()
        if selected:
            return selected[0]
        names = sorted(set(self.repos_by_store.values()))
        return names[0] if len(names) == 1 else None

    def action_evict_key(self) -> None:
        selected = self._selected()
        if selected is None:
            self.dash.notify("select a cached key first", severity="warning")
            return
        repo, path = selected
        self.dash.confirm_rpc("Evict this key?", f"{repo}: {path}", "cache.evict", {"repo": repo, "key": path},
                              done="evicted {evicted} key(s)")

    def action_evict_prefix(self) -> None:
        repo = self._repo()
        if repo is None:
            self.dash.notify("select a key first: its repo is where the prefix applies", severity="warning")
            return
        selected = self._selected()
        guess = selected[1].rsplit("/", 2)[0] + "/" if selected else "data/"

        def chosen(prefix: str | None) -> None:
            if prefix:
                self.dash.confirm_rpc("Evict every key under this prefix?", f"{repo}: {prefix}", "cache.evict",
                                      {"repo": repo, "prefix": prefix}, done="evicted {evicted} key(s)")

        self.dash.prompt(f"Evict prefix in repo {repo}", "data/TYPE/", guess, chosen)

    def action_evict_model(self) -> None:
        repo = self._repo()
        if repo is None:
            self.dash.notify("select a key first: its repo is where the model lives", severity="warning")
            return

        def chosen(text: str | None) -> None:
            parts = (text or "").split()
            if len(parts) != 2:
                if text:
                    self.dash.notify("give TYPE MODEL, e.g. aws/ec2 web-1", severity="error")
                return
            self.dash.confirm_rpc("Evict this model's cached data?", f"{repo}: {parts[0]} {parts[1]}",
                                  "cache.evict", {"repo": repo, "type": parts[0], "model": parts[1]},
                                  done="evicted {evicted} key(s)")

        self.dash.prompt(f"Evict a model in repo {repo}: TYPE MODEL", "aws/ec2 web-1", "", chosen)

    def action_evict_all(self) -> None:
        self.dash.confirm_rpc("Evict EVERYTHING from the hot tier?", f"{fmt.number(self.total)} key(s) of every repo",
                              "cache.evict", {"all": True}, done="evicted {evicted} key(s)")

    def action_prefetch(self) -> None:
        repo = self._repo()
        if repo is None:
            self.dash.notify("select a key first (or register one repo): prefetch needs a repo", severity="warning")
            return

        def chosen(text: str | None) -> None:
            parts = (text or "").split()
            if not parts:
                return
            params: dict[str, Any] = {"repo": repo}
            if len(parts) == 2:
                params.update(type=parts[0], model=parts[1])
            else:
                params["prefix"] = parts[0]
            self.dash.rpc_action("cache.prefetch", params, done="prefetch {id} started")

        self.dash.prompt(f"Prefetch into the cache from repo {repo}: TYPE MODEL, or a PREFIX", "data/TYPE/", "", chosen)


def _ms(value: Any) -> str:
    return f"{value:.1f}" if isinstance(value, int | float) else "-"
