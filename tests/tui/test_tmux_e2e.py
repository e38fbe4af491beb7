"""End to end in a real terminal: `swamp dash` in tmux while 20 agents make the same slow call.

An operator sees one flight with 20 waiters, cancels it with the keys they would press,
confirms, and sees the job `cancelled`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import swamp_command, swampd_command
from tests.tmux import Tmux

pytestmark = [pytest.mark.slow, pytest.mark.tui,
              pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")]

WIDTH, HEIGHT = 160, 48


def dash_terminal(command: list[str], env: dict[str, str]) -> Tmux:
    return Tmux(command, env, session="dash", exit_marker="DASH-EXITED", width=WIDTH, height=HEIGHT)


@pytest.fixture
def tmux_dash(daemon: Any) -> Iterator[Tmux]:
    term = dash_terminal([*swamp_command(), "dash", "--refresh", "1"], {**daemon.env, "TERM": "xterm-256color"})
    try:
        yield term
    finally:
        term.close()


def test_twenty_waiters_one_flight_cancelled_from_the_console(daemon: Any, tmux_dash: Tmux, tmp_path: Path) -> None:
    term = tmux_dash
    term.wait(lambda s: "1 Overview" in s and f"pid {daemon.pid}" in s, "the console on this daemon")
    term.keys("3")
    term.wait(lambda s: "no calls in flight" in s, "the empty in-flight pane")
    repo = tmp_path / "repo"
    repo.mkdir()
    agents = [subprocess.Popen([*swampd_command(), "run", "web-fleet", "plan", "--arg", "sleep=300", "--repo",
                                str(repo)], env=daemon.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
              for _ in range(20)]
    try:
        flight_row = re.compile(r"jobs\.swamp\s+web-fleet\s+client\s+\S+\s+20\b")
        screen = term.wait(lambda s: bool(flight_row.search(s)), "one flight with 20 waiters")
        assert len(flight_row.findall(screen)) == 1
        assert "20 waiting peer(s)" in screen
        term.keys("x")
        term.wait(lambda s: "Cancel this flight for all 20 waiter(s)?" in s, "the confirmation")
        term.keys("y")
        term.wait(lambda s: "no calls in flight" in s, "the flight gone")
        term.keys("4")
        screen = term.wait(lambda s: bool(re.search(r"cancelled\s+(swamp\s+)?web-fleet\.plan", s)), "the job cancelled")
        assert "running" not in screen.split("model.method")[1].split("\n", 2)[1]
        states = [j["state"] for j in daemon.call("jobs.list")["jobs"]]
        assert states == ["cancelled"]
        for agent in agents:
            assert agent.wait(timeout=60) != 0  # every waiter was told
        term.keys("q")
        term.wait(lambda s: "DASH-EXITED" in s, "the console quitting on q")
    finally:
        for agent in agents:
            if agent.poll() is None:
                agent.kill()
            agent.wait(timeout=30)


def test_no_daemon_and_autostart_off_then_s_starts_one(swampd_home: Path, daemon_env: dict[str, str]) -> None:
    env = {**daemon_env, "SWAMPD_AUTOSTART": "0", "TERM": "xterm-256color"}
    term = dash_terminal([*swamp_command(), "dash"], env)
    try:
        term.wait(lambda s: "daemon not running" in s and "press s to start" in s, "the not-running banner")
        term.keys("s")
        screen = term.wait(lambda s: "daemon not running" not in s and re.search(r"pid \d+", s) is not None,
                           "the console on a daemon it started")
        pid = int(re.search(r"pid (\d+)", screen).group(1))  # type: ignore[union-attr]
        from swampd.client import Client
        from swampd.paths import resolve_paths

        with Client(resolve_paths(env).socket, timeout=10) as client:
            assert client.call("daemon.hello")["pid"] == pid
            client.call("daemon.stop")
    finally:
        term.close()


def test_an_exception_leaves_the_terminal_clean_and_exits_non_zero(daemon: Any, tmp_path: Path) -> None:
    """Any bug that escapes must not leave the terminal in the alternate screen or exit 0.

    The fault is made on purpose (the `?` action raises) because the console catches every one
    we know how to cause; it stands in for whatever unexpected exception comes next.
    """
    script = tmp_path / "crashing_dash.py"
    script.write_text(
        "import sys\n"
        "from tui.app import DashApp\n"
        "def boom(self):\n"
        "    raise RuntimeError('an unexpected bug')\n"
        "DashApp.action_help = boom\n"
        "from cli.main import main\n"
        "sys.exit(main(['dash', '--refresh', '1']))\n")
    import sys

    term = dash_terminal([sys.executable, str(script)], {**daemon.env, "TERM": "xterm-256color"})
    try:
        term.wait(lambda s: "1 Overview" in s, "the console")
        term.keys("?")
        screen = term.wait(lambda s: "DASH-EXITED" in s, "the console exiting")
        assert "RuntimeError" in screen and "an unexpected bug" in screen
        code = term.tmux("display-message", "-p", "-t", "dash", "#{alternate_on} #{mouse_any_flag} #{cursor_flag}")
        assert code.split() == ["0", "0", "1"]  # main screen, mouse reporting off, cursor shown
        assert "EXIT=1" in screen
    finally:
        term.close()
