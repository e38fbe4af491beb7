"""Helpers shared by the job tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio

from swampd.jobs.process import pid_alive


def executions(env: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(env["FAKE_SWAMP_COUNT"])
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def recorded_pids(env: dict[str, str]) -> list[int]:
    path = Path(env["FAKE_SWAMP_PIDS"])
    if not path.exists():
        return []
    return [int(p) for line in path.read_text().splitlines() for p in line.split()]


def overlaps(env: dict[str, str]) -> list[str]:
    path = Path(env["FAKE_SWAMP_ACTIVE"]) / "overlaps"
    return path.read_text().split() if path.exists() else []


async def wait_for(predicate: Any, timeout: float = 30.0) -> None:
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.02)


async def all_gone(pids: list[int], timeout: float = 30.0) -> bool:
    """True once none of `pids` is alive (zombies count as gone)."""
    with anyio.move_on_after(timeout):
        while any(pid_alive(p) for p in pids):
            await anyio.sleep(0.05)
        return True
    return False
