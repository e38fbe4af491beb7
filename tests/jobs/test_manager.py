"""JobManager with the real stand-in swamp processes, under anyio (no daemon process)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from swampd.errors import InvalidParams, NotFound
from swampd.fanout import Coalescer
from swampd.jobs.manager import JobManager
from swampd.jobs.process import pid_alive
from swampd.jobs.store import JobStore

from .conftest import make_manager
from .helpers import all_gone, executions, overlaps, recorded_pids, wait_for

pytestmark = pytest.mark.anyio


def spec(repo: str, model: str = "m1", method: str = "sync", **inputs: Any) -> dict[str, Any]:
    return {"model": model, "method": method, "inputs": inputs, "repo": repo}


async def submit_many(manager: JobManager, specs: list[dict[str, Any]], **kw: Any) -> list[dict]:
    results: list[dict[str, Any]] = [{}] * len(specs)

    async def one(i: int) -> None:
        results[i] = await manager.submit("swamp", specs[i], **kw)

    async with anyio.create_task_group() as tg:
        for i in range(len(specs)):
            tg.start_soon(one, i)
    return results


async def gated_submit_many(manager: JobManager, specs: list[dict[str, Any]], gate: Path,
                            **kw: Any) -> list[dict]:
    """Submit all at once; the stand-ins wait on `gate`, opened once every caller waits."""
    results: list[dict[str, Any]] = [{}] * len(specs)

    async def one(i: int) -> None:
        results[i] = await manager.submit("swamp", specs[i], **kw)

    async with anyio.create_task_group() as tg:
        for i in range(len(specs)):
            tg.start_soon(one, i)
        await wait_for(lambda: manager._coalescer.stats()["waiters"] == len(specs))
        await anyio.to_thread.run_sync(gate.touch)
    return results


async def test_identical_runs_execute_once_and_share_the_result(
    manager: JobManager, repo: str, fake_env: dict[str, str], tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    results = await gated_submit_many(manager, [spec(repo, gate=str(gate))] * 50, gate)
    assert len(executions(fake_env)) == 1
    assert all(r == results[0] for r in results[1:])
    first = results[0]
    assert first["state"] == "succeeded" and first["exit_code"] == 0
    assert first["result"]["status"] == "succeeded"
    assert first["result"]["modelName"] == "m1" and first["result"]["methodName"] == "sync"
    assert first["result"]["methodArguments"] == {"gate": str(gate)}
    assert len(await manager.list()) == 1


async def test_no_dedupe_runs_every_call_serialized_per_model(
    manager: JobManager, repo: str, fake_env: dict[str, str]
) -> None:
    results = await submit_many(manager, [spec(repo, sleep="0.05")] * 10, dedupe=False)
    assert len(executions(fake_env)) == 10
    assert len({r["id"] for r in results}) == 10
    assert all(r["state"] == "succeeded" for r in results)
    assert overlaps(fake_env) == []  # never two runs of one model at once


async def test_different_models_run_concurrently_up_to_the_host_limit(
    tmp_path: Path, fake_env: dict[str, str], repo: str, coalescer: Coalescer
) -> None:
    manager = make_manager(tmp_path / "s2", fake_env, coalescer, max_concurrent=2)
    await manager.start()
    try:
        gate = tmp_path / "gate"
        specs = [spec(repo, model=f"m{i}", gate=str(gate)) for i in range(4)]
        async with anyio.create_task_group() as tg:
            for s in specs:
                tg.start_soon(manager.submit, "swamp", s)
            await wait_for(lambda: len(executions(fake_env)) == 2)
            await wait_for(lambda: len(manager._live) == 4)
            states = sorted([(await manager.get(i))["state"] for i in list(manager._live)])
            assert states == ["queued", "queued", "running", "running"]
            await anyio.to_thread.run_sync(gate.touch)
        assert len(executions(fake_env)) == 4
    finally:
        await manager.aclose()


async def test_different_args_are_never_merged(
    manager: JobManager, repo: str, fake_env: dict[str, str], tmp_path: Path
) -> None:
    gate = str(tmp_path / "gate")
    specs = [spec(repo, n=str(i), gate=gate) for i in range(5)] + [
        spec(repo, model="m2", gate=gate), spec(repo, method="other", gate=gate)]
    results = await gated_submit_many(manager, specs, tmp_path / "gate")
    assert len(executions(fake_env)) == 7
    assert len({r["id"] for r in results}) == 7
    assert sorted(e["inputs"].get("n", "") for e in executions(fake_env)) == ["", "", "0", "1", "2", "3", "4"]


async def test_failure_reaches_every_waiter_and_the_next_call_runs_again(
    manager: JobManager, repo: str, fake_env: dict[str, str], tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    failing = spec(repo, gate=str(gate), fail="method_execution_failed")
    results = await gated_submit_many(manager, [failing] * 10, gate)
    assert len(executions(fake_env)) == 1
    assert all(r == results[0] for r in results)
    assert results[0]["state"] == "failed"
    assert results[0]["exit_code"] == 1
    assert results[0]["error"]["code"] == "method_execution_failed"
    again = await manager.submit("swamp", failing)
    assert len(executions(fake_env)) == 2
    assert again["id"] != results[0]["id"] and again["state"] == "failed"


async def test_lock_timeout_exit_code_is_kept(manager: JobManager, repo: str) -> None:
    result = await manager.submit("swamp", spec(repo, fail="lock_timeout"))
    assert result["exit_code"] == 75 and result["error"]["code"] == "lock_timeout"


async def test_a_waiter_leaving_does_not_disturb_the_others(
    manager: JobManager, repo: str, fake_env: dict[str, str], tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    s = spec(repo, gate=str(gate))
    got: list[dict[str, Any]] = []
    leaver = anyio.CancelScope()

    async def leave_early() -> None:
        with leaver:
            await manager.submit("swamp", s)

    async def stay() -> None:
        got.append(await manager.submit("swamp", s))

    async with anyio.create_task_group() as tg:
        tg.start_soon(leave_early)
        await wait_for(lambda: len(executions(fake_env)) == 1)
        tg.start_soon(stay)
        tg.start_soon(stay)
        await wait_for(lambda: _waiters(manager) == 3)
        leaver.cancel()
        await wait_for(lambda: _waiters(manager) == 2)
        await anyio.to_thread.run_sync(gate.touch)
    assert len(executions(fake_env)) == 1
    assert [r["state"] for r in got] == ["succeeded", "succeeded"]
    assert got[0] == got[1]


def _waiters(manager: JobManager) -> int:
    return sum(f["waiters"] for f in manager._coalescer.inflight())


async def test_when_every_waiter_leaves_the_run_is_cancelled_and_its_tree_is_gone(
    manager: JobManager, repo: str, fake_env: dict[str, str]
) -> None:
    s = spec(repo, sleep="3600", grandchildren="2")
    scopes = [anyio.CancelScope() for _ in range(3)]

    async def waiter(scope: anyio.CancelScope) -> None:
        with scope:
            await manager.submit("swamp", s)

    async with anyio.create_task_group() as tg:
        for scope in scopes:
            tg.start_soon(waiter, scope)
        await wait_for(lambda: len(recorded_pids(fake_env)) == 3 and _waiters(manager) == 3)
        for scope in scopes:
            scope.cancel()
    pids = recorded_pids(fake_env)
    assert len(pids) == 3
    await wait_for(lambda: not manager._live)
    assert await all_gone(pids)
    [job] = await manager.list()
    assert job["state"] == "cancelled" and job["error"]["code"] == "cancelled"


async def test_cancel_kills_a_tree_that_ignores_sigterm(
    manager: JobManager, repo: str, fake_env: dict[str, str]
) -> None:
    job = await manager.submit("swamp", spec(repo, sleep="3600", grandchildren="3", ignore_term="true"),
                               wait=False)
    await wait_for(lambda: len(recorded_pids(fake_env)) == 4)
    pids = recorded_pids(fake_env)
    assert all(pid_alive(p) for p in pids)
    answer = await manager.cancel(job["id"])
    assert answer == {"id": job["id"], "status": "cancelled", "state": "cancelled"}
    assert await all_gone(pids)
    record = await manager.get(job["id"])
    assert record["state"] == "cancelled" and record["exit_code"] == -9


async def test_cancel_answers_cancellation_requested_while_still_stopping(
    manager: JobManager, repo: str, fake_env: dict[str, str]
) -> None:
    job = await manager.submit("swamp", spec(repo, sleep="3600", ignore_term="true"), wait=False)
    await wait_for(lambda: len(recorded_pids(fake_env)) == 1)
    answer = await manager.cancel(job["id"], wait=0)
    assert answer["status"] == "cancellation_requested" and answer["state"] == "running"
    final = await manager.wait(job["id"])
    assert final["state"] == "cancelled"
    again = await manager.cancel(job["id"])
    assert again == {"id": job["id"], "status": "not_running", "state": "cancelled"}


async def test_detached_job_runs_on_and_can_be_waited_for(
    manager: JobManager, repo: str, fake_env: dict[str, str], tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    job = await manager.submit("swamp", spec(repo, gate=str(gate)), wait=False)
    assert job["state"] in ("queued", "running") and job["held"] is True
    assert _waiters(manager) == 0
    # an identical waiting call joins the detached run
    joined: list[dict[str, Any]] = []

    async def join() -> None:
        joined.append(await manager.submit("swamp", spec(repo, gate=str(gate))))

    async with anyio.create_task_group() as tg:
        tg.start_soon(join)
        await wait_for(lambda: _waiters(manager) == 1)
        await anyio.to_thread.run_sync(gate.touch)
    assert joined[0]["id"] == job["id"]
    assert (await manager.wait(job["id"]))["state"] == "succeeded"
    assert len(executions(fake_env)) == 1


async def test_command_jobs(manager: JobManager, tmp_path: Path) -> None:
    ok = await manager.submit("command", {"argv": [sys.executable, "-c", "print('hi')"],
                                          "cwd": str(tmp_path), "env": {"X": "1"}})
    assert ok["state"] == "succeeded" and ok["exit_code"] == 0
    assert (await manager.logs(ok["id"]))["lines"] == ["hi"]
    bad = await manager.submit("command", {"argv": [sys.executable, "-c", "raise SystemExit(3)"]})
    assert bad["state"] == "failed" and bad["exit_code"] == 3
    missing = await manager.submit("command", {"argv": ["/nonexistent/binary"]})
    assert missing["state"] == "failed" and "no such file" in missing["error"]["message"]
    env = await manager.submit("command", {"argv": [sys.executable, "-c",
                                                    "import os; print(os.environ['X'])"],
                                           "env": {"X": "from-spec"}})
    assert (await manager.logs(env["id"]))["lines"] == ["from-spec"]


async def test_follow_streams_lines_until_the_job_ends(manager: JobManager) -> None:
    code = "import time\nfor i in range(5):\n    print(f'line {i}', flush=True)\n    time.sleep(0.1)\n"
    job = await manager.submit("command", {"argv": [sys.executable, "-c", code]}, wait=False)
    lines: list[str] = []
    async for batch in manager.follow(job["id"]):
        lines.extend(batch)
    assert lines == [f"line {i}" for i in range(5)]
    assert (await manager.get(job["id"]))["state"] == "succeeded"


async def test_bad_params_are_refused(manager: JobManager, repo: str) -> None:
    with pytest.raises(InvalidParams):
        await manager.submit("swamp", {"model": "m"})
    with pytest.raises(InvalidParams):
        await manager.submit("nope", {})
    with pytest.raises(InvalidParams):
        await manager.submit("swamp", {**spec(repo), "surprise": 1})
    with pytest.raises(NotFound):
        await manager.submit("swamp", spec(repo + "/missing"))
    with pytest.raises(NotFound):
        await manager.get("nope")


async def test_records_persist_in_sqlite(manager: JobManager, repo: str, tmp_path: Path) -> None:
    done = await manager.submit("swamp", spec(repo))
    store = JobStore(str(tmp_path / "state" / "jobs.sqlite3"))
    store.open()
    try:
        job = store.get(done["id"])
    finally:
        store.close()
    assert job is not None
    assert job.state == "succeeded" and job.pid == done["pid"] and job.pgid == done["pgid"]
    assert job.waiters == 1 and job.exit_code == 0 and job.started_at and job.ended_at
    assert job.result == done["result"] and job.log_path
    assert await anyio.to_thread.run_sync(Path(job.log_path).read_text) == "running m1.sync\n"


async def test_jobs_of_a_live_daemon_are_not_reaped(
    tmp_path: Path, fake_env: dict[str, str], coalescer: Coalescer
) -> None:
    """A `--no-daemon` CLI builds its own manager on the same database: hands off."""
    from swampd.jobs.states import Job, JobKind, JobState

    owner = await anyio.open_process([sys.executable, "-c", "import time; time.sleep(3600)"])
    try:
        store = JobStore(str(tmp_path / "state" / "jobs.sqlite3"))
        store.open()
        live = Job(id="live", kind=JobKind.COMMAND, state=JobState.RUNNING, spec={"argv": ["x"]},
                   pid=owner.pid, pgid=owner.pid, daemon_pid=owner.pid)
        dead = Job(id="dead", kind=JobKind.COMMAND, state=JobState.QUEUED, spec={"argv": ["x"]},
                   daemon_pid=None)
        store.save(live)
        store.save(dead)
        store.close()
        manager = make_manager(tmp_path / "state", fake_env, coalescer)
        await manager.start()
        try:
            assert (await manager.get("live"))["state"] == "running"
            assert (await manager.get("dead"))["state"] == "cancelled"
            assert [r["id"] for r in manager.reaped] == ["dead"]
        finally:
            await manager.aclose()
        assert owner.returncode is None
    finally:
        owner.kill()
        await owner.wait()


async def test_wait_timeout_list_filter_and_cancel_all(
    manager: JobManager, repo: str, fake_env: dict[str, str]
) -> None:
    from swampd.errors import Timeout

    a = await manager.submit("swamp", spec(repo, model="a", sleep="3600"), wait=False)
    b = await manager.submit("swamp", spec(repo, model="b", sleep="3600"), wait=False)
    await wait_for(lambda: len(recorded_pids(fake_env)) == 2)
    with pytest.raises(Timeout):
        await manager.wait(a["id"], timeout=0.05)
    running = await manager.list(["running"])
    assert sorted(j["id"] for j in running) == sorted([a["id"], b["id"]])
    assert await manager.list(["succeeded"]) == []
    with pytest.raises(InvalidParams):
        await manager.list(["bogus"])
    # created_since: only the jobs created then or later (what the console asks for new jobs)
    later = await manager.list(created_since=b["created_at"])
    assert [j["id"] for j in later] == [b["id"]]
    assert [j["id"] for j in await manager.list(created_since=b["created_at"] + 1)] == []
    assert len(await manager.list(created_since=0)) == 2
    answers = await manager.cancel_all()
    assert sorted((x["id"], x["status"]) for x in answers) == sorted(
        [(a["id"], "cancelled"), (b["id"], "cancelled")])
    assert await all_gone(recorded_pids(fake_env))
    assert manager.busy_reason() is None


async def test_a_job_that_cannot_open_its_log_fails_cleanly(manager: JobManager, tmp_path: Path) -> None:
    log_dir = tmp_path / "state" / "jobs"

    def break_log_dir() -> None:
        for entry in log_dir.iterdir():
            entry.unlink()
        log_dir.rmdir()
        log_dir.write_text("not a directory")

    await anyio.to_thread.run_sync(break_log_dir)
    record = await manager.submit("command", {"argv": [sys.executable, "-c", "pass"]})
    assert record["state"] == "failed" and record["error"]["code"] == "internal"
    assert manager.busy_reason() is None
