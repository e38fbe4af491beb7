"""Cache: the hot tier per backend, a paged key browser, evict and prefetch."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from tui import format as fmt
from tui.screens.base import Pane, Results
from tui.widgets.table import LiveTable, Row

KEY_COLUMNS = [("key", "key (in its repo)"), ("repo", "repo"), ("size", "size"), ("age", "age"), ("backend", "backend"),
               ("stale", "stale")]
STAT_COLUMNS = [("backend", "backend"), ("requests", "requests"), ("hits", "hits"), ("misses", "misses"),
                ("ratio", "hit ratio"), ("stale", "stale served"), ("errors", "backend errors"),
                ("p50", "p50 ms"), ("p95", "p95 ms"), ("items", "items"), ("bytes", "bytes")]
PAGE = 100


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
        self.summary_head = "[b]hot tier[/b]"

    def compose(self) -> ComposeResult:
        yield self.filter_box()
        yield Static("", id="cache-summary", classes="box")
        yield LiveTable(STAT_COLUMNS, id="cache-backends")
        yield Static("", id="cache-page")
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
            self.repos_by_store = {r.get("store_id"): r.get("name") for r in repos if isinstance(r, dict)}
        stats = results.get("cache.stats")
        if isinstance(stats, dict):
            self._show_stats(stats)
        listing = results.get("cache.keys")
        if isinstance(listing, dict):
            self.total = int(listing.get("total") or 0)
            keys = listing.get("keys") or []
            self.key_rows = {k["key"]: k for k in keys if k.get("key")}
            self.table().sync({k: self._row(v) for k, v in self.key_rows.items()})
            shown = f"{self.page_offset + 1}-{self.page_offset + len(keys)}" if keys else "none"
            where = f" matching {self.key_filter!r}" if self.key_filter else ""
            self.query_one("#cache-page", Static).update(
                f"keys {shown} of {fmt.number(self.total)}{where}   ([ ] page, / filter)")
        errors = [e for e in (self.error_text(results, m) for m in self.METHODS) if e]
        empty = "the hot tier is empty" if not self.key_filter else "no key matches the filter"
        empty = "" if self.key_rows else empty
        self.set_empty("; ".join(errors) or empty)

    def _show_stats(self, stats: dict[str, Any]) -> None:
        overall = stats.get("overall") or {}
        self.summary_head = (
            f"[b]hot tier[/b]  {fmt.number(overall.get('items'))} items, {fmt.size(overall.get('bytes'))} of "
            f"{fmt.size(overall.get('max_size'))}, hit ratio {fmt.ratio(overall.get('hit_ratio'))}, "
            f"evictions {fmt.number(overall.get('evictions'))}, policy {overall.get('eviction_policy', '-')}, "
            f"staleness {overall.get('staleness', '-')}s"
        )
        for job in stats.get("prefetches") or []:
            self.prefetches[str(job.get("id"))] = job
        self._draw_summary()
        backends = stats.get("backends") or {}
        self.query_one("#cache-backends", LiveTable).sync({
            kind: (kind, fmt.number(b.get("requests")), fmt.number(b.get("hits")), fmt.number(b.get("misses")),
                   fmt.ratio(b.get("hit_ratio")), fmt.number(b.get("stale_served")),
                   fmt.number(b.get("backend_errors")), _ms(b.get("latency_p50_ms")),
                   _ms(b.get("latency_p95_ms")), fmt.number(b.get("items")), fmt.size(b.get("bytes")))
            for kind, b in backends.items()})

    def _progress(self, job: dict[str, Any]) -> str:
        total, done = int(job.get("total") or 0), int(job.get("done") or 0)
        width = 20
        filled = int(width * done / total) if total else 0
        bar = "█" * filled + "░" * (width - filled)
        return (f"prefetch {job.get('id')} ({job.get('repo')}): {bar} {done}/{total} {job.get('state')}, "
                f"fetched {job.get('fetched', 0)} ({fmt.size(job.get('bytes'))}), errors {job.get('errors', 0)}")

    def record_of(self, key: str) -> dict[str, Any] | None:
        item = self.key_rows.get(key)
        if item is None:
            return None
        store = key.split("/", 1)[0]
        return {"repo": self.repos_by_store.get(store, store), **item}

    def _row(self, item: dict[str, Any]) -> Row:
        store, _, path = str(item["key"]).partition("/")
        return (fmt.short(path, 90), self.repos_by_store.get(store, store), fmt.size(item.get("size")),
                fmt.duration(item.get("age")), item.get("backend") or "-", "stale" if item.get("stale") else "")

    def on_events(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            data = event["data"]
            if data.get("type") == "cache.prefetch" and data.get("id"):
                before = self.prefetches.get(data["id"], {}).get("state")
                self.prefetches[data["id"]] = data
                if data.get("state") != "running" and before == "running":
                    self.dash.notify(f"prefetch {data['id']} {data.get('state')}: {data.get('fetched', 0)} fetched",
                                     severity="error" if data.get("state") == "failed" else "information")
        if self.prefetches:
            self._draw_summary()

    def _draw_summary(self) -> None:
        lines = [self.summary_head, *(self._progress(p) for p in self.prefetches.values())]
        self.query_one("#cache-summary", Static).update("\n".join(lines))

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
