"""`swampd run`, `swamp jobs`, `swamp calls`: the real console scripts against a real daemon."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from swampd.jobs.process import pid_alive
from tests.conftest import wait_until

from .helpers import executions, overlaps, recorded_pids

SWAMP = str(Path(sys.executable).parent / "swamp")
SWAMPD = str(Path(sys.executable).parent / "swampd")


def swamp_all(commands: list[list[str]], env: dict[str, str]) -> list[tuple[int, str, str]]:
    """Start every `swampd ...` at once (separate client processes); collect rc, stdout, stderr."""
    procs = [subprocess.Popen([SWAMPD, *a], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for a in commands]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=300)
        out.append((p.returncode, stdout, stderr))
    return out


def gated(daemon: Any, commands: list[list[str]], gate: Path, waiters: int) -> list[tuple[int, str, str]]:
    """Run the commands at once; open the gate when `waiters` callers wait on flights."""
    procs = [subprocess.Popen([SWAMPD, *a], env=daemon.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for a in commands]
    wait_until(lambda: daemon.call("calls.stats")["waiters"] >= waiters)
    gate.touch()
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=300)
        out.append((p.returncode, stdout, stderr))
    return out


def test_fifty_identical_cli_runs_execute_once(
    daemon: Any, repo: str, fake_env: dict[str, str], tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    cmd = ["--json", "run", "m1", "sync", "--arg", f"gate={gate}", "--arg", "x=1", "--repo", repo]
    results = gated(daemon, [cmd] * 50, gate, 50)
    assert len(executions(fake_env)) == 1
    assert {rc for rc, _, _ in results} == {0}
    assert len({out for _, out, _ in results}) == 1
    view = json.loads(results[0][1])
    assert view["status"] == "succeeded" and view["modelName"] == "m1"
    assert view["methodArguments"] == {"gate": str(gate), "x": "1"}


def test_no_dedupe_runs_fifty_times_serialized(daemon: Any, repo: str, fake_env: dict[str, str]) -> None:
    cmd = ["--json", "run", "m1", "sync", "--arg", "x=1", "--repo", repo, "--no-dedupe"]
    results = swamp_all([cmd] * 50, daemon.env)
    assert {rc for rc, _, _ in results} == {0}
    assert len(executions(fake_env)) == 50
    assert len({json.loads(out)["outputId"] for _, out, _ in results}) == 50
    assert overlaps(fake_env) == []


def test_different_args_are_never_merged(
    daemon: Any, repo: str, fake_env: dict[str, str], tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    cmds = [["--json", "run", "m1", "sync", "--arg", f"x={i}", "--arg", f"gate={gate}",
             "--repo", repo] for i in range(5)]
    results = gated(daemon, cmds * 4, gate, 20)
    assert {rc for rc, _, _ in results} == {0}
    assert sorted(e["inputs"]["x"] for e in executions(fake_env)) == ["0", "1", "2", "3", "4"]
    for i, (_, out, _) in enumerate(results):
        assert json.loads(out)["methodArguments"]["x"] == str(i % 5)


def test_failure_reaches_every_cli_waiter_and_the_next_runs_again(
    daemon: Any, repo: str, fake_env: dict[str, str], tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    cmd = ["--json", "run", "m1", "sync", "--arg", "fail=lock_timeout", "--arg", f"gate={gate}",
           "--repo", repo]
    results = gated(daemon, [cmd] * 10, gate, 10)
    assert len(executions(fake_env)) == 1
    assert {rc for rc, _, _ in results} == {75}
    assert len({err for _, _, err in results}) == 1
    error = json.loads(results[0][2].strip().splitlines()[-1])
    assert error["code"] == "lock_timeout" and "failed" in error["error"]
    rc, _, _ = swamp_all([cmd], daemon.env)[0]
    assert rc == 75 and len(executions(fake_env)) == 2


def test_detach_ls_show_logs_wait(daemon: Any, run_cli: Any, run_swampd: Any, repo: str,
                                  fake_env: dict[str, str]) -> None:
    submitted = run_swampd("--json", "run", "m1", "sync", "--arg", "sleep=0.5", "--repo", repo, "--detach")
    assert submitted.returncode == 0, submitted
    job_id = submitted.json()["id"]
    waited = run_cli("--json", "jobs", "wait", job_id)
    assert waited.returncode == 0, waited
    assert waited.json()["modelName"] == "m1"
    listed = run_cli("--json", "jobs", "ls")
    assert [j["id"] for j in listed.json()["jobs"]] == [job_id]
    assert listed.json()["jobs"][0]["state"] == "succeeded"
    shown = run_cli("jobs", "show", job_id)
    assert "succeeded" in shown.stdout and job_id in shown.stdout
    logs = run_cli("jobs", "logs", job_id)
    assert logs.stdout == "running m1.sync\n"
    human = run_cli("jobs", "ls")
    assert job_id in human.stdout and "m1.sync" in human.stdout


def test_logs_follow_streams_until_the_end(daemon: Any, run_cli: Any, tmp_path: Path) -> None:
    code = "import time\nfor i in range(5):\n    print(f'line {i}', flush=True)\n    time.sleep(0.2)\n"
    job = daemon.call("jobs.submit", {"kind": "command", "argv": [sys.executable, "-c", code],
                                      "wait": False})
    followed = run_cli("jobs", "logs", "-f", job["id"])
    assert followed.returncode == 0, followed
    assert followed.stdout.splitlines() == [f"line {i}" for i in range(5)]


def test_cancel_kills_the_tree_and_says_so(daemon: Any, run_cli: Any, run_swampd: Any, repo: str,
                                           fake_env: dict[str, str]) -> None:
    submitted = run_swampd("--json", "run", "m1", "slow", "--arg", "sleep=3600", "--arg", "grandchildren=3",
                        "--repo", repo, "--detach")
    job_id = submitted.json()["id"]
    wait_until(lambda: len(recorded_pids(fake_env)) == 4)
    calls = run_cli("--json", "calls")
    [flight] = calls.json()["calls"]
    assert flight["model"] == "m1" and flight["held"] is True
    assert "m1" in run_cli("calls").stdout
    pids = recorded_pids(fake_env)
    cancelled = run_cli("--json", "jobs", "cancel", job_id)
    assert cancelled.json() == {"id": job_id, "status": "cancelled", "state": "cancelled"}
    wait_until(lambda: not any(pid_alive(p) for p in pids))
    waited = run_cli("--json", "jobs", "wait", job_id)
    assert waited.returncode == 130
    assert json.loads(waited.stderr.strip().splitlines()[-1])["code"] == "cancelled"
    again = run_cli("--json", "jobs", "cancel", "--all")
    assert again.json() == {"cancelled": []}


def test_run_without_daemon_runs_swamp_directly(run_swampd: Any, daemon_env: dict[str, str], repo: str,
                                                fake_env: dict[str, str]) -> None:
    result = run_swampd("--json", "--no-daemon", "run", "m9", "sync", "--arg", "k=v", "--repo", repo)
    assert result.returncode == 0, result
    assert result.json()["modelName"] == "m9"
    assert len(executions(fake_env)) == 1
    failed = run_swampd("--json", "--no-daemon", "run", "m9", "sync", "--arg", "fail=unknown_method",
                     "--repo", repo)
    assert failed.returncode == 1
    assert json.loads(failed.stderr[failed.stderr.index("{"):])["code"] == "unknown_method"


def test_run_refuses_our_own_console_script(run_swampd: Any, daemon_env: dict[str, str], repo: str) -> None:
    env = {**daemon_env, "SWAMPD_SWAMP_EXECUTABLE": SWAMP}
    result = run_swampd("--json", "--no-daemon", "run", "m1", "sync", "--repo", repo, env=env)
    assert result.returncode != 0
    assert json.loads(result.stderr.strip().splitlines()[-1])["code"] == "invalid_input"


def test_no_daemon_cli_leaves_the_daemons_jobs_alone(
    daemon: Any, run_cli: Any, repo: str, fake_env: dict[str, str]
) -> None:
    job = daemon.call("jobs.submit", {"model": "m1", "method": "slow", "repo": repo, "wait": False,
                                      "inputs": {"sleep": "3600"}})
    wait_until(lambda: len(recorded_pids(fake_env)) == 1)
    listed = run_cli("--json", "--no-daemon", "jobs", "ls")
    assert listed.returncode == 0, listed
    assert [j["state"] for j in listed.json()["jobs"]] == ["running"]
    assert pid_alive(recorded_pids(fake_env)[0])
    assert daemon.call("jobs.get", {"id": job["id"]})["state"] == "running"
