"""The console on a real daemon process, driven by Pilot: every pane and every action."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Log, Static

from tests.conftest import swampd_command
from tests.tui.conftest import SIZE, cell_texts, pane_empty_text, settle, wait_for, with_local_vault
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.prompt import PromptScreen

pytestmark = [pytest.mark.tui, pytest.mark.anyio]

MODEL = "9a7c0e11-2222-4333-8444-555566667777"


@pytest.fixture
def runs(daemon: Any, repo: Path) -> Iterator[Any]:
    """Start `swamp run` client processes (identical ones coalesce); all are reaped after the test."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(count: int, model: str = "web", sleep: str = "120") -> list[subprocess.Popen[bytes]]:
        new = [subprocess.Popen([*swampd_command(), "run", model, "plan", "--arg", f"sleep={sleep}", "--repo",
                                 str(repo)], env=daemon.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
               for _ in range(count)]
        procs.extend(new)
        return new

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)


def job_states(daemon: Any) -> list[str]:
    return [j["state"] for j in daemon.call("jobs.list")["jobs"]]


class TestOverview:
    async def test_shows_this_daemon(self, daemon: Any, live_app: Any) -> None:
        app = live_app()
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.fetches >= 1 and app.connected is True, "first refresh")
            info = str(app.query_one("#daemon-info", Static).render())
            assert f"pid {daemon.pid}" in info
            assert daemon.paths.socket in info
            assert f"pid {daemon.pid}" in str(app.query_one("#status", Static).render())

    async def test_says_when_the_daemon_stops_and_reconnects(self, daemon: Any, live_app: Any) -> None:
        app = live_app()
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: app.connected is True, "connected")
            old = daemon.pid
            daemon.stop()
            await wait_for(pilot, lambda: app.connected is False, "noticed the daemon left")
            banner = app.query_one("#banner", Static)
            assert banner.display and "daemon not running" in str(banner.render())
            assert "press s to start" in str(banner.render())
            daemon.start()
            await wait_for(pilot, lambda: app.connected is True, "reconnected")
            await wait_for(pilot, lambda: f"pid {daemon.pid}" in str(app.query_one("#status", Static).render()),
                           "status shows the new daemon")
            assert daemon.pid != old and not banner.display
            assert any("reconnected" in text for _, text in app.notes)


class TestInflightPane:
    async def test_flight_waiters_and_cancel_with_confirmation(self, daemon: Any, live_app: Any, runs: Any) -> None:
        app = live_app()
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("3")
            assert pane_empty_text(app, "inflight").startswith("no calls in flight")
            clients = runs(3)
            await wait_for(pilot, lambda: [r[5] for r in cell_texts(app, "inflight-table")] == ["3"],
                           "one flight with three waiters")

            def peers() -> list[list[str]]:
                return cell_texts(app, "peers")

            await wait_for(pilot, lambda: sum("run web plan" in r[4] for r in peers()) == 3,
                           "the waiting peers' commands")
            assert sorted(r[0] for r in peers()) == sorted(str(p.pid) for p in clients)
            assert all(r[2] == str(os.getpid()) for r in peers())  # the agent: this test ran them
            # n keeps it
            await pilot.press("x")
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("n")
            assert not isinstance(app.screen, ConfirmScreen)
            assert daemon.call("calls.stats")["flights"] == 1
            # y cancels it for every waiter
            await pilot.press("x", "y")
            await wait_for(pilot, lambda: not cell_texts(app, "inflight-table"), "flight gone from the table")
            assert daemon.call("calls.stats")["flights"] == 0
            for proc in clients:
                assert proc.wait(timeout=60) != 0


class TestJobsPane:
    async def test_detail_follows_the_log_and_cancel_one(self, daemon: Any, live_app: Any, repo: Path) -> None:
        job = daemon.call("jobs.submit", {"kind": "swamp", "model": "m", "method": "slow",
                                          "inputs": {"sleep": "120"}, "repo": str(repo), "wait": False})
        app = live_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("4")
            await wait_for(pilot, lambda: [r[:2] for r in cell_texts(app, "jobs-table")] == [[job["id"], "running"]],
                           "the running job listed")
            await pilot.press("enter")
            log = app.query_one("#job-log", Log)
            await wait_for(pilot, lambda: any("running m.slow" in line for line in log.lines), "log tail")
            assert f"job {job['id']}" in str(app.query_one("#job-record", Static).render())
            await pilot.press("x")
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("escape")
            assert daemon.call("jobs.get", {"id": job["id"]})["state"] == "running"
            await pilot.press("x", "y")
            await wait_for(pilot, lambda: cell_texts(app, "jobs-table")[0][1] == "cancelled", "cancelled in the table")
            assert daemon.call("jobs.get", {"id": job["id"]})["state"] == "cancelled"
            await wait_for(pilot, lambda: app.pane_named("jobs").detail_id is not None and not any(
                w.group == "log" and not w.is_finished for w in app.workers), "the log stream ended with the job")
            assert sum("running m.slow" in line for line in log.lines) == 1  # the tail is not repeated
            await pilot.press("escape")
            assert not app.query_one("#job-detail").has_class("open")

    async def test_new_jobs_come_from_their_events_without_reading_the_whole_list(
        self, daemon: Any, live_app: Any, repo: Path
    ) -> None:
        """On the visible Jobs pane, events keep the list whole: a state change is applied where it
        is, new jobs are read with one `jobs.list created_since` call, and the full list (1,000
        records) is read only every few ticks, not once per event."""
        first = daemon.call("jobs.submit", {"kind": "swamp", "model": "m0", "method": "quick",
                                            "inputs": {"sleep": "0"}, "repo": str(repo), "wait": True})
        app = live_app(refresh=3600.0)  # no tick in this test: only events and what they ask for
        calls: list[dict[str, Any]] = []
        call = app.source.call

        def recording(method: str, params: Any = None) -> Any:
            if method == "jobs.list":
                calls.append(dict(params or {}))
            return call(method, params)

        app.source.call = recording  # type: ignore[method-assign]
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("4")
            await wait_for(pilot, lambda: [r[0] for r in cell_texts(app, "jobs-table")] == [first["id"]],
                           "the first job listed")
            full_reads = sum("created_since" not in p for p in calls)
            new = [daemon.call("jobs.submit", {"kind": "swamp", "model": f"m{i}", "method": "quick",
                                               "inputs": {"sleep": "0"}, "repo": str(repo), "wait": True})
                   for i in (1, 2, 3)]
            wanted = {j["id"]: "succeeded" for j in [first, *new]}
            await wait_for(pilot, lambda: {r[0]: r[1] for r in cell_texts(app, "jobs-table")} == wanted,
                           "the new jobs listed, finished")
            assert sum("created_since" not in p for p in calls) == full_reads
            assert "jobs" not in app.dirty  # the next tick does not read the whole list again
            assert "inflight" in app.dirty  # a hidden pane's events still make it read when shown
            assert any(p.get("created_since") == first["created_at"] for p in calls)
            assert [r[0] for r in cell_texts(app, "jobs-table")] == [j["id"] for j in reversed([first, *new])]

    async def test_cancel_all(self, daemon: Any, live_app: Any, repo: Path) -> None:
        for name in ("a", "b"):
            daemon.call("jobs.submit", {"kind": "swamp", "model": name, "method": "slow", "inputs": {"sleep": "120"},
                                        "repo": str(repo), "wait": False})
        app = live_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("4")
            await wait_for(pilot, lambda: len(cell_texts(app, "jobs-table")) == 2, "two jobs")
            await pilot.press("X", "y")
            await wait_for(pilot, lambda: {r[1] for r in cell_texts(app, "jobs-table")} == {"cancelled"},
                           "both cancelled")
            assert set(job_states(daemon)) == {"cancelled"}

    async def test_filter(self, daemon: Any, live_app: Any, repo: Path) -> None:
        for name in ("alpha", "beta"):
            daemon.call("jobs.submit", {"kind": "swamp", "model": name, "method": "quick", "inputs": {"sleep": "0"},
                                        "repo": str(repo), "wait": True})
        app = live_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("4")
            await wait_for(pilot, lambda: len(cell_texts(app, "jobs-table")) == 2, "two jobs")
            await pilot.press("slash", *"beta")
            assert [r[3] for r in cell_texts(app, "jobs-table")] == ["beta.quick"]
            await pilot.press("escape")
            assert len(cell_texts(app, "jobs-table")) == 2
            assert not app.query_one("#filter-jobs", Input).display


class TestReadOnly:
    async def test_no_destructive_action_runs(self, daemon: Any, live_app: Any, repo: Path) -> None:
        job = daemon.call("jobs.submit", {"kind": "swamp", "model": "m", "method": "slow",
                                          "inputs": {"sleep": "120"}, "repo": str(repo), "wait": False})
        app = live_app(read_only=True)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("4")
            await wait_for(pilot, lambda: len(cell_texts(app, "jobs-table")) == 1, "the job listed")
            await pilot.press("x", "X")
            await settle(pilot)
            assert not isinstance(app.screen, ConfirmScreen)
            titles = [title for title, _, _ in app.palette_entries()]
            assert "Show Jobs" in titles and not any(t.startswith(("Cancel", "Evict", "Rotate", "Prefetch"))
                                                      for t in titles)
            app.pane_named("jobs").action_cancel_job()  # even when reached another way
            await settle(pilot)
            assert not isinstance(app.screen, ConfirmScreen)
            assert ("warning", "read-only: this action is off") in app.notes
            assert daemon.call("jobs.get", {"id": job["id"]})["state"] == "running"
            daemon.call("jobs.cancel", {"id": job["id"]})


class TestCachePane:
    async def test_keys_evict_prefetch(self, daemon: Any, live_app: Any, repo: Path) -> None:
        daemon.call("repos.register", {"path": str(repo), "name": "demo"})
        for name in ("result", "other"):
            daemon.call("data.put", {"repo": "demo", "type": "command/shell", "model": MODEL, "name": name,
                                     "content": '{"ok":true}'})
            daemon.call("data.get", {"repo": "demo", "type": "command/shell", "model": MODEL, "name": name})
        total = daemon.call("cache.keys")["total"]
        assert total >= 2
        app = live_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("2")
            await wait_for(pilot, lambda: len(cell_texts(app, "cache-keys")) == total, "every key listed")
            assert {r[1] for r in cell_texts(app, "cache-keys")} == {"demo"}
            assert "filesystem" in [r[0] for r in cell_texts(app, "cache-backends")]
            # filter goes to the daemon
            await pilot.press("slash", *"/result/")
            await wait_for(pilot, lambda: cell_texts(app, "cache-keys") and all(
                "/result/" in r[0] for r in cell_texts(app, "cache-keys")), "filtered by the daemon")
            await pilot.press("enter")
            # evict the selected key: n keeps it, y evicts it
            first = cell_texts(app, "cache-keys")[0][0]
            await pilot.press("e")
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("n")
            assert daemon.call("cache.keys")["total"] == total
            await pilot.press("e", "y")
            await wait_for(pilot, lambda: first not in [r[0] for r in cell_texts(app, "cache-keys")], "key evicted")
            assert daemon.call("cache.keys")["total"] == total - 1
            # prefetch everything back, with the prompt
            await pilot.press("escape")
            await wait_for(pilot, lambda: len(cell_texts(app, "cache-keys")) == total - 1, "filter cleared")
            await pilot.press("f")
            assert isinstance(app.screen, PromptScreen)
            await pilot.press(*"data/", "enter")
            await wait_for(pilot, lambda: any("prefetch" in t and "started" in t for _, t in app.notes),
                           "prefetch started")
            # evict all: escape keeps, y empties
            await pilot.press("A", "escape")
            assert daemon.call("cache.keys")["total"] > 0
            await pilot.press("A", "y")
            await wait_for(pilot, lambda: not cell_texts(app, "cache-keys"), "cache emptied")
            assert daemon.call("cache.keys")["total"] == 0
            assert pane_empty_text(app, "cache") == "the hot tier is empty"

    async def test_evict_prefix_and_model(self, daemon: Any, live_app: Any, repo: Path) -> None:
        daemon.call("repos.register", {"path": str(repo), "name": "demo"})
        daemon.call("data.put", {"repo": "demo", "type": "command/shell", "model": MODEL, "name": "result",
                                 "content": "x"})
        daemon.call("data.get", {"repo": "demo", "type": "command/shell", "model": MODEL, "name": "result"})
        app = live_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("2")
            await wait_for(pilot, lambda: len(cell_texts(app, "cache-keys")) >= 1, "keys listed")
            await pilot.press("m", *f"command/shell {MODEL}", "enter", "y")
            await wait_for(pilot, lambda: not cell_texts(app, "cache-keys"), "model evicted")
            assert daemon.call("cache.keys")["total"] == 0
            daemon.call("data.get", {"repo": "demo", "type": "command/shell", "model": MODEL, "name": "result"})
            await pilot.press("ctrl+r")
            await wait_for(pilot, lambda: len(cell_texts(app, "cache-keys")) >= 1, "cached again")
            await pilot.press("E")
            prompt = app.screen
            assert isinstance(prompt, PromptScreen)
            prompt.query_one(Input).value = "data/"
            await pilot.press("enter", "y")
            await wait_for(pilot, lambda: not cell_texts(app, "cache-keys"), "prefix evicted")


class TestVaultPane:
    async def test_metadata_only_and_rotate(self, daemon: Any, live_app: Any, repo: Path) -> None:
        with_local_vault(daemon, repo, "dev")
        secret = "s3cr3t-value-never-shown"
        daemon.call("vault.put", {"vault": "dev", "key": "DB_PASSWORD", "value": secret, "repo": str(repo)})
        app = live_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("5")
            await wait_for(pilot, lambda: any(r[1] == "DB_PASSWORD" for r in cell_texts(app, "vault-table")),
                           "the secret's row")
            texts = str(app.query_one("#vault-summary", Static).render()) + repr(cell_texts(app, "vault-table"))
            assert secret not in texts
            await pilot.press("slash", *"DB_", "enter")
            before = daemon.call("vault.get", {"vault": "dev", "key": "DB_PASSWORD", "repo": str(repo)})
            await pilot.press("r", "y")
            await wait_for(pilot, lambda: any(t.startswith("rotated") for _, t in app.notes), "rotated")
            after = daemon.call("vault.get", {"vault": "dev", "key": "DB_PASSWORD", "repo": str(repo),
                                              "reveal": True})
            assert after["value"] != secret
            assert after.get("updatedAt") != before.get("updatedAt") or after.get("version") != before.get("version")
            assert after["value"] not in repr(app.notes)
            # lock: escape keeps it unlocked, y locks; l again unlocks without asking
            await pilot.press("l", "escape")
            assert daemon.call("vault.status")["locked"] is False
            await pilot.press("l", "y")
            summary = app.query_one("#vault-summary", Static)
            await wait_for(pilot, lambda: "(locked: l unlocks)" in str(summary.render()),
                           "the pane shows the vault locked")
            assert daemon.call("vault.status")["locked"] is True
            await pilot.press("l")
            await wait_for(pilot, lambda: daemon.call("vault.status")["locked"] is False, "unlocked")


class TestExtensionsPane:
    async def test_list_and_verify(self, daemon: Any, live_app: Any, tmp_path: Path) -> None:
        from tests.extensions.helpers import make_extension

        source = make_extension(tmp_path / "ext")
        daemon.call("extensions.install", {"source": str(source)})
        app = live_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("6")
            await wait_for(pilot, lambda: len(cell_texts(app, "extensions-table")) == 1, "the extension listed")
            row = cell_texts(app, "extensions-table")[0]
            assert row[0] == "@acme/tools" and "@acme/server" in row[2] and row[4] == "not checked"
            await pilot.press("v")
            await wait_for(pilot, lambda: cell_texts(app, "extensions-table")[0][4] == "ok", "verified ok")


class TestContextPane:
    async def test_scopes_sizes_ttl_and_drop(self, daemon: Any, live_app: Any) -> None:
        secret = "value-the-pane-never-reads"
        daemon.call("context.put", {"scope": "run-1", "key": "plan", "value": {"note": secret}, "ttl": 600})
        daemon.call("context.put", {"scope": "run-1", "key": "step", "value": 3, "ttl": 30})
        daemon.call("context.put", {"scope": "run-2", "key": "x", "value": "y"})
        app = live_app()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("7")
            await wait_for(pilot, lambda: len(cell_texts(app, "context-scopes")) == 2, "two scopes")
            await wait_for(pilot, lambda: {r[0] for r in cell_texts(app, "context-keys")} in ({"plan", "step"}, {"x"}),
                           "the selected scope's keys")
            assert secret not in repr(cell_texts(app, "context-scopes")) + repr(cell_texts(app, "context-keys"))
            chosen = app.pane_named("context").table().cursor_key()
            await pilot.press("d", "y")
            await wait_for(pilot, lambda: chosen not in [r[0] for r in cell_texts(app, "context-scopes")],
                           "the scope dropped")
            assert [s["scope"] for s in daemon.call("context.list")["scopes"]] == [
                s for s in ("run-1", "run-2") if s != chosen]
