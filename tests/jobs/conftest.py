from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from swampd.fanout import Coalescer
from swampd.jobs.manager import JobManager
from swampd.jobs.settings import JobSettings
from swampd.jobs.store import JobStore

FAKE_SWAMP = str(Path(__file__).resolve().parent.parent / "fixtures" / "fake_swamp.py")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def fake_env(tmp_path: Path) -> dict[str, str]:
    """Env for the stand-in: where it counts executions, records pids and overlaps."""
    active = tmp_path / "active"
    active.mkdir()
    return {
        **os.environ,
        "FAKE_SWAMP_COUNT": str(tmp_path / "count"),
        "FAKE_SWAMP_PIDS": str(tmp_path / "pids"),
        "FAKE_SWAMP_ACTIVE": str(active),
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
    }


@pytest.fixture
def repo(tmp_path: Path) -> str:
    path = tmp_path / "repo"
    path.mkdir()
    return str(path)


def make_manager(state: Path, env: dict[str, str], co: Coalescer, **settings: object) -> JobManager:
    opts: dict[str, object] = {"swamp_executable": FAKE_SWAMP, "max_concurrent": 8, "kill_grace": 2.0}
    opts.update(settings)
    return JobManager(
        JobSettings(**opts),  # type: ignore[arg-type]
        store=JobStore(str(state / "jobs.sqlite3")),
        coalescer=co,
        log_dir=str(state / "jobs"),
        base_env=env,
    )


@pytest.fixture
async def coalescer() -> AsyncIterator[Coalescer]:
    async with Coalescer() as co:
        yield co


@pytest.fixture
async def manager(tmp_path: Path, fake_env: dict[str, str], coalescer: Coalescer) -> AsyncIterator[JobManager]:
    m = make_manager(tmp_path / "state", fake_env, coalescer)
    await m.start()
    try:
        yield m
    finally:
        await m.aclose()


@pytest.fixture
def daemon_env(daemon_env: dict[str, str], fake_env: dict[str, str]) -> dict[str, str]:
    """The daemon runs the stand-in swamp; its counters live in the test's tmp dir."""
    extra = {k: v for k, v in fake_env.items() if k.startswith("FAKE_SWAMP_")}
    return {**daemon_env, "SWAMPD_SWAMP_EXECUTABLE": FAKE_SWAMP,
            "SWAMPD_JOBS_MAX_CONCURRENT": "8", **extra}
