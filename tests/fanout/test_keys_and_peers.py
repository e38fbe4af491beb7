"""canonical_key properties and detaching the waiter of a process that exits."""

from __future__ import annotations

import os
import random
import sys
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from swampd.errors import CallFailed, InvalidParams
from swampd.fanout import Coalescer, canonical_key, while_peer_lives
from swampd.peer import Peer

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=12,
)


def shuffled(value: Any, rng: random.Random) -> Any:
    """The same JSON value with every dict's insertion order shuffled."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [shuffled(v, rng) for v in value]
    return value


@given(st.dictionaries(st.text(max_size=6), json_values, max_size=6), st.integers())
def test_key_ignores_dict_order(params: dict[str, Any], seed: int) -> None:
    again = shuffled(params, random.Random(seed))
    assert canonical_key("m", params, "/r") == canonical_key("m", again, "/r")


@given(st.dictionaries(st.text(max_size=6), json_values, min_size=1, max_size=6))
def test_key_changes_with_any_value(params: dict[str, Any]) -> None:
    name = sorted(params)[0]
    changed = {**params, name: ["changed", params[name]]}
    assert canonical_key("m", params) != canonical_key("m", changed)


def test_non_json_params_are_refused() -> None:
    with pytest.raises(InvalidParams):
        canonical_key("m", {"x": object()})


@pytest.mark.anyio
async def test_waiter_of_an_exited_process_detaches_and_cancels_the_work() -> None:
    client = await anyio.open_process([sys.executable, "-c", "import time; time.sleep(3600)"])
    peer = Peer(pid=client.pid, uid=os.getuid(), gid=os.getgid())
    work_cancelled = anyio.Event()

    async def work() -> None:
        try:
            await anyio.sleep_forever()
        finally:
            work_cancelled.set()

    errors: list[CallFailed] = []
    async with Coalescer() as co:
        async def caller() -> None:
            try:
                await while_peer_lives(peer, lambda: co.run("k", work, method="m", peer=peer),
                                       poll=0.02)
            except CallFailed as exc:
                errors.append(exc)

        async with anyio.create_task_group() as tg:
            tg.start_soon(caller)
            with anyio.fail_after(10):
                while co.get("k") is None:
                    await anyio.sleep(0.01)
            client.kill()
            await client.wait()
        with anyio.fail_after(10):
            await work_cancelled.wait()
    assert len(errors) == 1 and errors[0].data.get("detached") is True


@pytest.mark.anyio
async def test_while_peer_lives_passes_results_and_errors_through() -> None:
    me = Peer(pid=os.getppid(), uid=os.getuid(), gid=os.getgid())

    async def ok() -> int:
        return 7

    async def bad() -> int:
        raise InvalidParams("nope")

    assert await while_peer_lives(me, ok) == 7
    with pytest.raises(InvalidParams):
        await while_peer_lives(me, bad)
    assert await while_peer_lives(None, ok) == 7
