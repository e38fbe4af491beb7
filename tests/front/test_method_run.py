"""`swamp model method run` through the front: identical concurrent runs execute once (the real
swamp, run by the daemon), every caller gets that execution's output and exit code; interrupted
callers leave, the last one leaving cancels the run."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REAL_SWAMP, swamp_command, wait_until

pytestmark = pytest.mark.timeout(900)  # real swamp runs on a shared machine

CALLERS = 20


def make_repo(env: dict[str, str], root: Path, script: str) -> Path:
    repo = root / "repo"
    repo.mkdir()
    for args in (["repo", "init", "--tool", "none", "--json"], ["model", "create", "command/shell", "job", "--json"]):
        done = subprocess.run([str(REAL_SWAMP), *args], cwd=repo, env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr
    definition = repo / "models" / "command" / "shell" / "job.yaml"
    definition.write_text(definition.read_text().replace(
        "methods: {}", f"methods:\n  execute:\n    arguments:\n      run: {script}\n"))
    return repo


def _as_from_a_shell() -> None:
    """Ctrl-C works in the callers as it does for an agent's or a user's `swamp`: a test run started
    in the background by a shell without job control inherits SIGINT ignored (and Python then keeps
    ignoring it), which would make the interrupt tests wait for nothing."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_callers(env: dict[str, str], repo: Path, n: int, *extra: str) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen([*swamp_command(), "model", "method", "run", "job", "execute", *extra],
                             cwd=repo, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, preexec_fn=_as_from_a_shell) for _ in range(n)]


def finish(proc: subprocess.Popen[bytes]) -> tuple[int, bytes, bytes]:
    out, err = proc.communicate(timeout=600)
    return proc.returncode, out, err


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def job_records(daemon: Any) -> list[dict[str, Any]]:
    return [j for j in daemon.call("jobs.list", {"limit": 100})["jobs"] if j["kind"] == "swamp_cli"]


def test_twenty_identical_runs_execute_once_and_all_get_its_output(
        daemon: Any, front_env: dict[str, str], tmp_path: Path) -> None:
    marks = tmp_path / "executions"
    repo = make_repo(front_env, tmp_path, f"sleep 3; echo run >> {marks}; echo from-the-run; echo to-stderr >&2")
    procs = start_callers(front_env, repo, CALLERS, "--json")
    results = [finish(p) for p in procs]
    assert lines(marks) == ["run"]  # one execution
    assert {rc for rc, _, _ in results} == {0}
    assert len({(out, err) for _, out, err in results}) == 1  # 20 identical outputs
    assert b'"stdout": "from-the-run"' in results[0][1]
    assert [(j["state"], j["waiters"]) for j in job_records(daemon)] == [("succeeded", CALLERS)]  # one job
    status = daemon.call("daemon.status")["front"]
    assert status["accelerated_by_command"] == {"model method run": CALLERS}
    # a later identical run is a new execution
    again = start_callers(front_env, repo, 1, "--json")[0]
    assert again.wait(timeout=600) == 0
    assert lines(marks) == ["run", "run"]


def test_a_failing_run_gives_every_caller_swamps_exit_code_and_stderr(
        daemon: Any, front_env: dict[str, str], tmp_path: Path) -> None:
    marks = tmp_path / "executions"
    repo = make_repo(front_env, tmp_path, f"sleep 2; echo run >> {marks}; exit 3")
    procs = start_callers(front_env, repo, 5, "--json")
    results = [finish(p) for p in procs]
    assert lines(marks) == ["run"]
    assert len(set(results)) == 1
    rc, _, err = results[0]
    assert rc != 0 and b'"error"' in err


def _interrupt(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.send_signal(signal.SIGINT)
    for p in procs:
        assert p.wait(timeout=60) == 130


def test_nineteen_interrupted_callers_leave_the_run_going(
        daemon: Any, front_env: dict[str, str], tmp_path: Path) -> None:
    started, finished = tmp_path / "started", tmp_path / "finished"
    repo = make_repo(front_env, tmp_path, f"echo x >> {started}; sleep 8; echo x >> {finished}; echo done")
    procs = start_callers(front_env, repo, CALLERS, "--json")
    wait_until(lambda: started.exists(), timeout=300, what="the run started")
    wait_until(lambda: job_records(daemon) and job_records(daemon)[0]["waiters"] == CALLERS, timeout=60,
               what="every caller joined")
    _interrupt(procs[:-1])
    rc, out, _ = finish(procs[-1])
    assert rc == 0
    assert b'"stdout": "done"' in out
    assert lines(started) == ["x"] and lines(finished) == ["x"]
    assert job_records(daemon)[0]["state"] == "succeeded"


def test_all_callers_interrupted_cancel_the_run(daemon: Any, front_env: dict[str, str], tmp_path: Path) -> None:
    started, finished = tmp_path / "started", tmp_path / "finished"
    repo = make_repo(front_env, tmp_path, f"echo x >> {started}; sleep 600; echo x >> {finished}")
    procs = start_callers(front_env, repo, CALLERS, "--json")
    wait_until(lambda: started.exists(), timeout=300, what="the run started")
    wait_until(lambda: job_records(daemon) and job_records(daemon)[0]["waiters"] == CALLERS, timeout=60,
               what="every caller joined")
    pgid = job_records(daemon)[0]["pgid"]
    _interrupt(procs)
    wait_until(lambda: job_records(daemon)[0]["state"] == "cancelled", timeout=120, what="the run cancelled")
    wait_until(lambda: not _group_alive(pgid), timeout=60, what="its process group gone")
    assert not finished.exists()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_runs_from_a_terminal_and_opt_outs_go_to_swamp(
        daemon: Any, front_env: dict[str, str], tmp_path: Path) -> None:
    marks = tmp_path / "executions"
    repo = make_repo(front_env, tmp_path, f"echo run >> {marks}")
    for env in ({**front_env, "SWAMPD_FRONT_DEDUPE": "0"}, {**front_env, "SWAMPD_FRONT": "off"}):
        done = subprocess.run([*swamp_command(), "model", "method", "run", "job", "execute", "--json"], cwd=repo,
                              env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=600)
        assert done.returncode == 0, done.stderr
    assert lines(marks) == ["run", "run"]
    assert job_records(daemon) == []  # both ran as the real swamp, not as daemon jobs
