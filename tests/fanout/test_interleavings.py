"""Randomized interleavings of callers joining, leaving and flights finishing or failing."""

from __future__ import annotations

import random
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from swampd.errors import CallFailed, InvalidInput
from swampd.fanout import Coalescer

pytestmark = pytest.mark.anyio


async def steps(n: int) -> None:
    for _ in range(n):
        await anyio.lowlevel.checkpoint()


@pytest.mark.parametrize("seed", range(25))
async def test_random_interleavings_keep_the_invariants(seed: int) -> None:
    rng = random.Random(seed)
    keys = ["a", "b", "c"]
    executions: dict[str, int] = dict.fromkeys(keys, 0)
    started: list[str] = []
    outcomes: list[tuple[str, str, Any]] = []

    def make_fn(key: str, run_no: int, fail: bool, length: int) -> Any:
        async def fn() -> str:
            executions[key] += 1
            started.append(f"{key}{run_no}")
            await steps(length)
            if fail:
                raise InvalidInput(f"{key} run {run_no} failed")
            return f"{key}{run_no}"
        return fn

    async with Coalescer() as co:
        async def caller(i: int) -> None:
            key = rng.choice(keys)
            await steps(rng.randrange(0, 40))
            fn = make_fn(key, i, fail=rng.random() < 0.3, length=rng.randrange(1, 30))
            leave_after = rng.randrange(1, 60) if rng.random() < 0.3 else None
            with anyio.CancelScope() as scope:
                if leave_after is not None:
                    async def leave() -> None:
                        await steps(leave_after)
                        scope.cancel()
                    async with anyio.create_task_group() as tg:
                        tg.start_soon(leave)
                        try:
                            value = await co.run(key, fn, method="m")
                            outcomes.append((key, "ok", value))
                        except (InvalidInput, CallFailed) as exc:
                            outcomes.append((key, type(exc).__name__, exc.message))
                        tg.cancel_scope.cancel()
                    return
                try:
                    value = await co.run(key, fn, method="m")
                    outcomes.append((key, "ok", value))
                except (InvalidInput, CallFailed) as exc:
                    outcomes.append((key, type(exc).__name__, exc.message))
            if scope.cancelled_caught:
                outcomes.append((key, "left", None))

        async with anyio.create_task_group() as tg:
            for i in range(30):
                tg.start_soon(caller, i)
        stats = co.stats()
        assert stats["flights"] == 0 and stats["waiters"] == 0
    # every execution is one flight; nothing ran twice for one flight
    assert sum(executions.values()) == len(started) == stats["flights_total"]
    assert stats["calls_total"] == 30
    # every answer a caller got came from a run of its own key
    for key, kind, value in outcomes:
        if kind == "ok":
            assert value.startswith(key) and value in started
        elif kind == "InvalidInput":
            assert value.startswith(f"{key} run ")
        elif kind == "CallFailed":
            pytest.fail(f"a waiter saw a cancelled flight although it never left: {value}")
