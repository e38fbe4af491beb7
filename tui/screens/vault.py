"""Vault: vaults and their keys with metadata, never values; age, refresh hooks, audit, rotate."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from swampd.client import DaemonUnavailable, RpcError
from tui import format as fmt
from tui import records as rec
from tui.screens.base import Pane, Results, console_words
from tui.widgets.table import Cell, Col, LiveTable, Row, theme_style
from tui.widgets.textbox import TextBox

COLUMNS = [Col("vault", "vault"), Col("key", "key", max=40), Col("backend", "backend", drop=3),
           Col("labels", "labels", flex=True, min=8, drop=1), Col("updated", "updated", drop=2),
           Col("rotated", "rotated", drop=4), Col("refresh", "refresh hook due"), Col("version", "version", drop=5)]
SHOWN_FIELDS = ("createdAt", "updatedAt", "rotatedAt", "version", "labels", "backend", "type", "sizeBytes",
                "hasRefreshHook", "refresh")
"""The only secret metadata the pane reads: a value field, if a daemon ever sent one, is never looked at."""
AUDIT_COLUMNS = [Col("time", "time (UTC)"), Col("action", "action"), Col("vault", "vault"), Col("key", "key"),
                 Col("caller", "caller", flex=True, min=10), Col("repo", "repo", drop=1)]


class VaultPane(Pane):
    NAME = "vault"
    AGES_EVERY = 5  # ages and due times move slowly
    TITLE = "Vault"
    TOPICS = ("vault",)
    METHODS = ("vault.list",)
    MUTATING = frozenset({"rotate", "lock"})
    KEYS = [("r", "rotate the selected secret: its refresh hook when it has one, else a new random value"),
            ("l", "lock the vault (drop warm keys; asks first) or unlock it"),
            ("a", "the audit trail of the selected secret (last 7 days)")]
    BINDINGS = [Binding("r", "rotate", "rotate secret"), Binding("l", "lock", "lock/unlock"),
                Binding("a", "audit", "audit")]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[str, dict[str, Any]] = {}
        self.locked = False

    def compose(self) -> ComposeResult:
        yield self.filter_box()
        yield self.empty_line()
        yield TextBox("", id="vault-summary", classes="box")
        yield LiveTable(COLUMNS, id="vault-table", order=lambda k, r: k)

    def table(self) -> LiveTable:
        return self.query_one("#vault-table", LiveTable)

    def show(self, results: Results) -> None:
        if self.unavailable(results):
            return
        error = self.error_text(results, "vault.list")
        if error:
            self.set_empty(error)
            return
        listing = rec.mapping(results.get("vault.list"))
        self.locked = bool(listing.get("locked"))
        entries: dict[str, dict[str, Any]] = {}
        notes = Text.assemble(("vaults", "bold"), f" ({'locked: l unlocks' if self.locked else 'unlocked'})"
                                                  " — names and metadata only, never values")
        for vault in rec.dicts(listing.get("vaults")):
            name, repo = rec.text(vault.get("name"), "?"), rec.text(vault.get("repo"))
            where = f" in {repo}" if repo else ""
            keys = rec.dicts(vault.get("keys"))
            notes.append(f"\n  {name} ({rec.text(vault.get('type'), '?')}{where}): ")
            if vault.get("error"):
                message = rec.text(rec.mapping(vault.get("error")).get("message"), "error")
                notes.append(console_words(message), style=theme_style(self.app.theme_variables, "bad"))
            elif not vault.get("supported", True):
                notes.append("not supported by swampd")
            else:
                notes.append(f"{len(keys)} key(s)")
            for meta in keys:
                safe = {f: meta.get(f) for f in SHOWN_FIELDS}
                key = rec.text(meta.get("key"))
                entries[f"{repo}|{name}|{key}"] = {**safe, "vault": name, "repo": repo or None, "key": key,
                                                   "type": vault.get("type")}
        self.entries = entries
        notes.no_wrap, notes.overflow = True, "ellipsis"
        self.query_one("#vault-summary", Static).update(notes)
        self.table().sync({k: self._row(e) for k, e in entries.items()})
        self.ages_redone()
        self.set_empty("" if entries else "no secrets: `swamp vault put VAULT KEY` stores one")

    def tick(self) -> None:
        if self.dash.tick % self.AGES_EVERY == 0:
            self.redo_ages()

    def redo_ages(self) -> None:
        self.ages_redone()
        table = self.table()
        for key, entry in self.entries.items():
            table.upsert(key, self._row(entry))

    def record_of(self, key: str) -> dict[str, Any] | None:
        return self.entries.get(key)  # metadata only: entries never hold a value

    def _row(self, entry: dict[str, Any]) -> Row:
        now = self.dash.source.now()
        labels = entry.get("labels")
        label_text = ",".join(f"{k}={v}" for k, v in sorted(labels.items())) if isinstance(labels, dict) else ""
        updated, rotated = fmt.epoch(entry.get("updatedAt")), fmt.epoch(entry.get("rotatedAt"))
        return (rec.text(entry.get("vault"), "-"), rec.text(entry.get("key"), "-"),
                rec.text(entry.get("backend")) or rec.text(entry.get("type"), "-"), label_text or "-",
                Cell(fmt.ago(updated, now) + " ago" if updated else "-", sort=-(updated or 0)),
                Cell(fmt.ago(rotated, now) + " ago" if rotated else "never", sort=-(rotated or 0)),
                self._refresh_cell(entry, now), entry.get("version"))

    @staticmethod
    def _refresh_cell(entry: dict[str, Any], now: float) -> Cell:
        hook = entry.get("refresh")
        if isinstance(hook, dict):
            due = fmt.epoch(hook.get("dueAt"))
            if due is None or hook.get("stale"):
                return Cell("due now" if due is None else fmt.until(due, now), sort=due or 0, tone="warn")
            return Cell(fmt.until(due, now), sort=due)
        if entry.get("hasRefreshHook"):
            return Cell("has a hook", sort=float("inf"))
        return Cell("-", sort=float("inf"))  # no hook: never due, last when sorted by due

    def commands(self) -> list[tuple[str, str, str]]:
        return [("Rotate secret", "its refresh hook, or a new random value", "rotate"),
                ("Lock or unlock the vault", "drop every warm key (value operations fail until unlock)", "lock"),
                ("Vault audit", "the audit trail of the selected secret", "audit")]

    def action_lock(self) -> None:
        if self.locked:
            self.dash.rpc_action("vault.unlock", {}, done="vault unlocked")
            return
        self.dash.confirm_rpc("Lock the vault?", "warm keys are dropped; reads of values fail until l unlocks",
                              "vault.lock", {}, done="vault locked")

    def _selected(self) -> dict[str, Any] | None:
        return self.entries.get(self.table().cursor_key() or "")

    def action_rotate(self) -> None:
        entry = self._selected()
        if entry is None:
            self.dash.notify("no secret selected", severity="warning")
            return
        params: dict[str, Any] = {"vault": entry["vault"], "key": entry["key"]}
        if entry.get("repo"):
            params["repo"] = entry["repo"]
        how = ("the daemon runs the secret's refresh hook and stores its output" if entry.get("hasRefreshHook")
               else "the old value is replaced by a new random one")
        self.dash.confirm_rpc(f"Rotate secret {entry['key']} in vault {entry['vault']}?", f"{how}; nothing is shown",
                              "vault.rotate", params, done=f"rotated {entry['key']}")

    def action_audit(self) -> None:
        entry = self._selected()
        self._load_audit(entry)

    @work(thread=True, group="actions")
    def _load_audit(self, entry: dict[str, Any] | None) -> None:
        params: dict[str, Any] = {"limit": 500}
        if entry is not None:
            params.update(vault=entry["vault"], key=entry["key"])
            if entry.get("repo"):
                params["repo"] = entry["repo"]
        try:
            reply = self.dash.source.call("vault.audit", params)
        except (RpcError, DaemonUnavailable) as exc:
            self.app.call_from_thread(self.dash.notify, str(getattr(exc, "message", exc)), title="vault.audit",
                                      severity="error")
            return
        self.app.call_from_thread(self._show_audit, entry, reply)

    def _show_audit(self, entry: dict[str, Any] | None, reply: Any) -> None:
        from tui.widgets.detail import TableScreen

        entries = rec.dicts(rec.mapping(reply).get("entries"))
        rows = {str(i): (Cell(fmt.stamp(e.get("timestamp")), sort=rec.text(e.get("timestamp"))),
                         rec.text(e.get("action"), "-"), rec.text(e.get("vaultName"), "-"),
                         rec.text(e.get("secretKey"), "-"), rec.text(e.get("callerContext"), "-"),
                         rec.text(e.get("repo"), "host"))
                for i, e in enumerate(entries)}
        what = f"{entry['vault']}/{entry['key']}" if entry else "every vault"
        note = "newest first; last 7 days" + (" (truncated)" if rec.mapping(reply).get("truncated") else "")
        self.app.push_screen(TableScreen(f"audit trail of {what}: {len(entries)} entr(ies)", AUDIT_COLUMNS, rows,
                                         note, sort=("time", True)))
