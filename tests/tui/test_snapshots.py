"""Every pane at 160x48 with canned data (FixedSource): nothing in these pictures may vary."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from tests.tui.canned import missing
from tests.tui.conftest import SIZE, settle
from tui.messages import ConnectionChanged

pytestmark = pytest.mark.tui


def steps(*keys: str, after: Any = None) -> Any:
    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
        if after is not None:
            await after(pilot)
            await settle(pilot)
        pilot.app.clear_notifications()  # toasts time out: never part of a picture
        await pilot.pause()

    return run_before


class TestPanes:
    def test_overview(self, snap_compare: Any, snapshot_app: Any) -> None:
        assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=steps())

    def test_cache(self, snap_compare: Any, snapshot_app: Any) -> None:
        assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=steps("2"))

    def test_inflight(self, snap_compare: Any, snapshot_app: Any) -> None:
        assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=steps("3"))

    def test_jobs_with_detail(self, snap_compare: Any, snapshot_app: Any) -> None:
        assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=steps("4", "enter"))

    def test_vault(self, snap_compare: Any, snapshot_app: Any) -> None:
        assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=steps("5"))

    def test_extensions_verified(self, snap_compare: Any, snapshot_app: Any) -> None:
        assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=steps("6", "V"))

    def test_fleet(self, snap_compare: Any, snapshot_app: Any) -> None:
        assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=steps("8"))


class TestStates:
    def test_jobs_not_available(self, snap_compare: Any, snapshot_app: Any) -> None:
        app = snapshot_app(results={"jobs.list": missing("jobs.list")})
        assert snap_compare(app, terminal_size=SIZE, run_before=steps("4"))

    def test_daemon_gone(self, snap_compare: Any, snapshot_app: Any) -> None:
        async def gone(pilot: Pilot[Any]) -> None:
            pilot.app.post_message(ConnectionChanged(False, "no daemon at /run/user/1000/swampd/swampd.sock"))

        app = snapshot_app()
        assert snap_compare(app, terminal_size=SIZE, run_before=steps(after=gone))

    def test_read_only_jobs(self, snap_compare: Any, snapshot_app: Any) -> None:
        assert snap_compare(snapshot_app(read_only=True), terminal_size=SIZE, run_before=steps("4"))

    def test_filter_jobs(self, snap_compare: Any, snapshot_app: Any) -> None:
        assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=steps("4", "slash", "w", "e", "b"))


class TestDialogs:
    def test_confirm_cancel_job(self, snap_compare: Any, snapshot_app: Any) -> None:
        assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=steps("4", "x"))

    def test_help(self, snap_compare: Any, snapshot_app: Any) -> None:
        assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=steps("question_mark"))

    def test_palette(self, snap_compare: Any, snapshot_app: Any) -> None:
        assert snap_compare(snapshot_app(), terminal_size=SIZE,
                            run_before=steps("ctrl+p", "c", "a", "n", "c", "e", "l"))


class TestThemes:
    @pytest.mark.parametrize("theme", ["light", "high-contrast"])
    def test_overview_in_theme(self, snap_compare: Any, snapshot_app: Any, theme: str) -> None:
        assert snap_compare(snapshot_app(theme=theme), terminal_size=SIZE, run_before=steps())

    @pytest.mark.parametrize("theme", ["dark", "light", "high-contrast"])
    def test_job_states_in_theme(self, snap_compare: Any, snapshot_app: Any, theme: str) -> None:
        """running, queued, succeeded, failed and cancelled each in the theme's own colour."""
        assert snap_compare(snapshot_app(theme=theme), terminal_size=SIZE, run_before=steps("4"))

    @pytest.mark.parametrize("theme", ["dark", "light", "high-contrast"])
    def test_drift_and_daemon_gone_in_theme(self, snap_compare: Any, snapshot_app: Any, theme: str) -> None:
        async def gone(pilot: Pilot[Any]) -> None:
            pilot.app.post_message(ConnectionChanged(False, "no daemon at /run/user/1000/swampd/swampd.sock"))

        assert snap_compare(snapshot_app(theme=theme), terminal_size=SIZE, run_before=steps("6", "V", after=gone))


class TestCharts:
    def test_hit_rate_with_axes_and_a_gap(self, snap_compare: Any, snapshot_app: Any) -> None:
        """95 % -> 85 % on a 0-100 % axis with time labels; the empty bucket is a gap, not a zero."""
        assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=steps())

    def test_fifteen_minute_window(self, snap_compare: Any, snapshot_app: Any) -> None:
        assert snap_compare(snapshot_app(), terminal_size=SIZE, run_before=steps("w"))

    def test_history_not_available(self, snap_compare: Any, snapshot_app: Any) -> None:
        app = snapshot_app(results={"stats.history": missing("stats.history")})
        assert snap_compare(app, terminal_size=SIZE, run_before=steps())


LAYOUT_STEPS = {"overview": (), "cache": ("2",), "inflight": ("3",), "jobs": ("4", "enter"), "vault": ("5",),
                "extensions": ("6",), "context": ("7",), "log": ("4", "l")}


class TestLayouts:
    @pytest.mark.parametrize("pane", list(LAYOUT_STEPS))
    def test_80x24(self, snap_compare: Any, snapshot_app: Any, pane: str) -> None:
        assert snap_compare(snapshot_app(), terminal_size=(80, 24), run_before=steps(*LAYOUT_STEPS[pane]))

    @pytest.mark.parametrize("pane", list(LAYOUT_STEPS))
    def test_220x60(self, snap_compare: Any, snapshot_app: Any, pane: str) -> None:
        assert snap_compare(snapshot_app(), terminal_size=(220, 60), run_before=steps(*LAYOUT_STEPS[pane]))

    def test_read_only_badge_at_80(self, snap_compare: Any, snapshot_app: Any) -> None:
        assert snap_compare(snapshot_app(read_only=True), terminal_size=(80, 24), run_before=steps("4"))
