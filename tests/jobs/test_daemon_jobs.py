"""Jobs through a real daemon process: RPC, dedupe across clients, disconnects, restart reaping."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from swampd.client import RpcError
from swampd.jobs.process import pid_alive
from tests.conftest import wait_until

from .helpers import executions, recorded_pids


def gone(pids: list[int], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while any(pid_alive(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_submit_and_get_through_the_daemon(daemon: Any, repo: str, fake_env: dict[str, str]) -> None:
    record = daemon.call("jobs.submit", {"model": "m1", "method": "sync", "repo": repo,
                                         "inputs": {"a": "1"}})
    assert record["state"] == "succeeded" and record["result"]["modelName"] == "m1"
    assert daemon.call("jobs.get", {"id": record["id"]})["state"] == "succeeded"
    listed = daemon.call("jobs.list")["jobs"]
    assert [j["id"] for j in listed] == [record["id"]]
    assert daemon.call("jobs.list", {"created_since": record["created_at"]})["jobs"] == listed
    assert daemon.call("jobs.list", {"created_since": record["created_at"] + 0.5})["jobs"] == []
    for bad in ("yesterday", True, [1.0]):
        with pytest.raises(RpcError) as info:
            daemon.call("jobs.list", {"created_since": bad})
        assert info.value.code == -32602 and "created_since" in info.value.message
    assert daemon.call("jobs.logs", {"id": record["id"]})["lines"] == ["running m1.sync"]
    assert len(executions(fake_env)) == 1
    stats = daemon.call("calls.stats")
    assert stats["flights"] == 0 and stats["flights_total"] == 1


CLIENT = """
import json, sys
from swampd.client import Client
with Client(sys.argv[1], timeout=600) as c:
    try:
        out = {"result": c.call(sys.argv[2], json.loads(sys.argv[3]))}
    except Exception as exc:
        out = {"error": {"kind": getattr(exc, "kind", None), "message": str(exc)}}
print(json.dumps(out, sort_keys=True))
"""


def spawn_client(daemon: Any, method: str, params: dict[str, Any]) -> subprocess.Popen[str]:
    """A separate client process (its own pid, as the daemon's peer) making one call."""
    return subprocess.Popen(
        [sys.executable, "-c", CLIENT, daemon.paths.socket, method, json.dumps(params)],
        env=daemon.env, stdout=subprocess.PIPE, text=True,
    )


def test_fifty_client_processes_one_execution(
    daemon: Any, repo: str, fake_env: dict[str, str], tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    params = {"model": "m1", "method": "sync", "repo": repo, "inputs": {"gate": str(gate)}}
    procs = [spawn_client(daemon, "jobs.submit", params) for _ in range(50)]
    wait_until(lambda: daemon.call("calls.stats")["waiters"] == 50)
    gate.touch()
    outs = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
    assert len(executions(fake_env)) == 1
    assert all(o == outs[0] for o in outs)
    assert outs[0]["result"]["state"] == "succeeded"
    stats = daemon.call("calls.stats")
    assert stats["calls_total"] == 50 and stats["flights_total"] == 1
    assert stats["executions_saved"] == 49


def test_a_client_process_that_dies_detaches_and_the_last_one_cancels(
    daemon: Any, repo: str, fake_env: dict[str, str]
) -> None:
    params = {"model": "m1", "method": "slow", "repo": repo,
              "inputs": {"sleep": "3600", "grandchildren": "2"}}
    clients = [spawn_client(daemon, "jobs.submit", params) for _ in range(3)]
    wait_until(lambda: len(recorded_pids(fake_env)) == 3)
    wait_until(lambda: sum(f["waiters"] for f in daemon.call("calls.inflight")["calls"]) == 3)
    [flight] = daemon.call("calls.inflight")["calls"]
    assert flight["method"] == "jobs.swamp" and flight["model"] == "m1"
    assert sorted(p["pid"] for p in flight["peers"]) == sorted(c.pid for c in clients)
    assert all("python" in p["cmdline"] for p in flight["peers"])
    clients[0].kill()
    clients[0].wait()
    wait_until(lambda: daemon.call("calls.inflight")["calls"][0]["waiters"] == 2)
    [job] = daemon.call("jobs.list")["jobs"]
    assert job["state"] == "running" and job["waiters"] == 2
    pids = recorded_pids(fake_env)
    assert all(pid_alive(p) for p in pids)
    for c in clients[1:]:
        c.kill()
        c.wait()
    assert gone(pids)
    wait_until(lambda: daemon.call("jobs.get", {"id": job["id"]})["state"] == "cancelled")
    assert len(executions(fake_env)) == 1


def test_restart_reaping_after_kill9(daemon: Any, repo: str, fake_env: dict[str, str]) -> None:
    params = {"model": "m1", "method": "slow", "repo": repo, "wait": False,
              "inputs": {"sleep": "3600", "grandchildren": "2"}}
    job = daemon.call("jobs.submit", params)
    queued = daemon.call("jobs.submit", {**params, "inputs": {"sleep": "3600", "n": "2"}})
    other = daemon.call("jobs.submit", {**params, "model": "m2", "inputs": {"sleep": "3600"}})
    wait_until(lambda: len(recorded_pids(fake_env)) == 4)
    assert daemon.call("jobs.get", {"id": queued["id"]})["state"] == "queued"
    pids = recorded_pids(fake_env)
    daemon.kill9()
    assert all(pid_alive(p) for p in pids)  # the jobs outlived their daemon
    daemon.start()
    assert gone(pids)
    states = {j["id"]: j for j in daemon.call("jobs.list")["jobs"]}
    assert states[job["id"]]["state"] == "cancelled"
    assert states[job["id"]]["error"]["code"] == "daemon_restart"
    assert states[other["id"]]["state"] == "cancelled"
    assert states[queued["id"]]["state"] == "cancelled"
    assert not [j for j in states.values() if j["state"] in ("queued", "running")]


def test_reaping_kills_orphaned_grandchildren_of_a_dead_leader(
    daemon: Any, repo: str, fake_env: dict[str, str]
) -> None:
    params = {"model": "m1", "method": "slow", "repo": repo, "wait": False,
              "inputs": {"sleep": "3600", "grandchildren": "2"}}
    job = daemon.call("jobs.submit", params)
    wait_until(lambda: len(recorded_pids(fake_env)) == 3)
    leader, *grandchildren = recorded_pids(fake_env)
    daemon.kill9()
    os.kill(leader, signal.SIGKILL)  # the job's main process dies while no daemon watches
    assert gone([leader])
    assert all(pid_alive(p) for p in grandchildren)
    daemon.start()
    assert gone(grandchildren)
    record = daemon.call("jobs.get", {"id": job["id"]})
    assert record["state"] == "failed" and record["error"]["code"] == "daemon_lost"


@pytest.mark.parametrize("bad", [{"kind": "nope"}, {"model": "m"}, {"wait": "yes", "model": "m"}])
def test_bad_submit_params(daemon: Any, bad: dict[str, Any]) -> None:

    with pytest.raises(RpcError) as info:
        daemon.call("jobs.submit", bad)
    assert info.value.kind == "invalid_params"


def test_stand_in_is_not_our_console_script(tmp_path: Path) -> None:
    from swampd.jobs.drivers import is_own_console_script

    from .conftest import FAKE_SWAMP

    assert not is_own_console_script(FAKE_SWAMP)


def test_jobs_and_calls_events(daemon: Any, repo: str) -> None:
    with daemon.client() as watcher:
        watcher.subscribe(["jobs", "calls"])
        record = daemon.call("jobs.submit", {"model": "m1", "method": "sync", "repo": repo})
        seen: list[tuple[str, str]] = []
        while ("calls", "call.ended") not in seen or ("jobs", "succeeded") not in seen:
            note = watcher.next_notification(timeout=30)
            data = note["params"]["data"]
            topic = note["params"]["topic"]
            seen.append((topic, data["state"] if topic == "jobs" else data["type"]))
            if topic == "jobs":
                assert data["id"] == record["id"] and data["model"] == "m1"
    assert [s for t, s in seen if t == "jobs"] == ["queued", "running", "succeeded"]
    assert [s for t, s in seen if t == "calls"] == ["call.started", "call.ended"]


def test_daemon_stop_cancels_running_jobs_and_kills_their_trees(
    daemon: Any, repo: str, fake_env: dict[str, str]
) -> None:
    params = {"model": "m1", "method": "slow", "repo": repo, "wait": False,
              "inputs": {"sleep": "3600", "grandchildren": "2"}}
    job = daemon.call("jobs.submit", params)
    wait_until(lambda: len(recorded_pids(fake_env)) == 3)
    pids = recorded_pids(fake_env)
    daemon.stop()
    assert daemon.proc.returncode is not None
    assert gone(pids)
    daemon.start()
    record = daemon.call("jobs.get", {"id": job["id"]})
    assert record["state"] == "cancelled"
    assert record["error"]["code"] == "cancelled"


def test_methods_are_discoverable(run_cli: Any, daemon: Any) -> None:
    listed = run_cli("rpc", "--list")
    for name in ("jobs.submit", "jobs.list", "jobs.get", "jobs.wait", "jobs.logs", "jobs.cancel",
                 "calls.inflight", "calls.stats", "calls.cancel"):
        assert name in listed.stdout


def test_calls_cancel_ends_a_run_for_every_waiter(
    daemon: Any, repo: str, fake_env: dict[str, str]
) -> None:
    params = {"model": "m1", "method": "slow", "repo": repo, "inputs": {"sleep": "3600"}}
    clients = [spawn_client(daemon, "jobs.submit", params) for _ in range(3)]
    wait_until(lambda: sum(f["waiters"] for f in daemon.call("calls.inflight")["calls"]) == 3)
    [flight] = daemon.call("calls.inflight")["calls"]
    answer = daemon.call("calls.cancel", {"key": flight["key"]})
    assert answer["cancelled"] is True and answer["waiters"] == 3
    outs = [json.loads(c.communicate(timeout=120)[0]) for c in clients]
    assert all(o == outs[0] for o in outs)
    assert outs[0]["result"]["state"] == "cancelled"
    assert daemon.call("calls.inflight")["calls"] == []
    assert gone(recorded_pids(fake_env))


def test_cancel_request_detaches_the_waiter(daemon: Any, repo: str, fake_env: dict[str, str]) -> None:
    params = {"model": "m1", "method": "slow", "repo": repo, "inputs": {"sleep": "3600"}}
    with daemon.client() as first, daemon.client() as second:
        first_id = first.request("jobs.submit", params)
        second_id = second.request("jobs.submit", params)
        wait_until(lambda: daemon.call("calls.stats")["waiters"] == 2)
        first.cancel(first_id)
        reply = first.wait_reply(first_id)
        assert reply["error"]["code"] == -32800
        wait_until(lambda: daemon.call("calls.stats")["waiters"] == 1)
        [job] = daemon.call("jobs.list")["jobs"]
        assert job["state"] == "running"
        second.cancel(second_id)
        assert second.wait_reply(second_id)["error"]["code"] == -32800
    wait_until(lambda: daemon.call("jobs.get", {"id": job["id"]})["state"] == "cancelled")
    assert gone(recorded_pids(fake_env))


def test_a_closed_socket_detaches_while_its_process_lives_on(
    daemon: Any, repo: str, fake_env: dict[str, str]
) -> None:
    params = {"model": "m1", "method": "slow", "repo": repo, "inputs": {"sleep": "3600"}}
    first, second = daemon.client(), daemon.client()
    first.request("jobs.submit", params)
    second.request("jobs.submit", params)
    wait_until(lambda: daemon.call("calls.stats")["waiters"] == 2)
    first.close()  # this (test) process keeps running: only the socket tells
    wait_until(lambda: daemon.call("calls.stats")["waiters"] == 1)
    [job] = daemon.call("jobs.list")["jobs"]
    assert job["state"] == "running"
    second.close()
    wait_until(lambda: daemon.call("jobs.get", {"id": job["id"]})["state"] == "cancelled")
    assert gone(recorded_pids(fake_env))


def test_env_values_reach_the_process_but_never_a_record(daemon: Any, tmp_path: Path) -> None:
    secret = "tok-3f9a1c-do-not-store"
    out = tmp_path / "seen"
    script = f"import os; open({str(out)!r}, 'w').write(os.environ['TOKEN'])"
    record = daemon.call("jobs.submit", {
        "kind": "command", "argv": [sys.executable, "-c", script], "env": {"TOKEN": secret},
    })
    assert record["state"] == "succeeded"
    assert out.read_text() == secret  # the process got the value
    assert record["spec"]["env"] == {"TOKEN": "<redacted>"}
    listed = daemon.call("jobs.list")
    assert secret not in json.dumps(listed)
    assert secret not in json.dumps(daemon.call("jobs.get", {"id": record["id"]}))
    for path in Path(daemon.paths.state_dir).rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
