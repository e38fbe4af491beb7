"""Issue 13's crashes, each against a real daemon: `null` peers, data that looks like markup.

Each of these killed `swamp dash` on the commit before this file (AttributeError on the daemon's
own flights, MarkupError on `[/b]` in a command or a label).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Static

from tests.tui.conftest import SIZE, cell_texts, pane_empty_text, settle, wait_for, with_local_vault
from tui.widgets.confirm import ConfirmScreen

pytestmark = [pytest.mark.tui, pytest.mark.anyio]

MODEL = "9a7c0e11-2222-4333-8444-555566667777"
MARKUP = ["sh", "-c", "echo 's/[/]/_/g' [/b] '[red]x[/red]'; sleep 120"]


class BlockedRead:
    """A hot-tier miss held open: the version's metadata file is a FIFO nobody writes yet.

    The daemon's read blocks in its worker thread inside a `data.read` flight that the daemon
    started on its own behalf (no client peer): on the old daemon its peers were `[null]`.
    """

    def __init__(self, daemon: Any, repo: Path) -> None:
        daemon.call("repos.register", {"path": str(repo), "name": "demo"})
        daemon.call("data.put", {"repo": "demo", "type": "t/x", "model": MODEL, "name": "n", "content": "x"})
        daemon.call("cache.evict", {"all": True})
        [self.path] = list(repo.glob(".swamp/data/**/1/metadata.yaml"))
        self.content = self.path.read_bytes()
        self.path.unlink()
        os.mkfifo(self.path)
        self.reply: list[Any] = []
        self.thread = threading.Thread(target=lambda: self.reply.append(
            daemon.call("data.get", {"repo": "demo", "type": "t/x", "model": MODEL, "name": "n"})), daemon=True)

    def start(self) -> None:
        self.thread.start()

    def release(self) -> None:
        with open(self.path, "wb") as fifo:  # the daemon's reader is there: this does not block long
            fifo.write(self.content)
        self.thread.join(timeout=60)
        self.path.unlink()
        self.path.write_bytes(self.content)


class TestNullPeers:
    async def test_the_daemons_own_flight_shows_as_internal(self, daemon: Any, live_app: Any, repo: Path) -> None:
        blocked = BlockedRead(daemon, repo)
        app = live_app()
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("3")
            blocked.start()
            try:
                await wait_for(pilot, lambda: any(r[1].startswith("data.") and r[3] == "daemon"
                                                  for r in cell_texts(app, "inflight-table")),
                               "the daemon's own read in flight")
                flight = daemon.call("calls.inflight")["calls"][0]
                assert None not in flight["peers"]
                await wait_for(pilot, lambda: "daemon-internal" in str(app.query_one("#peers-title", Static).render()),
                               "the flight's internal waiter said as such")
                for key in ("2", "3", "p", "p", "ctrl+r", "enter", "escape"):  # every way it used to die
                    await pilot.press(key)
                    await settle(pilot)
                await pilot.press("i")
                await wait_for(pilot, lambda: "internal hidden" in pane_empty_text(app, "inflight"),
                               "internal flights hidden")
                await pilot.press("i")
                await wait_for(pilot, lambda: bool(cell_texts(app, "inflight-table")), "shown again")
                assert app.is_running
            finally:
                blocked.release()
            assert blocked.reply and blocked.reply[0]["name"] == "n"


class TestMarkupIsData:
    async def test_a_command_with_markup_is_shown_as_typed(self, daemon: Any, live_app: Any) -> None:
        job = daemon.call("jobs.submit", {"kind": "command", "argv": MARKUP, "wait": False})
        app = live_app()
        async with app.run_test(size=(220, 60)) as pilot:
            await settle(pilot)
            await pilot.press("4")
            await wait_for(pilot, lambda: any(r[0] == job["id"] for r in cell_texts(app, "jobs-table")), "the job")
            row = next(r for r in cell_texts(app, "jobs-table") if r[0] == job["id"])
            assert "[/b]" in row[3] and "[red]x[/red]" in row[3]
            await pilot.press("enter")
            record = app.query_one("#job-record", Static)
            await wait_for(pilot, lambda: "[red]x[/red]" in str(record.render()), "the record shows it literally")
            await pilot.press("x")
            assert isinstance(app.screen, ConfirmScreen)
            assert "[/b]" in str(app.screen.query_one("#confirm-detail", Static).render())
            await pilot.press("y")
            await wait_for(pilot, lambda: daemon.call("jobs.get", {"id": job["id"]})["state"] == "cancelled",
                           "cancelled")
            await settle(pilot)
            assert app.is_running

    async def test_a_label_with_markup_is_shown_as_typed(self, daemon: Any, live_app: Any, repo: Path) -> None:
        with_local_vault(daemon, repo, "dev")
        daemon.call("vault.put", {"vault": "dev", "key": "K", "value": "v", "repo": str(repo),
                                  "labels": {"note": "[/b]", "colour": "[red]x[/red]"}})
        app = live_app()
        async with app.run_test(size=(220, 60)) as pilot:
            await settle(pilot)
            await pilot.press("5")
            await wait_for(pilot, lambda: any(r[1] == "K" for r in cell_texts(app, "vault-table")), "the secret")
            row = next(r for r in cell_texts(app, "vault-table") if r[1] == "K")
            assert row[3] == "colour=[red]x[/red],note=[/b]"
            await pilot.press("enter")
            await settle(pilot)
            assert app.is_running
