"""The model-name lookup reads only regular files inside the repo, and never blocks a thread."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import anyio
import pytest

from swampd.client import RpcError
from swampd.workers import CallerShares, bind_caller, run_sync
from tests.storage.conftest import write_marker


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / ".swamp").mkdir(parents=True)
    write_marker(repo, None)
    return repo


def put(client, repo: Path, model_type: str, model: str, name: str = "out") -> dict:
    return client.call("data.put", {"repo": str(repo), "type": model_type, "model": model, "name": name,
                                    "content": "x"})


def test_an_absolute_type_never_reads_a_model_outside_the_repo(daemon, repo, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "m.yaml").write_text("id: stolen-id\n")
    with daemon.client(timeout=30) as c:
        reply = put(c, repo, str(outside), "m")
    assert reply["model_id"] == "m"  # not a model of this repo: the name is taken as the id


def test_a_symlinked_model_file_out_of_the_repo_is_not_followed(daemon, repo, tmp_path):
    (tmp_path / "secret.yaml").write_text("id: stolen-id\n")
    (repo / "models" / "command" / "shell").mkdir(parents=True)
    os.symlink(tmp_path / "secret.yaml", repo / "models" / "command" / "shell" / "m.yaml")
    with daemon.client(timeout=30) as c:
        assert put(c, repo, "command/shell", "m")["model_id"] == "m"


def test_a_model_name_with_a_path_is_refused_before_anything_is_opened(daemon, repo):
    (repo / "models" / "command").mkdir(parents=True)
    os.mkfifo(repo / "models" / "x.yaml")  # what `command` + `../x` would open: opening it would block
    with daemon.client(timeout=10) as c:
        for bad in ("../../x", "../x", "a/b", ".."):
            with pytest.raises(RpcError) as info:
                put(c, repo, "command", bad)
            assert info.value.kind == "invalid_params", bad


def test_a_fifo_model_file_blocks_nothing_and_starves_no_one(daemon, repo):
    fifo_dir = repo / "models" / "command" / "shell"
    fifo_dir.mkdir(parents=True)
    os.mkfifo(fifo_dir / "trap.yaml")
    (fifo_dir / "real.yaml").write_text("id: 0b4a8b5e-9a35-4c39-8d52-0c4f3f2b6a11\n")
    errors: list[BaseException] = []

    def trap() -> None:
        try:
            with daemon.client(timeout=30) as c:
                put(c, repo, "command/shell", "trap")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    callers = [threading.Thread(target=trap) for _ in range(45)]  # more than anyio's 40 worker threads
    for t in callers:
        t.start()
    with daemon.client(timeout=20) as c:
        reply = put(c, repo, "command/shell", "real")
    assert reply["model_id"] == "0b4a8b5e-9a35-4c39-8d52-0c4f3f2b6a11"
    for t in callers:
        t.join(30)
    assert not errors, errors[:3]


def test_one_caller_holds_at_most_its_share_of_the_worker_threads():
    async def main() -> tuple[int, bool]:
        shares = CallerShares(per_caller=3)
        release = threading.Event()
        running = 0
        peak = 0
        lock = threading.Lock()

        def block() -> None:
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            release.wait(10)
            with lock:
                running -= 1

        async def hostile_call() -> None:
            bind_caller(shares.acquire(111))
            await run_sync(block)

        other_done = False

        async def other_caller() -> None:
            nonlocal other_done
            bind_caller(shares.acquire(222))
            await run_sync(time.sleep, 0)
            other_done = True

        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(hostile_call)
            await anyio.sleep(0.5)
            tg.start_soon(other_caller)
            with anyio.fail_after(10):
                while not other_done:
                    await anyio.sleep(0.01)
            release.set()
        return peak, other_done

    peak, other_done = anyio.run(main)
    assert peak == 3 and other_done
