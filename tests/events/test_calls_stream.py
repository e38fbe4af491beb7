"""`swamp events --topic calls` shows a flight's whole life with each waiting peer's pid, in order."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import DaemonProcess, swamp_command, wait_until


def follow(daemon: DaemonProcess, *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([*swamp_command(), "events", *args], env=daemon.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    wait_until(lambda: daemon.call("daemon.status")["subscriptions"] >= 2, what="the follower subscribed")
    return proc


def test_twenty_one_processes_pile_onto_one_flight_and_leave_it(daemon: DaemonProcess, repo: str,
                                                                 tmp_path: Path) -> None:
    watcher = follow(daemon, "--topic", "calls")
    gate = tmp_path / "gate"
    params = json.dumps({"model": "m1", "method": "sync", "repo": repo, "inputs": {"gate": str(gate)}})
    agents: list[subprocess.Popen[str]] = []
    try:
        agents += [subprocess.Popen([*swamp_command(), "rpc", "jobs.submit", params], env=daemon.env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(21)]
        wait_until(lambda: daemon.call("calls.stats")["waiters"] == 21, what="21 waiters on the flight")
        gate.touch()
        results = [a.communicate(timeout=300) for a in agents]
        assert [a.returncode for a in agents] == [0] * 21, results
        daemon.stop()
        out, err = watcher.communicate(timeout=60)
    finally:
        for proc in [watcher, *agents]:
            proc.kill()
    assert watcher.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    *calls, end = lines
    assert end["type"] == "events.end" and end["reason"] == "the daemon shut down"
    assert [c["phase"] for c in calls] == ["started"] + ["joined"] * 20 + ["finished"]
    assert [c["type"] for c in calls] == ["call.started"] + ["call.joined"] * 20 + ["call.ended"]
    assert {c["topic"] for c in calls} == {"calls"}
    assert len({c["key"] for c in calls}) == 1
    assert [c["seq"] for c in calls] == sorted(c["seq"] for c in calls)
    assert all(isinstance(c["ts"], float) for c in calls)
    peers = [c["peer"] for c in calls[:-1]]
    assert sorted(p["pid"] for p in peers) == sorted(a.pid for a in agents)  # every agent, each once
    assert all("rpc jobs.submit" in p["cmdline"] for p in peers)
    assert [c["waiters"] for c in calls[:-1]] == list(range(1, 22))
    finished = calls[-1]
    assert finished["outcome"] == "succeeded" and finished["duration"] > 0 and "peer" not in finished


def test_where_filters_and_since_start_replays(daemon: DaemonProcess, run_cli: Any) -> None:
    daemon.call("context.put", {"scope": "a", "key": "k", "value": 1})
    daemon.call("context.put", {"scope": "b", "key": "k", "value": 2})
    watcher = follow(daemon, "--since-start", "--topic", "context", "--where", "scope=b",
                     "--where", "type=context.put", "--where", "type=context.dropped")
    try:
        daemon.call("context.drop", {"scope": "b", "key": "k"})
        daemon.call("context.drop", {"scope": "a", "key": "k"})
        daemon.stop()
        out, err = watcher.communicate(timeout=60)
    finally:
        watcher.kill()
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(e["type"], e.get("scope")) for e in lines] == [
        ("context.put", "b"), ("context.dropped", "b"), ("events.end", None)]
    assert watcher.returncode == 0, err


def test_bad_where_and_no_daemon_are_refused(daemon: DaemonProcess, run_cli: Any) -> None:
    bad = run_cli("events", "--where", "no-equals-sign")
    assert bad.returncode == 2 and "expected FIELD=VALUE" in bad.stderr
    topic = run_cli("events", "--topic", "nope")
    assert topic.returncode == 1 and "unknown topic(s): ['nope']" in topic.stderr
    local = run_cli("--no-daemon", "events")
    assert local.returncode == 2 and "needs the daemon" in local.stderr


def test_a_killed_daemon_ends_the_stream_with_a_lost_connection(daemon: DaemonProcess) -> None:
    watcher = follow(daemon)
    try:
        daemon.kill9()
        out, _ = watcher.communicate(timeout=60)
    finally:
        watcher.kill()
    last = json.loads(out.splitlines()[-1])
    assert (last["type"], last["reason"]) == ("events.end", "the connection to the daemon was lost")
    assert watcher.returncode == 3


def test_a_reader_that_goes_away_ends_the_stream_quietly(daemon: DaemonProcess) -> None:
    follower = subprocess.Popen(f"{' '.join(swamp_command())} events | head -n 1", shell=True, env=daemon.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: daemon.call("daemon.status")["subscriptions"] >= 2, what="the follower subscribed")
        for i in range(50):  # the second line hits a closed pipe
            daemon.call("context.put", {"scope": "s", "key": f"k{i}", "value": i})
        out, err = follower.communicate(timeout=60)
    finally:
        follower.kill()
    assert len(out.splitlines()) == 1
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_a_daemon_that_stops_answering_ends_the_stream(daemon: DaemonProcess) -> None:
    """A stopped (SIGSTOP) daemon keeps its socket open: only the follower's liveness probe notices."""
    watcher = follow(daemon)
    os.kill(daemon.pid, signal.SIGSTOP)
    try:
        out, _ = watcher.communicate(timeout=120)
    finally:
        os.kill(daemon.pid, signal.SIGCONT)
        watcher.kill()
    last = json.loads(out.splitlines()[-1])
    assert last["type"] == "events.end" and "stopped answering" in last["reason"]
    assert watcher.returncode == 3
