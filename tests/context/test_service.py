"""The context service on a real diskcache store, driven directly under anyio (no daemon)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from swampd.context.service import ContextService, swamp_lifetime
from swampd.context.settings import ContextSettings
from swampd.errors import Conflict, InvalidInput, InvalidParams, NotFound, SwampdError, TooLarge
from tests.context.conftest import Events

pytestmark = pytest.mark.anyio


async def wait_for(predicate: Any, timeout: float = 30.0) -> None:
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.01)


async def snapshot(service: ContextService) -> tuple[Any, ...]:
    """Everything a refused call must leave as it was."""
    listing = await service.list()
    keys = {s["scope"]: (await service.list(s["scope"]))["keys"] for s in listing["scopes"]}
    return listing["bytes"], [(s["scope"], s["keys"], s["bytes"]) for s in listing["scopes"]], \
        {scope: [(k["key"], k["version"], k["size"]) for k in ks] for scope, ks in keys.items()}


async def test_put_get_roundtrip_with_version_and_ttl(service: ContextService) -> None:
    put = await service.put("run-1", "plan", {"steps": [1, 2], "done": False}, ttl=30)
    got = await service.get("run-1", "plan")
    assert got["value"] == {"steps": [1, 2], "done": False}
    assert got["version"] == put["version"] >= 1
    assert got["ttl"] == 30
    assert 0 < got["ttl_left"] <= 30
    assert got["size"] == len(b'{"steps":[1,2],"done":false}')
    with pytest.raises(NotFound, match="no context key 'other' in scope 'run-1'"):
        await service.get("run-1", "other")


async def test_default_ttl_applies_and_each_put_sets_the_ttl_again(service: ContextService) -> None:
    assert (await service.put("s", "k", 1))["ttl"] == 60  # the fixture's default_ttl
    assert (await service.put("s", "k", 2, ttl=5))["ttl"] == 5


async def test_compare_and_set_refuses_a_stale_version_and_changes_nothing(service: ContextService,
                                                                          events: Events) -> None:
    first = await service.put("run-1", "counter", 0, if_version=0)  # 0: create only
    with pytest.raises(Conflict) as created_twice:
        await service.put("run-1", "counter", 100, if_version=0)
    assert created_twice.value.data["current_version"] == first["version"]
    second = await service.put("run-1", "counter", 1, if_version=first["version"])
    before = await snapshot(service)
    published = len(events.items)
    with pytest.raises(Conflict, match=f"is at version {second['version']}, not {first['version']}"):
        await service.put("run-1", "counter", 99, if_version=first["version"])
    got = await service.get("run-1", "counter")
    assert (got["value"], got["version"]) == (1, second["version"])
    assert await snapshot(service) == before
    assert len(events.items) == published


async def test_versions_are_never_reused_after_a_drop(service: ContextService) -> None:
    """A client holding the version of a dropped key must not win a CAS against its new incarnation."""
    old = await service.put("s", "k", "old")
    await service.drop("s", "k")
    new = await service.put("s", "k", "new", if_version=0)
    assert new["version"] > old["version"]
    with pytest.raises(Conflict):
        await service.put("s", "k", "lost update", if_version=old["version"])


async def test_concurrent_increments_with_compare_and_set_lose_nothing(service: ContextService) -> None:
    await service.put("race", "n", 0)

    async def incrementer() -> None:
        for _ in range(20):
            while True:
                got = await service.get("race", "n")
                try:
                    await service.put("race", "n", got["value"] + 1, if_version=got["version"])
                    break
                except Conflict:
                    continue

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(incrementer)
    assert (await service.get("race", "n"))["value"] == 200


@pytest.mark.parametrize(("call", "error", "message"), [
    ({"scope": "", "key": "k", "value": 1}, InvalidParams, "scope '' is not valid"),
    ({"scope": "a/b", "key": "k", "value": 1}, InvalidParams, "scope 'a/b' is not valid"),
    ({"scope": "-lead", "key": "k", "value": 1}, InvalidParams, "starting with a letter or a digit"),
    ({"scope": "x" * 129, "key": "k", "value": 1}, InvalidParams, "1-128 characters"),
    ({"scope": "s", "key": "", "value": 1}, InvalidParams, "key must be 1-256 characters"),
    ({"scope": "s", "key": "tab\there", "value": 1}, InvalidParams, "without control characters"),
    ({"scope": "s", "key": "k" * 257, "value": 1}, InvalidParams, "key must be"),
    ({"scope": "s", "key": "k", "value": 1, "ttl": 0}, InvalidParams, "ttl must be > 0 and at most 600"),
    ({"scope": "s", "key": "k", "value": 1, "ttl": -5}, InvalidParams, "ttl must be > 0"),
    ({"scope": "s", "key": "k", "value": 1, "ttl": 601}, InvalidParams, "at most 600 seconds"),
    ({"scope": "s", "key": "k", "value": 1, "ttl": float("inf")}, InvalidParams, "ttl must be"),
    ({"scope": "s", "key": "k", "value": 1, "if_version": -1}, InvalidParams, "if_version must be >= 0"),
    ({"scope": "s", "key": "k", "value": "x" * 1100}, TooLarge, "the limit is 1024"),
    ({"scope": "s", "key": "k", "value": 1, "persist": True}, InvalidParams, "persist needs a repo"),
    ({"scope": "s", "key": "k", "value": 1, "repo": "/r"}, InvalidParams, "repo is only used with persist"),
])
async def test_bad_input_gets_a_clear_error_and_changes_nothing(service: ContextService, events: Events,
                                                               call: dict[str, Any], error: type[SwampdError],
                                                               message: str) -> None:
    await service.put("s", "k", "before")
    before = await snapshot(service)
    published = len(events.items)
    args = dict(call)
    with pytest.raises(error, match=message):
        await service.put(args.pop("scope"), args.pop("key"), args.pop("value"), **args)
    assert await snapshot(service) == before
    assert (await service.get("s", "k"))["value"] == "before"
    assert len(events.items) == published


async def test_the_store_quota_refuses_then_frees_bytes(service: ContextService) -> None:
    value = "v" * 998  # 1000 bytes of JSON
    for i in range(8):
        await service.put("big", f"k{i}", value)
    with pytest.raises(TooLarge, match="the context store is full"):
        await service.put("big", "k8", value)
    assert (await service.list())["bytes"] == 8000
    await service.put("big", "k0", "small")  # shrinking always fits
    await service.drop("big", "k1")
    await service.put("big", "k8", value)
    assert (await service.list())["bytes"] == 8000 - 1000 - 1000 + len(b'"small"') + 1000


async def test_a_key_expires_at_its_deadline_and_its_bytes_come_back(service: ContextService, events: Events) -> None:
    put = await service.put("s", "short", {"x": 1}, ttl=0.3)
    await service.put("s", "long", 1, ttl=60)
    await wait_for(lambda: time.time() > put["expires_at"])
    with pytest.raises(NotFound):  # past the deadline it reads as absent, swept or not
        await service.get("s", "short")
    await wait_for(lambda: "context.expired" in events.types())
    expired = [d for _, d, _ in events.items if d["type"] == "context.expired"]
    assert [(d["scope"], d["key"], d["version"]) for d in expired] == [("s", "short", put["version"])]
    assert [i.key for i in await anyio.to_thread.run_sync(service.store.items, None)] == ["long"]
    assert (await service.list())["bytes"] == 1


async def test_a_rewritten_key_is_not_expired_at_its_old_deadline(service: ContextService, events: Events) -> None:
    first = await service.put("s", "k", 1, ttl=0.2)
    await service.put("s", "k", 2, ttl=60)
    await service.put("s", "tick", 0, ttl=0.4)  # expires after k's old deadline: proves the sweeper ran past it
    await wait_for(lambda: "context.expired" in events.types())
    assert time.time() > first["expires_at"]
    assert (await service.get("s", "k"))["value"] == 2
    assert [d["key"] for _, d, _ in events.items if d["type"] == "context.expired"] == ["tick"]


async def test_values_survive_a_restart_until_their_ttl(tmp_path: Path, events: Events) -> None:
    settings = ContextSettings(default_ttl=60, max_ttl=600)
    first = ContextService(settings, str(tmp_path / "ctx"), events)
    kept = await first.put("run", "kept", {"a": [1, 2]}, ttl=60)
    gone = await first.put("run", "gone", "soon", ttl=0.3)
    await first.aclose()
    await wait_for(lambda: time.time() > gone["expires_at"])  # the deadline passes while no service runs

    second = ContextService(settings, str(tmp_path / "ctx"), events)
    try:
        await second.start()
        items = await anyio.to_thread.run_sync(second.store.items, None)
        assert [i.key for i in items] == ["kept"]  # removed at start, not just hidden
        got = await second.get("run", "kept")
        assert (got["value"], got["version"]) == ({"a": [1, 2]}, kept["version"])
        later = await second.put("run", "new", 1)
        assert later["version"] > gone["version"]  # the version counter survived too
    finally:
        await second.aclose()


async def test_events_carry_metadata_and_only_the_detail_carries_the_value(service: ContextService,
                                                                            events: Events) -> None:
    await service.put("s", "a", {"secret-ish": "payload"}, pid=4242)
    await service.put("s", "b", 2)
    await service.drop("s", "a", pid=4242)
    await service.drop("s")
    topic, data, detail = events.items[0]
    assert topic == "context"
    assert data["type"] == "context.put" and data["peer"] == {"pid": 4242}
    assert "value" not in data and "payload" not in str(data)
    assert detail == {"value": {"secret-ish": "payload"}}
    assert events.types() == ["context.put", "context.put", "context.dropped", "context.scope_dropped"]
    assert events.items[3][1]["keys"] == 1


async def test_list_shows_scopes_and_keys_without_values(service: ContextService) -> None:
    await service.put("alpha", "x", "1234567890", ttl=10)
    await service.put("alpha", "y", 1, ttl=20)
    await service.put("beta", "z", [], ttl=30)
    listing = await service.list()
    scopes = {s["scope"]: s for s in listing["scopes"]}
    assert set(scopes) == {"alpha", "beta"}
    assert (scopes["alpha"]["keys"], scopes["alpha"]["bytes"]) == (2, 13)
    assert scopes["alpha"]["next_expiry"] < scopes["alpha"]["last_expiry"]
    keys = (await service.list("alpha"))["keys"]
    assert [k["key"] for k in keys] == ["x", "y"]
    assert all("value" not in k for k in keys)
    assert (await service.list("gamma"))["keys"] == []


def test_swamp_lifetime_rounds_up_to_whole_minutes() -> None:
    assert [swamp_lifetime(t) for t in (1, 59, 60, 61, 3600, 86400)] == ["1m", "1m", "1m", "2m", "60m", "1440m"]


@pytest.mark.parametrize("table", [
    {"default_ttl": 0}, {"default_ttl": 100, "max_ttl": 10}, {"max_value_bytes": 0},
    {"max_value_bytes": 10, "max_store_bytes": 5}, {"ttl": 5}, {"max_ttl": "1d"},
])
def test_bad_context_tables_are_refused(table: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput, match=r"\[context\]"):
        ContextSettings.from_mapping(table)
