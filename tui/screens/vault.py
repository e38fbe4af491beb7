"""Vault: vaults and their keys with metadata, never values; rotate a secret."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from tui import format as fmt
from tui.screens.base import Pane, Results
from tui.widgets.table import LiveTable, Row

COLUMNS = [("vault", "vault"), ("key", "key"), ("backend", "backend"), ("labels", "labels"),
           ("updated", "updated"), ("rotated", "rotated"), ("version", "version")]
SHOWN_FIELDS = ("updatedAt", "rotatedAt", "version", "labels", "backend", "type", "sizeBytes")
"""The only secret metadata the pane reads: a value field, if a daemon ever sent one, is never looked at."""


class VaultPane(Pane):
    NAME = "vault"
    TITLE = "Vault"
    TOPICS = ("vault",)
    METHODS = ("vault.list",)
    MUTATING = frozenset({"rotate", "lock"})
    KEYS = [("r", "rotate the selected secret to a new random value (asks first)"),
            ("l", "lock the vault (drop warm keys; asks first) or unlock it")]
    BINDINGS = [Binding("r", "rotate", "rotate secret"), Binding("l", "lock", "lock/unlock")]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[str, dict[str, Any]] = {}
        self.locked = False

    def compose(self) -> ComposeResult:
        yield self.filter_box()
        yield self.empty_line()
        yield Static("", id="vault-summary", classes="box")
        yield LiveTable(COLUMNS, id="vault-table", order=lambda k, r: k)

    def show(self, results: Results) -> None:
        if self.unavailable(results):
            return
        error = self.error_text(results, "vault.list")
        if error:
            self.set_empty(error)
            return
        listing = results.get("vault.list") or {}
        self.locked = bool(listing.get("locked"))
        entries: dict[str, dict[str, Any]] = {}
        notes = [f"[b]vaults[/b] ({'locked' if listing.get('locked') else 'unlocked'}) — names and metadata only"]
        for vault in listing.get("vaults") or []:
            where = f" in {vault['repo']}" if vault.get("repo") else ""
            keys = vault.get("keys") or []
            state = f"{len(keys)} key(s)"
            if vault.get("error"):
                state = f"[red]{(vault['error'] or {}).get('message', 'error')}[/red]"
            elif not vault.get("supported", True):
                state = "not supported by swampd"
            notes.append(f"  {vault.get('name')} ({vault.get('type')}{where}): {state}")
            for meta in keys:
                safe = {f: meta.get(f) for f in SHOWN_FIELDS}
                row_key = f"{vault.get('repo') or ''}|{vault.get('name')}|{meta.get('key')}"
                entries[row_key] = {**safe, "vault": vault.get("name"), "repo": vault.get("repo"),
                                    "key": meta.get("key"), "type": vault.get("type")}
        self.entries = entries
        self.query_one("#vault-summary", Static).update("\n".join(notes))
        self.query_one(LiveTable).sync({k: self._row(e) for k, e in entries.items()})
        self.set_empty("" if entries else "no secrets: `swamp vault put VAULT KEY` stores one")

    def record_of(self, key: str) -> dict[str, Any] | None:
        return self.entries.get(key)  # metadata only: entries never hold a value

    def _row(self, entry: dict[str, Any]) -> Row:
        labels = entry.get("labels") or {}
        label_text = ",".join(f"{k}={v}" for k, v in sorted(labels.items())) if isinstance(labels, dict) else "-"
        return (entry.get("vault") or "-", entry.get("key") or "-", entry.get("backend") or entry.get("type") or "-",
                fmt.short(label_text or "-", 30), fmt.stamp(entry.get("updatedAt")), fmt.stamp(entry.get("rotatedAt")),
                entry.get("version") if entry.get("version") is not None else "-")

    def commands(self) -> list[tuple[str, str, str]]:
        return [("Rotate secret", "replace the selected secret with a new random value", "rotate"),
                ("Lock or unlock the vault", "drop every warm key (value operations fail until unlock)", "lock")]

    def action_lock(self) -> None:
        if self.locked:
            self.dash.rpc_action("vault.unlock", {}, done="vault unlocked")
            return
        self.dash.confirm_rpc("Lock the vault?", "warm keys are dropped; reads of values fail until unlock",
                              "vault.lock", {}, done="vault locked")

    def action_rotate(self) -> None:
        key = self.query_one(LiveTable).cursor_key()
        entry = self.entries.get(key or "")
        if entry is None:
            self.dash.notify("no secret selected", severity="warning")
            return
        params: dict[str, Any] = {"vault": entry["vault"], "key": entry["key"]}
        if entry.get("repo"):
            params["repo"] = entry["repo"]
        self.dash.confirm_rpc(f"Rotate secret {entry['key']} in vault {entry['vault']}?",
                              "the old value is replaced by a new random one; nothing is shown",
                              "vault.rotate", params, done=f"rotated {entry['key']}")
