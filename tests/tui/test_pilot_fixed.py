"""Behaviour that needs no live daemon: palette, pause, themes, failures, detail views, paging."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandPalette
from textual.widgets import Static

from swampd.client import RpcError
from tests.tui.canned import JOBS, RESULTS, missing
from tests.tui.conftest import SIZE, cell_texts, pane_empty_text, settle, wait_for
from tui.widgets.confirm import ConfirmScreen
from tui.widgets.detail import DetailScreen

pytestmark = [pytest.mark.tui, pytest.mark.anyio]


class TestPalette:
    async def test_lists_every_pane_and_action_and_runs_them(self, snapshot_app: Any) -> None:
        app = snapshot_app()
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            titles = [t for t, _, _ in app.palette_entries()]
            for wanted in ("Show Overview", "Show Cache", "Show In-flight", "Show Jobs", "Show Vault",
                           "Show Extensions", "Evict key", "Evict prefix", "Evict model", "Evict all", "Prefetch",
                           "Cancel flight", "Cancel job", "Cancel all jobs", "Rotate secret", "Verify extension",
                           "Pause or resume live updates", "Theme: swamp-light", "Help"):
                assert wanted in titles
            await pilot.press("ctrl+p")
            assert isinstance(app.screen, CommandPalette)
            await pilot.press(*"show vault")
            await wait_for(pilot, lambda: app.screen.query("CommandList Option") is not None, "hits")
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            assert app.active_pane().NAME == "vault"
            # an action from the palette asks for confirmation like its key does
            await pilot.press("ctrl+p", *"cancel job")
            await settle(pilot)
            await pilot.press("enter")
            await settle(pilot)
            assert app.active_pane().NAME == "jobs"
            assert isinstance(app.screen, ConfirmScreen), app.notes
            await pilot.press("n")
            assert ("jobs.cancel", {"id": JOBS[0]["id"]}) not in app.source.calls


class TestPauseAndRefresh:
    async def test_pause_resume_and_interval(self, snapshot_app: Any) -> None:
        app = snapshot_app()
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            status = app.query_one("#status", Static)
            assert "live" in str(status.render())
            await pilot.press("p")
            assert app.paused and "paused" in str(status.render())
            await pilot.press("p")
            assert not app.paused and "live" in str(status.render())
            await pilot.press("plus", "plus")
            assert app.refresh_seconds == 4.0 and "refresh 4s" in str(status.render())
            for _ in range(10):
                await pilot.press("minus")
            assert app.refresh_seconds == 1.0


class TestThemes:
    async def test_palette_theme_is_kept_in_the_host_config(self, snapshot_app: Any, tmp_path: Path) -> None:
        config = tmp_path / "config.toml"
        config.write_text("[daemon]\nidle_timeout = 60\n")
        app = snapshot_app(config_file=str(config))
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert app.theme == "swamp-dark"
            assert "[dash]" not in config.read_text()  # starting does not write
            entry = next(run for title, _, run in app.palette_entries() if title == "Theme: swamp-high-contrast")
            entry()
            await settle(pilot)
        assert tomllib.loads(config.read_text()) == {"daemon": {"idle_timeout": 60},
                                                      "dash": {"theme": "swamp-high-contrast"}}
        again = snapshot_app(config_file=str(config))
        async with again.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert again.theme == "swamp-high-contrast"

    async def test_unknown_theme_falls_back_and_says_so(self, snapshot_app: Any) -> None:
        app = snapshot_app(theme="no-such-theme")
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert app.theme == "swamp-dark"
            assert ("warning", "unknown theme 'no-such-theme'") in app.notes


class TestFailures:
    async def test_a_failed_action_is_a_notification(self, snapshot_app: Any) -> None:
        refused = RpcError(-32006, "job job009abcdef already ended", {"kind": "conflict"})
        app = snapshot_app(results={"jobs.cancel": refused})
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("4", "x", "y")
            await wait_for(pilot, lambda: any(s == "error" for s, _ in app.notes), "an error notification")
            assert ("error", "jobs.cancel failed: job job009abcdef already ended") in app.notes
            assert app.is_running and app.active_pane().NAME == "jobs"

    async def test_missing_methods_show_not_available(self, snapshot_app: Any) -> None:
        gone = {m: missing(m) for m in RESULTS if m.split(".")[0] in ("jobs", "vault", "cache", "calls")}
        app = snapshot_app(results=gone)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            for pane, method in (("jobs", "jobs.list"), ("vault", "vault.list"), ("cache", "cache.stats"),
                                 ("inflight", "calls.inflight")):
                assert pane_empty_text(app, pane) == f"{pane}: not available in this daemon ({method} is missing)"
            for key in "23456":
                await pilot.press(key, "x", "e", "r")
                await settle(pilot)
            assert app.is_running

    async def test_a_malformed_reply_does_not_crash(self, snapshot_app: Any) -> None:
        app = snapshot_app(results={"calls.inflight": {"calls": "not a list"}})
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("3")
            assert app.is_running
            assert pane_empty_text(app, "inflight").startswith("no calls in flight")


class TestDetail:
    @pytest.mark.parametrize("key,table,expect", [("2", "cache-keys", "backend"), ("3", "inflight-table", "peers"),
                                                  ("5", "vault-table", "rotatedAt"),
                                                  ("6", "extensions-table", "linked_projects")])
    async def test_enter_opens_the_record(self, snapshot_app: Any, key: str, table: str, expect: str) -> None:
        app = snapshot_app()
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press(key, "enter")
            await settle(pilot)
            assert isinstance(app.screen, DetailScreen)
            text = str(app.screen.query_one("#detail-text", Static).render())
            assert expect in text and "MUST-NEVER-SHOW" not in text
            await pilot.press("escape")
            assert not isinstance(app.screen, DetailScreen)
            assert cell_texts(app, table)

    async def test_vault_never_shows_a_value_anywhere(self, snapshot_app: Any) -> None:
        app = snapshot_app()
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("5")
            for _ in range(3):
                await pilot.press("enter")
                await settle(pilot)
                assert "MUST-NEVER-SHOW" not in str(app.screen.query_one("#detail-text", Static).render())
                await pilot.press("escape", "down")
            assert "MUST-NEVER-SHOW" not in repr(cell_texts(app, "vault-table"))


class TestCachePaging:
    async def test_pages_and_server_side_filter(self, snapshot_app: Any) -> None:
        def keys(params: dict[str, Any]) -> dict[str, Any]:
            allkeys = [f"fi-3c1d2e4f5a6b/data/t/m/item{i:03d}/1/raw" for i in range(250)]
            matched = [k for k in allkeys if not params.get("filter") or params["filter"] in k]
            page = matched[params["offset"]:params["offset"] + params["limit"]]
            return {"total": len(matched), "offset": params["offset"], "limit": params["limit"],
                    "keys": [{"key": k, "size": 1, "age": 1.0, "backend": "filesystem", "stale": False} for k in page]}

        app = snapshot_app(results={"cache.keys": keys})
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("2")
            page = app.query_one("#cache-page", Static)
            assert str(page.render()).startswith("keys 1-100 of 250")
            await pilot.press("right_square_bracket", "right_square_bracket")
            await wait_for(pilot, lambda: str(page.render()).startswith("keys 201-250 of 250"), "the third page")
            await pilot.press("right_square_bracket")
            assert ("information", "no more pages") in app.notes
            await pilot.press("slash", *"item24")
            await wait_for(pilot, lambda: str(page.render()).startswith("keys 1-10 of 10 matching 'item24'"),
                           "the daemon's filtered page")
            assert all("item24" in r[0] for r in cell_texts(app, "cache-keys"))


def job_event(job_id: str, state: str, exit_code: int | None = None) -> dict[str, Any]:
    """A `jobs` topic event as the daemon publishes it (swampd/jobs/manager.py `_emit`)."""
    return {"topic": "jobs", "data": {"type": "job.state", "id": job_id, "state": state, "exit_code": exit_code}}


async def jobs_loaded_then_hidden(pilot: Any) -> None:
    """The Jobs pane shown and loaded, then the In-flight pane shown over it."""
    await settle(pilot)
    for key in ("4", "3"):
        await pilot.press(key)
        await settle(pilot)


class TestEvents:
    async def test_new_jobs_and_changes_are_painted_together_and_never_go_back(self, snapshot_app: Any) -> None:
        """An event naming an unknown job: the pane asks for the jobs created since its newest, and
        paints those with the batch's other changes in one pass; a record read after an event
        never takes a job back to an earlier state."""
        from tui.messages import EventsArrived

        known = JOBS[0]  # running
        newest = max(j["created_at"] for j in JOBS)
        fresh = {**known, "id": "jobnew000001", "state": "running", "created_at": newest + 1}

        def jobs_list(params: Any) -> dict[str, Any]:
            if (params or {}).get("created_since") is not None:
                return {"jobs": [fresh, {**known, "created_at": newest}]}  # as read before its event
            return {"jobs": JOBS}

        app = snapshot_app(results={"jobs.list": jobs_list})
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("4")
            await settle(pilot)
            table = app.pane_named("jobs").table()
            merges: list[int] = []
            merge = table.merge

            def counted(rows: Any, gone: Any = ()) -> None:
                merges.append(len(rows))
                merge(rows, gone)

            table.merge = counted  # type: ignore[method-assign]
            app.post_message(EventsArrived([job_event(known["id"], "succeeded", 0), job_event(fresh["id"], "queued")]))
            await wait_for(pilot, lambda: fresh["id"] in {r[0] for r in cell_texts(app, "jobs-table")}, "new job")
            rows = {r[0]: r for r in cell_texts(app, "jobs-table")}
            assert rows[known["id"]][1] == "succeeded" and rows[fresh["id"]][1] == "running"
            assert ("jobs.list", {"limit": 1000, "created_since": newest}) in app.source.calls
            assert len(merges) == 1  # one pass for the change and the new job

    async def test_a_hidden_jobs_pane_takes_its_events_and_shows_at_once(self, snapshot_app: Any) -> None:
        """The Jobs pane's events keep it whole even while another pane is shown: switching back
        to it reads nothing (a 1,000-job list is not read on every visit)."""
        from tui.messages import EventsArrived

        app = snapshot_app()
        async with app.run_test(size=SIZE) as pilot:
            await jobs_loaded_then_hidden(pilot)
            lists_before = sum(1 for m, _ in app.source.calls if m == "jobs.list")
            job = JOBS[1]["id"]
            app.post_message(EventsArrived([job_event(job, "failed", 3)]))
            await settle(pilot)
            assert "jobs" not in app.dirty
            await pilot.press("4")
            await settle(pilot)
            assert {r[0]: r for r in cell_texts(app, "jobs-table")}[job][1] == "failed"
            assert sum(1 for m, _ in app.source.calls if m == "jobs.list") == lists_before

    async def test_ages_catch_up_when_the_pane_is_shown_again(self, snapshot_app: Any) -> None:
        """A pane shown again is not read again (its events keep it whole) and its ticks redo the
        ages only every few seconds: they catch up the moment it shows, not seconds later."""
        from tui import format as fmt

        app = snapshot_app()
        async with app.run_test(size=SIZE) as pilot:
            await jobs_loaded_then_hidden(pilot)
            app.source._now += 3600
            await pilot.press("4")
            await settle(pilot)
            job = JOBS[0]
            ages = {row[0]: row for row in cell_texts(app, "jobs-table")}[job["id"]]
            assert fmt.age(app.source.now() - job["created_at"]) in ages, ages
            pane = app.pane_named("jobs")
            redone: list[float] = []
            catch_up = pane.redo_ages

            def counted() -> None:
                redone.append(app.source.now())
                catch_up()

            pane.redo_ages = counted  # type: ignore[method-assign]
            app.source._now += 1  # back within the ticks' own cadence: nothing to redo
            await pilot.press("3", "4")
            await settle(pilot)
            assert redone == []

    async def test_events_update_rows_by_key_and_wait_while_paused(self, snapshot_app: Any) -> None:
        from tui.messages import EventsArrived

        app = snapshot_app()
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("4")
            await settle(pilot)
            lists_before = sum(1 for m, _ in app.source.calls if m == "jobs.list")
            job = JOBS[1]["id"]
            app.post_message(EventsArrived([job_event(job, "cancelled")]))
            await settle(pilot)
            rows = {r[0]: r for r in cell_texts(app, "jobs-table")}
            assert rows[job][1] == "cancelled"
            assert sum(1 for m, _ in app.source.calls if m == "jobs.list") == lists_before  # no refetch for it
            assert "jobs" not in app.dirty  # applied where it is: the next tick does not read the list again
            # paused: the event waits
            await pilot.press("p")
            other = JOBS[0]["id"]
            app.post_message(EventsArrived([job_event(other, "failed", 1)]))
            await settle(pilot)
            assert {r[0]: r for r in cell_texts(app, "jobs-table")}[other][1] == "running"
            assert "jobs" in app.dirty  # not applied: the list is read again once resumed
            # a flight's waiters move with call.joined; call.ended removes it
            await pilot.press("p", "3")
            await settle(pilot)
            key = cell_texts(app, "inflight-table")[0][0]
            flight = next(iter(app.pane_named("inflight").flights))
            app.post_message(EventsArrived([{"topic": "calls", "data": {
                "type": "call.joined", "key": flight, "waiters": 21, "peer": {"pid": 777}}}]))
            await settle(pilot)
            assert cell_texts(app, "inflight-table")[0][0] == key and cell_texts(app, "inflight-table")[0][5] == "21"
            app.post_message(EventsArrived([{"topic": "calls", "data": {"type": "call.ended", "key": flight,
                                                                        "outcome": "succeeded"}}]))
            await settle(pilot)
            assert cell_texts(app, "inflight-table") == []


class TestMouse:
    async def test_click_a_tab_and_a_button(self, snapshot_app: Any) -> None:
        app = snapshot_app()
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert await pilot.click("#--content-tab-tab-jobs")
            await settle(pilot)
            assert app.active_pane().NAME == "jobs"
            await pilot.press("x")
            assert isinstance(app.screen, ConfirmScreen)
            assert await pilot.click("#no")
            await settle(pilot)
            assert not isinstance(app.screen, ConfirmScreen)
            assert not any(m == "jobs.cancel" for m, _ in app.source.calls)
            await pilot.press("x")
            assert await pilot.click("#yes")
            await wait_for(pilot, lambda: any(m == "jobs.cancel" for m, _ in app.source.calls), "cancel sent")


class TestCursorFollowsItsRow:
    async def test_x_cancels_the_flight_under_the_cursor_after_inserts(self, snapshot_app: Any) -> None:
        from tests.tui.canned import FLIGHT_KEY, NOW, PEERS

        flights = [{"key": FLIGHT_KEY, "method": "jobs.swamp", "model": "web-fleet", "started": NOW - 42.5,
                    "age": 42.5, "waiters": 30, "held": False, "peers": PEERS},
                   {"key": "b" * 64, "method": "jobs.swamp", "model": "dns", "started": NOW - 50, "age": 50,
                    "waiters": 2, "held": False, "peers": PEERS[:2]}]
        app = snapshot_app(results={"calls.inflight": lambda params: {"calls": list(flights)}})
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("3")
            await settle(pilot)
            assert app.pane_named("inflight").table().cursor_key() == FLIGHT_KEY  # newest first, on top
            for i in range(3):  # newer flights land above the cursor
                flights.append({"key": f"{i}" * 64, "method": "data.read", "model": "m", "started": NOW - i,
                                "age": i, "waiters": 0, "held": False, "peers": []})
                await pilot.press("ctrl+r")
                await settle(pilot)
                assert app.pane_named("inflight").table().cursor_key() == FLIGHT_KEY
            await pilot.press("x")
            assert isinstance(app.screen, ConfirmScreen)
            assert "all 30 waiter(s)" in str(app.screen.query_one("#confirm-title", Static).render())
            await pilot.press("y")
            await wait_for(pilot, lambda: ("calls.cancel", {"key": FLIGHT_KEY}) in app.source.calls, "cancel sent")

    async def test_jobs_enter_opens_the_job_under_the_cursor_after_inserts(self, snapshot_app: Any) -> None:
        from tests.tui.canned import NOW

        jobs = [dict(j) for j in JOBS]
        app = snapshot_app(results={"jobs.list": lambda params: {"jobs": list(jobs)}})
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("4", "down", "down")
            await settle(pilot)
            table = app.pane_named("jobs").table()
            chosen = table.cursor_key()
            assert chosen == JOBS[2]["id"]
            jobs.insert(0, {**JOBS[0], "id": "jobnew000001", "created_at": NOW - 1})
            await pilot.press("ctrl+r")
            await settle(pilot)
            assert table.visible_keys()[0] == "jobnew000001" and table.cursor_key() == chosen
            await pilot.press("enter")
            await settle(pilot)
            assert app.pane_named("jobs").detail_id == chosen


class TestFocus:
    async def test_1_leaves_the_cache_pane(self, snapshot_app: Any) -> None:
        app = snapshot_app()
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            for key in ("2", "1", "6", "1", "2", "1"):
                await pilot.press(key)
                await settle(pilot)
                expected = {"1": "overview", "2": "cache", "6": "extensions"}[key]
                assert app.active_pane().NAME == expected
            for _ in range(5):  # and it stays there
                await pilot.pause(0.05)
            assert app.active_pane().NAME == "overview"

    async def test_pane_keys_typed_fast_land_on_the_last_pane(self, snapshot_app: Any) -> None:
        """Late TabActivated events of panes already left must not pull focus (and the tab) back."""
        app = snapshot_app()
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("3", "4", "2", "3", "4", "l")
            await settle(pilot)
            from tui.widgets.logview import LogScreen

            assert isinstance(app.screen, LogScreen)
            await pilot.press("escape")
            await settle(pilot)
            assert app.active_pane().NAME == "jobs"
            assert app.focused is app.pane_named("jobs").table()

    async def test_a_key_right_after_a_resize_is_not_dropped(self, snapshot_app: Any) -> None:
        app = snapshot_app()
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("4")
            await settle(pilot)
            await pilot.resize_terminal(80, 24)
            await pilot.press("3")
            await settle(pilot)
            assert app.active_pane().NAME == "inflight"
            await pilot.resize_terminal(220, 60)
            await pilot.press("x")
            await settle(pilot)
            assert isinstance(app.screen, ConfirmScreen)


class TestLogs:
    async def test_l_shows_the_log_on_the_whole_screen_with_toggles(self, snapshot_app: Any) -> None:
        from textual.widgets import RichLog

        from tui.widgets.logview import LogScreen

        app = snapshot_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("4", "l")
            await settle(pilot)
            assert isinstance(app.screen, LogScreen)
            log = app.screen.query_one(RichLog)
            assert log.size.width >= 78 and len(log.lines) == 12
            head = app.screen.query_one("#log-head", Static)
            assert "wrap off (w)" in str(head.render()) and "autoscroll on (s)" in str(head.render())
            await pilot.press("w", "s", "t")
            assert app.screen.wrap and not app.screen.autoscroll and app.screen.timestamps
            assert "wrap on (w)" in str(head.render())
            await pilot.press("escape")
            assert not isinstance(app.screen, LogScreen)
            assert app.pane_named("jobs").detail_id == JOBS[0]["id"]


class TestChartWindow:
    async def test_w_picks_the_window_and_the_daemon_is_asked_for_it(self, snapshot_app: Any) -> None:
        app = snapshot_app()
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("4", "1", "w")
            await settle(pilot)
            title = app.query_one("#hit-title", Static)
            assert "last 15 m" in str(title.render())
            assert ("stats.history", {"window": 900, "points": 120}) in app.source.calls
            await pilot.press("w", "w")
            await settle(pilot)
            assert "last 1 m" in str(title.render())


class TestContextPane:
    async def test_scopes_keys_and_drop_a_scope(self, snapshot_app: Any) -> None:
        app = snapshot_app()
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("7")
            await settle(pilot)
            rows = cell_texts(app, "context-scopes")
            assert [r[0] for r in rows] == ["run-7f3a", "run-b21c"]  # the most recently updated first
            await wait_for(pilot, lambda: len(cell_texts(app, "context-keys")) == 3, "the scope's keys")
            assert [r[0] for r in cell_texts(app, "context-keys")] == ["step-0", "step-1", "step-2"]
            await pilot.press("d")
            assert isinstance(app.screen, ConfirmScreen)
            assert "run-7f3a" in str(app.screen.query_one("#confirm-title", Static).render())
            await pilot.press("y")
            await wait_for(pilot, lambda: ("context.drop", {"scope": "run-7f3a"}) in app.source.calls, "dropped")


class TestCallsTimeline:
    async def test_t_shows_what_swamp_events_prints(self, snapshot_app: Any) -> None:
        from tests.tui.canned import FLIGHT_KEY, NOW
        from tui.messages import EventsArrived

        app = snapshot_app()
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            events = [{"topic": "calls", "ts": NOW + i, "seq": 100 + i,
                       "data": {"type": t, "phase": p, "key": FLIGHT_KEY, "method": "jobs.swamp", "model": "web-fleet",
                                "waiters": w, "peer": {"pid": 40100 + i, "cmdline": "swamp run web-fleet plan"}}}
                      for i, (t, p, w) in enumerate([("call.started", "started", 1), ("call.joined", "joined", 2),
                                                     ("call.left", "detached", 1)])]
            events.append({"topic": "calls", "ts": NOW + 9, "seq": 110, "data": {
                "type": "call.ended", "phase": "finished", "key": FLIGHT_KEY, "method": "jobs.swamp",
                "model": "web-fleet", "waiters": 1, "outcome": "succeeded", "duration": 9.0}})
            app.post_message(EventsArrived(events))  # while another pane shows: still remembered
            await settle(pilot)
            await pilot.press("3", "t")
            await settle(pilot)
            rows = cell_texts(app, "calls-timeline")
            assert [r[1] for r in rows] == ["finished", "detached", "joined", "started"]  # newest first
            assert rows[-1][4] == "40100" and rows[0][7] == "succeeded" and rows[0][8] == "9.0s"
            await pilot.press("t")
            assert app.query_one("#peers").display and not app.query_one("#calls-timeline").display


class TestFleetPane:
    async def test_hosts_states_events_ping_and_push_progress(self, snapshot_app: Any) -> None:
        from tests.tui.canned import NOW
        from tui.messages import EventsArrived

        app = snapshot_app()
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("8")
            await settle(pilot)
            rows = {r[0]: r for r in cell_texts(app, "fleet-table")}
            assert [rows[n][4] for n in ("build-1", "build-2", "legacy", "swamp")] == [
                "up", "down", "version mismatch", "unknown"]
            assert rows["build-1"][5] == "0.1.0 (p1)" and rows["build-1"][6] == "1.3 ms"
            assert rows["swamp"][2] == "wss://swamp.internal:9090"
            # a host goes down: its row changes by key, no refetch
            lists = sum(1 for m, _ in app.source.calls if m == "fleet.list")
            app.post_message(EventsArrived([{"topic": "fleet", "data": {
                "type": "fleet.host", "name": "build-1", "kind": "ssh", "state": "down", "session": False,
                "error": {"kind": "backend_unavailable", "message": "lost"}}}]))
            await settle(pilot)
            assert {r[0]: r for r in cell_texts(app, "fleet-table")}["build-1"][4] == "down"
            assert sum(1 for m, _ in app.source.calls if m == "fleet.list") == lists
            # push progress shows under the table
            app.post_message(EventsArrived([{"topic": "fleet", "data": {
                "type": "fleet.push", "host": "build-1", "kind": "extension", "item": "@acme/aws@1.4.0",
                "status": "sending", "sent": 524288, "total": 2097152}}]))
            await settle(pilot)
            activity = str(app.query_one("#fleet-activity", Static).render())
            assert activity == "push extension @acme/aws@1.4.0 -> build-1: sending (512.0 KiB of 2.0 MiB, 25%)"
            # g pings the host under the cursor; the answer updates its row
            await pilot.press("g")
            await wait_for(pilot, lambda: ("fleet.ping", {"names": ["build-1"]}) in app.source.calls, "a ping")
            await wait_for(pilot, lambda: {r[0]: r for r in cell_texts(app, "fleet-table")}["build-1"][4] == "up",
                           "the pinged state")
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, DetailScreen)
            assert "destination" in str(app.screen.query_one("#detail-text", Static).render())
            await pilot.press("escape")
            app.post_message(EventsArrived([{"topic": "fleet", "data": {"type": "fleet.removed", "name": "legacy"}}]))
            await settle(pilot)
            assert "legacy" not in {r[0] for r in cell_texts(app, "fleet-table")}
            assert NOW  # canned time: ages are stable

    async def test_no_hosts_and_no_fleet(self, snapshot_app: Any) -> None:
        app = snapshot_app(results={"fleet.list": {"hosts": []}})
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("8")
            await settle(pilot)
            assert pane_empty_text(app, "fleet").startswith("no fleet hosts: `swamp fleet add")
        app = snapshot_app(results={"fleet.list": missing("fleet.list")})
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await pilot.press("8", "g", "G")
            await settle(pilot)
            assert pane_empty_text(app, "fleet") == "fleet: not available in this daemon (fleet.list is missing)"
            assert app.is_running
