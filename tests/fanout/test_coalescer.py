"""The singleflight coalescer, driven directly under anyio (no daemon)."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest

from swampd.errors import CallFailed, InvalidInput, NotFound, ShuttingDown
from swampd.fanout import Coalescer, canonical_key
from swampd.peer import Peer

pytestmark = pytest.mark.anyio


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, topic: str, data: dict[str, Any]) -> None:
        self.events.append((topic, data))

    def types(self) -> list[str]:
        return [d["type"] for _, d in self.events]


def test_canonical_key_ignores_dict_order_but_not_values() -> None:
    a = canonical_key("jobs.submit", {"model": "m", "args": {"x": 1, "y": 2}}, "/repo")
    b = canonical_key("jobs.submit", {"args": {"y": 2, "x": 1}, "model": "m"}, "/repo")
    assert a == b
    assert a != canonical_key("jobs.submit", {"model": "m", "args": {"x": 1, "y": 3}}, "/repo")
    assert a != canonical_key("jobs.submit", {"model": "m", "args": {"x": 1, "y": 2}}, "/other")
    assert a != canonical_key("data.get", {"model": "m", "args": {"x": 1, "y": 2}}, "/repo")


async def test_overlapping_identical_calls_run_once_and_share_result() -> None:
    executions = 0
    gate = anyio.Event()
    results: list[Any] = []

    async def work() -> dict[str, int]:
        nonlocal executions
        executions += 1
        await gate.wait()
        return {"value": 42}

    rec = Recorder()
    async with Coalescer(rec) as co:
        async def caller() -> None:
            results.append(await co.run("k", work, method="m.run", model="mod"))

        async with anyio.create_task_group() as tg:
            for _ in range(20):
                tg.start_soon(caller)
            await wait_until(lambda: co.get("k") is not None and len(co.get("k").waiters) == 20)
            gate.set()
        stats = co.stats()
    assert executions == 1
    assert results == [{"value": 42}] * 20
    assert all(r is results[0] for r in results)
    assert stats["coalesced_total"] == 19
    assert stats["executions_saved"] == 19
    assert stats["flights"] == 0
    assert rec.types().count("call.started") == 1
    assert rec.types().count("call.joined") == 19
    assert rec.types()[-1] == "call.ended"
    assert all(topic == "calls" for topic, _ in rec.events)


async def test_error_reaches_every_waiter_and_is_not_cached() -> None:
    executions = 0
    gate = anyio.Event()

    async def failing() -> None:
        nonlocal executions
        executions += 1
        await gate.wait()
        raise InvalidInput("model exploded", model="m")

    errors: list[BaseException] = []
    async with Coalescer() as co:
        async def caller() -> None:
            try:
                await co.run("k", failing, method="m.run")
            except InvalidInput as exc:
                errors.append(exc)

        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(caller)
            await wait_until(lambda: co.get("k") is not None and len(co.get("k").waiters) == 5)
            gate.set()
        assert executions == 1
        assert len(errors) == 5
        assert {e.message for e in errors} == {"model exploded"}
        assert all(e.data == {"model": "m"} for e in errors)

        # the next call runs again (errors are not cached)
        async def ok() -> str:
            nonlocal executions
            executions += 1
            return "fine"

        assert await co.run("k", ok, method="m.run") == "fine"
        assert executions == 2


async def test_foreign_exception_text_never_reaches_waiters() -> None:
    async def broken() -> None:
        raise RuntimeError("secret=hunter2")

    async with Coalescer() as co:
        with pytest.raises(CallFailed) as info:
            await co.run("k", broken, method="data.get")
    assert "hunter2" not in info.value.message
    assert "RuntimeError" in info.value.message


async def test_waiter_that_leaves_does_not_disturb_the_others() -> None:
    gate = anyio.Event()
    finished = anyio.Event()
    cancelled_work = False

    async def work() -> str:
        nonlocal cancelled_work
        try:
            await gate.wait()
        except anyio.get_cancelled_exc_class():
            cancelled_work = True
            raise
        finished.set()
        return "done"

    results: list[str] = []
    async with Coalescer() as co:
        async def stayer() -> None:
            results.append(await co.run("k", work, method="m"))

        async with anyio.create_task_group() as tg:
            # the leader leaves; the flight must survive for the follower
            leader_scope = anyio.CancelScope()
            tg.start_soon(_run_in_scope, co, "k", work, leader_scope)
            await wait_until(lambda: co.get("k") is not None)
            tg.start_soon(stayer)
            await wait_until(lambda: co.get("k") is not None and len(co.get("k").waiters) == 2)
            leader_scope.cancel()
            await wait_until(lambda: len(co.get("k").waiters) == 1)
            gate.set()
    assert results == ["done"]
    assert not cancelled_work


async def _run_in_scope(co: Coalescer, key: str, fn: Any, scope: anyio.CancelScope) -> None:
    with scope:
        await co.run(key, fn, method="m")


async def test_work_is_cancelled_when_the_last_waiter_leaves() -> None:
    cancelled_work = anyio.Event()
    started = 0

    async def work() -> str:
        nonlocal started
        started += 1
        try:
            await anyio.sleep_forever()
        finally:
            cancelled_work.set()
        return "never"

    async with Coalescer() as co:
        scopes = [anyio.CancelScope() for _ in range(3)]
        async with anyio.create_task_group() as tg:
            for scope in scopes:
                tg.start_soon(_run_in_scope, co, "k", work, scope)
            await wait_until(lambda: co.get("k") is not None and len(co.get("k").waiters) == 3)
            for scope in scopes:
                scope.cancel()
        with anyio.fail_after(5):
            await cancelled_work.wait()
        assert co.get("k") is None
        assert co.stats()["cancelled_total"] == 1
        # a new call after that starts a fresh flight
        async def quick() -> str:
            return "again"

        assert await co.run("k", quick, method="m") == "again"
    assert started == 1


async def test_explicit_cancel_fails_every_waiter_with_cancelled() -> None:
    async def work() -> None:
        await anyio.sleep_forever()

    errors: list[CallFailed] = []
    async with Coalescer() as co:
        async def caller() -> None:
            try:
                await co.run("k", work, method="m")
            except CallFailed as exc:
                errors.append(exc)

        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(caller)
            await wait_until(lambda: co.get("k") is not None and len(co.get("k").waiters) == 3)
            answer = co.cancel("k")
        assert answer["cancelled"] is True and answer["waiters"] == 3
        with pytest.raises(NotFound):
            co.cancel("k")
    assert len(errors) == 3
    assert all(e.data.get("cancelled") is True for e in errors)


async def test_different_keys_are_never_merged() -> None:
    executions: list[str] = []

    async def work_for(name: str) -> Any:
        async def work() -> str:
            executions.append(name)
            await anyio.lowlevel.checkpoint()
            return name
        return work

    out: dict[str, str] = {}
    async with Coalescer() as co:
        async def caller(name: str) -> None:
            out[name] = await co.run(name, await work_for(name), method="m")

        async with anyio.create_task_group() as tg:
            for name in ("a", "b", "c"):
                tg.start_soon(caller, name)
    assert sorted(executions) == ["a", "b", "c"]
    assert out == {"a": "a", "b": "b", "c": "c"}


async def test_inflight_lists_waiting_peers() -> None:
    import os

    gate = anyio.Event()

    async def work() -> int:
        await gate.wait()
        return 1

    me = Peer(pid=os.getpid(), uid=os.getuid(), gid=os.getgid())
    async with Coalescer() as co:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: co.run("k", work, method="jobs.submit", model="m1", peer=me))
            tg.start_soon(lambda: co.run("k", work, method="jobs.submit", model="m1", peer=me))
            await wait_until(lambda: co.get("k") is not None and len(co.get("k").waiters) == 2)
            listing = co.inflight()
            assert co.busy_reason() is not None
            gate.set()
        assert co.busy_reason() is None
    assert len(listing) == 1
    flight = listing[0]
    assert flight["key"] == "k" and flight["method"] == "jobs.submit" and flight["model"] == "m1"
    assert flight["waiters"] == 2
    assert [p["pid"] for p in flight["peers"]] == [os.getpid(), os.getpid()]
    assert "python" in flight["peers"][0]["cmdline"] or "pytest" in flight["peers"][0]["cmdline"]


async def test_the_daemons_own_flights_are_internal_never_null_peers() -> None:
    """A hot-tier read runs without a client peer: no `null` in peers (the console died on it)."""
    import os

    gate = anyio.Event()

    async def work() -> int:
        await gate.wait()
        return 1

    me = Peer(pid=os.getpid(), uid=os.getuid(), gid=os.getgid())
    async with Coalescer() as co:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: co.run("hot:k", work, method="data.read", model="m"))
            await wait_until(lambda: co.get("hot:k") is not None)
            tg.start_soon(lambda: co.run("hot:k", work, method="data.read", model="m", peer=me))
            tg.start_soon(lambda: co.run("job:1", work, method="jobs.command", peer=me, detail="sleep 20"))
            await wait_until(lambda: len(co.get("hot:k").waiters) == 2 and co.get("job:1") is not None)
            await anyio.sleep(0.01)
            listing = {f["key"]: f for f in co.inflight()}
            gate.set()
    hot, job = listing["hot:k"], listing["job:1"]
    assert None not in hot["peers"] and None not in job["peers"]
    assert hot["origin"] == "daemon" and hot["internal_waiters"] == 1 and hot["waiters"] == 2
    assert not hot["internal"]  # a client joined it: it is no longer only the daemon's
    assert [p["pid"] for p in hot["peers"]] == [os.getpid()]
    peer = hot["peers"][0]
    assert peer["ppid"] == os.getppid() and peer["waited"] > 0
    assert isinstance(peer["parent_cmdline"], str)
    assert job["origin"] == "client" and job["detail"] == "sleep 20" and not job["internal"]


async def test_a_flight_only_the_daemon_waits_on_is_internal() -> None:
    gate = anyio.Event()

    async def work() -> int:
        await gate.wait()
        return 1

    async with Coalescer() as co:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lambda: co.run("hot:k", work, method="data.latest"))
            co.hold("job:2", work, method="jobs.command", detail="sleep 20")
            await wait_until(lambda: co.get("hot:k") is not None)
            listing = {f["key"]: f for f in co.inflight()}
            gate.set()
    assert listing["hot:k"]["internal"] and listing["hot:k"]["peers"] == []
    job = listing["job:2"]  # a detached job: a client asked for it, nobody waits
    assert job["origin"] == "job" and not job["internal"] and job["detail"] == "sleep 20"


async def test_run_refused_when_not_started() -> None:
    async def work() -> int:
        return 1

    with pytest.raises(ShuttingDown):
        await Coalescer().run("k", work, method="m")


async def test_aclose_cancels_flights() -> None:
    errors: list[CallFailed] = []

    async def work() -> None:
        await anyio.sleep_forever()

    co = Coalescer()
    await co.start()

    async def caller() -> None:
        try:
            await co.run("k", work, method="m")
        except CallFailed as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(caller)
        await wait_until(lambda: co.get("k") is not None)
        # aclose may be called from any task, inside other cancel scopes
        await co.aclose()
    assert len(errors) == 1 and errors[0].data.get("cancelled") is True


async def wait_until(predicate: Any) -> None:
    with anyio.fail_after(10):
        while not predicate():
            await anyio.sleep(0.001)


async def test_call_coalesces_on_the_canonical_key() -> None:
    executions = 0
    gate = anyio.Event()

    async def fetch() -> str:
        nonlocal executions
        executions += 1
        await gate.wait()
        return "v"

    out: list[str] = []
    async with Coalescer() as co:
        async def caller(params: dict[str, Any]) -> None:
            out.append(await co.call("data.get", params, fetch, scope="/repo", model="m"))

        async with anyio.create_task_group() as tg:
            tg.start_soon(caller, {"model": "m", "name": "n", "version": 1})
            tg.start_soon(caller, {"version": 1, "name": "n", "model": "m"})
            await wait_until(lambda: co.stats()["waiters"] == 2)
            assert co.inflight()[0]["key"] == canonical_key(
                "data.get", {"model": "m", "name": "n", "version": 1}, "/repo")
            gate.set()
    assert out == ["v", "v"] and executions == 1
