"""`swamp top`: the snapshot RPC, the plain and JSON outputs, and the live view in a real terminal (tmux)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cli.commands.top import frame, render
from tests.conftest import DaemonProcess, swamp_command, wait_until
from tests.tmux import Tmux

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def busy(daemon: DaemonProcess, repo: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A flight with three waiting agents (a gated job) and one agent that keeps making calls."""
    gate = tmp_path / "gate"
    params = json.dumps({"model": "m1", "method": "sync", "repo": repo, "inputs": {"gate": str(gate)}})
    agents = [subprocess.Popen([*swamp_command(), "rpc", "jobs.submit", params], env=daemon.env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(3)]
    chatty = daemon.client()
    try:
        wait_until(lambda: daemon.call("calls.stats")["waiters"] == 3, what="three waiters")
        for i in range(25):
            chatty.call("context.put", {"scope": "top", "key": f"k{i}", "value": i})
        yield {"agents": [a.pid for a in agents], "chatty": chatty}
    finally:
        gate.touch()
        for agent in agents:
            try:
                agent.wait(timeout=60)
            except subprocess.TimeoutExpired:
                agent.kill()
        chatty.close()


def test_the_snapshot_has_flights_jobs_and_busiest_peers(daemon: DaemonProcess, busy: dict[str, Any],
                                                           run_cli: Any) -> None:
    snap = run_cli("--json", "top", "--peers", "10").json()  # asked from another process than the chatty one
    (flight,) = snap["calls"]["flights"]
    assert flight["waiters"] == 3 and sorted(p["pid"] for p in flight["peers"]) == sorted(busy["agents"])
    (job,) = snap["jobs"]
    assert (job["state"], job["what"], job["waiters"]) == ("running", "m1.sync", 3)
    peers = snap["peers"]
    assert peers[0]["pid"] == os.getpid()  # this test's client made 25 calls in the last minute
    assert peers[0]["requests_recent"] >= 25 and peers[0]["connections"] >= 1
    waiting = {p["pid"]: (p["waiting"], p["in_flight"]) for p in peers}
    assert all(waiting[pid] == (1, 1) for pid in busy["agents"])
    assert snap["peers_total"] == len(peers) >= 4
    assert snap["daemon"]["requests_recent"] >= 28
    assert (snap["cache"]["reads"], snap["cache"]["hit_ratio"]) == (0, None)  # nothing has read data yet


def test_the_caller_is_not_among_the_peers(daemon: DaemonProcess) -> None:
    with daemon.client() as c:
        snap = c.call("daemon.top")
    assert snap["peers"] == [] and snap["peers_total"] == 0


def test_once_and_json(daemon: DaemonProcess, busy: dict[str, Any], run_cli: Any) -> None:
    once = run_cli("top", "--once")
    assert once.returncode == 0, once
    assert "\x1b" not in once.stdout  # not a terminal: no escape codes
    lines = once.stdout.splitlines()
    assert lines[0].startswith("swampd ") and f"pid {daemon.pid}" in lines[0]
    assert "FLIGHTS  1" in once.stdout and "JOBS  1 running, 0 queued" in once.stdout
    flight_row = next(line for line in lines if "jobs.swamp" in line)
    assert flight_row.split()[4] == "3"  # WAITERS
    assert all(str(pid) in flight_row for pid in busy["agents"]) and "(swamp rpc jobs.submit" in flight_row
    assert "… " not in once.stdout  # not a terminal: every row shown
    snaps = [json.loads(line) for line in run_cli("--json", "top", "-n", "2", "-d", "0.1").stdout.splitlines()]
    assert len(snaps) == 2 and all(s["calls"]["stats"]["waiters"] == 3 for s in snaps)
    refused = run_cli("--no-daemon", "top", "--once")
    assert refused.returncode == 2 and "top watches the daemon" in refused.stderr


def snapshot(flights: int = 0, jobs: int = 0, peers: int = 0) -> dict[str, Any]:
    return {
        "time": 1_700_000_000.0, "window": 60,
        "daemon": {"pid": 42, "version": "0.1.0", "uptime": 3725.0, "connections": 9, "subscriptions": 1,
                   "requests_total": 12345, "requests_recent": 600, "requests_in_flight": 3, "draining": False},
        "calls": {"flights": [{"key": f"{i:064x}", "method": "jobs.swamp", "model": "m", "age": 12.5, "waiters": 20,
                               "held": False, "peers": [{"pid": 1000 + i, "cmdline": "swamp run m sync " * 10}]}
                              for i in range(flights)],
                  "stats": {"flights": flights, "waiters": 20 * flights, "executions_saved": 19}},
        "jobs": [{"id": f"job{i:09d}", "kind": "swamp", "state": "running", "what": "m.sync", "age": 3.0,
                  "waiters": 1, "held": False, "pid": 7} for i in range(jobs)],
        "cache": {"window": 60, "reads": 1000, "hits": 971, "hit_ratio": 0.971},
        "peers": [{"pid": 2000 + i, "cmdline": "python agent.py", "connections": 1, "requests_recent": 100 - i,
                   "requests_total": 500, "in_flight": 0, "waiting": 1, "connected_at": 0.0} for i in range(peers)],
        "peers_total": peers,
    }


@pytest.mark.parametrize(("width", "height"), [(200, 60), (80, 24), (40, 12), (20, 8)])
def test_a_frame_always_fits_the_terminal(width: int, height: int) -> None:
    lines = render(snapshot(flights=30, jobs=30, peers=30), width, height, color=True)
    assert len(lines) <= height
    assert all(len(ANSI.sub("", line)) <= width for line in lines)
    text = "\n".join(ANSI.sub("", line) for line in lines)
    assert "cache hit 97.1% of 1,000 reads/min" in text or width < 80
    if height >= 24:
        assert "more" in text  # 30 rows each cannot fit: the sections say how many are hidden


def test_an_idle_daemon_renders_its_empty_sections() -> None:
    text = "\n".join(render({**snapshot(), "cache": None}, 100, 40))
    assert "no calls in flight" in text and "no jobs running or queued" in text
    assert "no other clients connected" in text and "cache hit -% (0 reads/min)" in text


def test_a_frame_paints_over_the_last_one() -> None:
    painted = frame(["one", "two"])
    assert painted.startswith("\x1b[H") and painted.endswith("\x1b[K\x1b[J")
    assert "\x1b[2J" not in painted  # never a full clear: that is what flickers


# -- in a real terminal ------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_live_view_in_tmux_redraws_in_place_follows_resizes_and_quits(daemon: DaemonProcess, busy: dict[str, Any],
                                                                      tmp_path: Path) -> None:
    log = tmp_path / "top.raw"
    term = Tmux([*swamp_command(), "top", "-d", "0.2"], daemon.env, session="top", exit_marker="TOP-EXITED",
                width=120, height=30, log=log, term="xterm-256color")
    try:
        screen = term.wait(lambda s: "FLIGHTS  1" in s and "jobs.swamp" in s, "the flight")
        assert all(str(pid) in screen for pid in busy["agents"])
        assert screen.splitlines()[0].startswith("swampd ")
        wait_until(lambda: log.read_bytes().count(b"\x1b[H") >= 5, what="five frames")
        term.tmux("resize-window", "-t", "top", "-x", "60", "-y", "20")
        term.wait(lambda s: len(s.splitlines()) <= 20 and all(len(line) <= 60 for line in s.splitlines())
                  and "FLIGHTS" in s, "a frame at the new size")
        term.keys("q")
        after = term.wait(lambda s: "TOP-EXITED" in s, "top to quit")
    finally:
        term.close()
    assert "EXIT=0 TOP-EXITED" in after
    assert "FLIGHTS" not in after  # the alternate screen is gone: the shell's screen is back
    raw = log.read_bytes()
    assert raw.count(b"\x1b[?1049h") == 1 and raw.count(b"\x1b[?1049l") == 1
    assert b"\x1b[2J" not in raw  # never cleared whole: every frame paints over the last one
    frames = raw.split(b"\x1b[?1049h", 1)[1].split(b"\x1b[?25h\x1b[?1049l", 1)[0].split(b"\x1b[H")[1:]
    assert len(frames) >= 5
    assert all(f.endswith(b"\x1b[K\x1b[J") for f in frames)


def test_the_cache_hit_rate_covers_the_last_minute_of_reads(daemon: DaemonProcess, tmp_path: Path) -> None:
    repo = tmp_path / "data-repo"
    repo.mkdir()
    (repo / ".swamp").mkdir()  # an initialised swamp repo: only those are served
    (repo / ".swamp.yaml").write_text(f"repoId: {uuid.uuid4()}\n")
    ref = {"repo": str(repo), "type": "t/x", "model": "11111111-1111-1111-1111-111111111111", "name": "n"}
    daemon.call("data.put", {**ref, "content": "hello"})
    for _ in range(3):
        daemon.call("data.get", ref)  # served from the hot tier
    daemon.call("cache.evict", {"all": True})
    daemon.call("data.get", ref)  # a miss: read from the datastore
    overall = daemon.call("cache.stats")["overall"]
    with daemon.client() as other:
        cache = other.call("daemon.top")["cache"]
    assert (cache["reads"], cache["hits"]) == (overall["requests"], overall["hits"]) == (4, 3)
    assert cache["hit_ratio"] == 0.75 and cache["window"] == 60


@pytest.mark.parametrize("words", [[], ["--once"], ["-n", "3"], ["--iterations=2", "-d", "0.5"],
                                   ["--peers", "0", "--once"], ["--interval=2", "--peers=3", "-n", "1"]])
def test_the_quick_reading_of_options_matches_argparse(words: list[str]) -> None:
    import argparse

    from cli.commands import top

    parser = argparse.ArgumentParser()
    top.configure(parser)
    assert vars(top.parse_quick(words)) == vars(parser.parse_args(words))


@pytest.mark.parametrize("words", [["-h"], ["--help"], ["--bogus"], ["-n"], ["-n", "x"], ["extra"], ["--once=1"]])
def test_anything_else_is_left_to_argparse(words: list[str]) -> None:
    from cli.commands import top

    assert top.parse_quick(words) is None


def test_top_once_imports_no_argparse_and_no_typing(daemon: DaemonProcess, tmp_path: Path) -> None:
    from tests.server.test_cli_hot_path import heavy, imported_modules

    modules = imported_modules(["top", "--once"], daemon.env, str(tmp_path))
    assert "cli.commands.top" in modules
    assert not {"argparse", "typing", "json", "socket"} & modules
    assert heavy(modules) == set()
