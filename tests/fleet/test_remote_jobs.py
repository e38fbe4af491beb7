"""Jobs with a target: run by the remote host's daemon over the real sshd, logs live, cancel reaches the tree."""

from __future__ import annotations

import json
import os
import time

import pytest

from swampd.client import RpcError
from swampd.jobs.process import group_members
from tests.conftest import wait_until
from tests.fleet.conftest import replies_to


def remote(daemon, method: str, params: dict | None = None):
    return daemon.call("fleet.call", {"host": "remote", "method": method, "params": params})


def test_a_remote_command_job_returns_its_result_and_its_logs(daemon, remote_home) -> None:
    record = daemon.call("jobs.submit", {"kind": "command", "target": "remote", "argv": [
        "sh", "-c", "echo one; echo two >&2; id -un; exit 3"]})
    assert record["state"] == "failed" and record["exit_code"] == 3
    assert record["remote"]["via"] == "ssh" and record["remote"]["host"] == "remote"
    assert record["spec"]["target"] == "remote"
    assert record["error"]["host"] == "remote" and record["error"]["code"] == "exit_status"
    lines = daemon.call("jobs.logs", {"id": record["id"]})["lines"]
    assert lines[:2] == ["one", "two"] and lines[2] == remote_home.account.pw_name
    there = remote(daemon, "jobs.get", {"id": record["remote"]["id"]})
    assert there["state"] == "failed" and there["exit_code"] == 3 and there["pid"] is not None
    assert there["daemon_pid"] != daemon.pid


def test_remote_logs_stream_live_while_the_job_runs(daemon, remote_home) -> None:
    gate = remote_home.path / "gate"
    record = daemon.call("jobs.submit", {"kind": "command", "target": "remote", "wait": False, "argv": [
        "sh", "-c", f"echo started; while [ ! -e {gate} ]; do sleep 0.05; done; echo finished"]})
    with daemon.client() as client:
        follow = client.request("jobs.logs", {"id": record["id"], "follow": True})
        first = client.next_notification(timeout=60)
        assert first["method"] == "jobs.log" and first["params"]["lines"] == ["started"]
        assert daemon.call("jobs.get", {"id": record["id"]})["state"] == "running"  # before the end
        gate.touch()
        reply = client.wait_reply(follow)
        lines = [line for n in client.notifications for line in n["params"]["lines"]]
    assert "finished" in lines and reply["result"]["state"] == "succeeded"


def test_cancel_kills_the_whole_remote_tree(daemon, remote_home) -> None:
    record = daemon.call("jobs.submit", {"kind": "command", "target": "remote", "wait": False, "argv": [
        "sh", "-c", "sleep 300 & sleep 300 & echo up; wait"]})
    wait_until(lambda: daemon.call("jobs.get", {"id": record["id"]})["remote"], 60, "the remote job")
    remote_id = daemon.call("jobs.get", {"id": record["id"]})["remote"]["id"]
    wait_until(lambda: remote(daemon, "jobs.get", {"id": remote_id})["pgid"], 30, "the remote process")
    pgid = remote(daemon, "jobs.get", {"id": remote_id})["pgid"]
    wait_until(lambda: len(group_members(pgid)) >= 3, 30, "sh and its two sleeps")
    assert all(os.stat(f"/proc/{pid}").st_uid == remote_home.account.pw_uid for pid in group_members(pgid))
    answer = daemon.call("jobs.cancel", {"id": record["id"], "wait": 30})
    assert answer["status"] == "cancelled", answer
    final = daemon.call("jobs.get", {"id": record["id"]})
    assert final["state"] == "cancelled" and final["error"]["remote"]["status"] == "cancelled"
    assert group_members(pgid) == []
    assert remote(daemon, "jobs.get", {"id": remote_id})["state"] == "cancelled"


def test_identical_concurrent_runs_for_one_target_coalesce(daemon, remote_home) -> None:
    repo = remote_home.mkdir("repo")
    gate = remote_home.path / "gate"
    params = {"kind": "swamp", "target": "remote", "model": "hello", "method": "execute",
              "repo": str(repo), "inputs": {"gate": str(gate)}}
    with daemon.client() as client:
        ids = [client.request("jobs.submit", params) for _ in range(5)]
        wait_until(lambda: any(c["waiters"] == 5 for c in daemon.call("calls.inflight")["calls"]), 60,
                   "five waiters on one flight")
        gate.touch()
        replies = replies_to(client, ids)
    records = [replies[i]["result"] for i in ids]
    assert {r["id"] for r in records} == {records[0]["id"]} and records[0]["state"] == "succeeded"
    assert records[0]["result"]["modelName"] == "hello"
    executions = (remote_home.path / "swamp-count").read_text().splitlines()
    assert len(executions) == 1 and json.loads(executions[0])["model"] == "hello"
    # a label names the same host: a new call runs again (nothing is cached), on `remote`
    by_label = daemon.call("jobs.submit", {**params, "target": "test"})
    assert by_label["remote"]["host"] == "remote" and by_label["state"] == "succeeded"
    assert len((remote_home.path / "swamp-count").read_text().splitlines()) == 2


@pytest.mark.parametrize("params, kind", [
    ({"kind": "command", "argv": ["true"], "target": "nowhere"}, "not_found"),
    ({"kind": "command", "argv": ["true"], "target": "dead"}, "backend_unavailable"),
    ({"kind": "swamp", "model": "m", "method": "x", "target": "old"}, "version_mismatch"),
    ({"kind": "command", "argv": ["true"], "target": "remote", "cwd": "relative"}, "invalid_params"),
])
def test_bad_targets_fail_clearly(daemon, params, kind) -> None:
    try:
        record = daemon.call("jobs.submit", params)
    except RpcError as exc:
        assert exc.kind == kind, exc.to_error()
        return
    assert record["state"] == "failed" and record["error"]["code"] == kind, record


def test_a_remote_job_survives_a_dropped_session_and_a_killed_local_daemon_cancels_it(daemon, remote_home) -> None:
    record = daemon.call("jobs.submit", {"kind": "command", "target": "remote", "wait": False, "argv": [
        "sh", "-c", "echo up; sleep 300"]})
    wait_until(lambda: daemon.call("jobs.get", {"id": record["id"]})["remote"], 60, "the remote job")
    remote_id = daemon.call("jobs.get", {"id": record["id"]})["remote"]["id"]
    wait_until(lambda: "up" in daemon.call("jobs.logs", {"id": record["id"]})["lines"], 60, "its first line")
    daemon.kill9()  # its ssh session dies with it; the remote job runs on, held by its daemon
    time.sleep(0.5)
    assert remote(daemon.start(), "jobs.get", {"id": remote_id})["state"] == "running"
    reaped = daemon.call("jobs.get", {"id": record["id"]})
    assert reaped["state"] == "failed" and reaped["error"]["code"] == "daemon_lost"
    assert "asked to stop" in reaped["error"]["message"]
    wait_until(lambda: remote(daemon, "jobs.get", {"id": remote_id})["state"] == "cancelled", 60,
               "the orphaned remote job to be cancelled")


def test_a_remote_job_reattaches_after_the_session_drops(daemon, remote_home) -> None:
    gate = remote_home.path / "gate"
    record = daemon.call("jobs.submit", {"kind": "command", "target": "remote", "wait": False, "argv": [
        "sh", "-c", f"echo a; while [ ! -e {gate} ]; do sleep 0.05; done; echo b"]})
    wait_until(lambda: "a" in daemon.call("jobs.logs", {"id": record["id"]})["lines"], 60, "its first line")
    ssh = _ssh_children(daemon.pid)
    assert len(ssh) == 1
    os.kill(ssh[0], 9)  # the connection drops; the remote daemon and the job live on
    wait_until(lambda: _ssh_children(daemon.pid) and _ssh_children(daemon.pid) != ssh, 60, "a new session")
    gate.touch()
    final = daemon.call("jobs.wait", {"id": record["id"], "timeout": 60})
    assert final["state"] == "succeeded"
    lines = daemon.call("jobs.logs", {"id": record["id"]})["lines"]
    assert [line for line in lines if not line.startswith("[swampd]")] == ["a", "b"]  # no line twice


def _ssh_children(pid: int) -> list[int]:
    import subprocess

    out = subprocess.run(["ps", "-o", "pid=,comm=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines() if line.split()[1:] == ["ssh"]]


def test_remote_job_state_reaches_subscribers_with_its_target(daemon) -> None:
    with daemon.client() as client:
        client.subscribe(["jobs"])
        record = daemon.call("jobs.submit", {"kind": "command", "target": "remote", "argv": ["true"]})
        states = []
        deadline = time.monotonic() + 30
        while "succeeded" not in states and time.monotonic() < deadline:
            data = client.next_notification(timeout=30)["params"]["data"]
            if data["id"] == record["id"]:
                states.append(data["state"])
                assert data["target"] == "remote"
    assert states == ["queued", "running", "succeeded"]


def test_a_host_lost_for_good_fails_the_job_and_says_the_remote_one_may_run_on(daemon, sshd) -> None:
    record = daemon.call("jobs.submit", {"kind": "command", "target": "remote", "wait": False, "argv": [
        "sh", "-c", "echo up; sleep 300"]})
    wait_until(lambda: "up" in daemon.call("jobs.logs", {"id": record["id"]})["lines"], 60, "its first line")
    remote_id = daemon.call("jobs.get", {"id": record["id"]})["remote"]["id"]
    sshd.stop()  # the host goes away: every reattach is refused
    try:
        for pid in _ssh_children(daemon.pid):
            os.kill(pid, 9)
        final = daemon.call("jobs.wait", {"id": record["id"], "timeout": 120})
    finally:
        sshd.start()
    assert final["state"] == "failed" and final["error"]["code"] == "backend_unavailable"
    assert f"lost host remote while its job {remote_id} ran there" in final["error"]["message"]
    assert remote(daemon, "jobs.get", {"id": remote_id})["state"] == "running"  # it did run on
    assert remote(daemon, "jobs.cancel", {"id": remote_id})["status"] == "cancelled"
