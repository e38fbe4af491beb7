"""Fixtures for the console tests: isolated config, canned or live data sources, settling."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.tui.canned import fixed_source
from tui.app import DashApp
from tui.datasource import LiveSource

SIZE = (160, 48)
FAKE_SWAMP = str(Path(__file__).resolve().parent.parent / "fixtures" / "fake_swamp.py")


class RecordingDash(DashApp):
    """The real app, keeping every notification so tests can read what the operator saw."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.notes: list[tuple[str, str]] = []

    def notify(self, message: str, *, title: str = "", severity: Any = "information", timeout: float | None = None,
               markup: bool = True) -> None:
        self.notes.append((str(severity), f"{title}: {message}" if title else message))
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)


@pytest.fixture
def daemon_env(daemon_env: dict[str, str]) -> dict[str, str]:
    """The daemon runs the swamp stand-in for `swamp run` jobs."""
    return {**daemon_env, "SWAMPD_SWAMP_EXECUTABLE": FAKE_SWAMP, "SWAMPD_JOBS_MAX_CONCURRENT": "8"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Never read or write the developer's own config (XDG dirs point into tmp)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    yield tmp_path


async def settle(pilot: Pilot[Any], fetches: int = 1) -> None:
    """Wait until the app has applied `fetches` refreshes and its workers are idle (no sleeps)."""
    app = pilot.app
    assert isinstance(app, DashApp)
    for _ in range(2000):
        await pilot.pause()
        if app.fetches >= fetches and not _busy(app):
            break
    for widget in app.query(Input):
        widget.cursor_blink = False
    await pilot.pause()


def _busy(app: DashApp) -> bool:
    return any(w.group in ("fetch", "actions", "log") and not w.is_finished for w in app.workers)


async def wait_for(pilot: Pilot[Any], predicate: Callable[[], bool], what: str, rounds: int = 3000) -> None:
    """Pump the app until `predicate()` holds; fail naming `what` (bounded by rounds, not by time)."""
    for _ in range(rounds):
        if predicate():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"never happened: {what}")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """An empty swamp repo (`.swamp/` and `.swamp.yaml`)."""
    root = tmp_path / "repo"
    (root / ".swamp").mkdir(parents=True)
    (root / ".swamp.yaml").write_text("swampVersion: 0.1.0\n")
    return root


def with_local_vault(daemon: Any, repo: Path, name: str) -> None:
    """A swamp `local_encryption` vault NAME in `repo`, and the repo registered as `demo`."""
    vaults = repo / "vaults" / "local_encryption"
    vaults.mkdir(parents=True)
    (vaults / "v1.yaml").write_text(f"id: 11111111-1111-4111-8111-111111111111\nname: {name}\n"
                                    "type: local_encryption\nconfig:\n  auto_generate: true\n"
                                    "createdAt: '2026-11-01T10:00:00.000Z'\n")
    daemon.call("repos.register", {"path": str(repo), "name": "demo"})


@pytest.fixture
def snapshot_app() -> Callable[..., DashApp]:
    def make(**kwargs: Any) -> DashApp:
        overrides = kwargs.pop("results", {})
        return RecordingDash(fixed_source(**overrides), live=False, **kwargs)

    return make


@pytest.fixture
def live_app(daemon: Any, tmp_path: Path) -> Callable[..., DashApp]:
    """A console on the real daemon of the `daemon` fixture (events and polls on)."""

    def make(**kwargs: Any) -> DashApp:
        kwargs.setdefault("config_file", str(tmp_path / "config.toml"))
        kwargs.setdefault("refresh", 1.0)
        return RecordingDash(LiveSource(daemon.paths), **kwargs)

    return make


def cell_texts(app: DashApp, table_id: str) -> list[list[str]]:
    from tui.widgets.table import LiveTable

    table = app.query_one(f"#{table_id}", LiveTable)
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def pane_empty_text(app: DashApp, name: str) -> str:
    from textual.widgets import Static

    line = app.query_one(f"#empty-{name}", Static)
    return str(line.render()) if line.display else ""


os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
