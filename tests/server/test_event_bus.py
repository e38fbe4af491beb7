"""The event bus: timestamps and sequence numbers, field filters, per-subscription detail, history replay."""

from __future__ import annotations

from typing import Any

import pytest

from swampd.client import RpcError
from swampd.inprocess import LocalConnection
from swampd.server.events import EventBus, matches, parse_where
from tests.conftest import DaemonProcess


def delivered(conn: LocalConnection) -> list[dict[str, Any]]:
    return [params for method, params in conn.notifications if method == "events.event"]


def test_events_carry_ts_and_increasing_seq() -> None:
    bus = EventBus()
    conn = LocalConnection()
    bus.subscribe(conn, ["*"])
    bus.publish("calls", {"type": "call.started"})
    bus.publish("jobs", {"type": "job.state"})
    first, second = delivered(conn)
    assert (first["seq"], second["seq"]) == (1, 2)
    assert 0 < first["ts"] <= second["ts"]
    assert (first["topic"], second["topic"]) == ("calls", "jobs")


@pytest.mark.parametrize(("where", "data", "expected"), [
    ({"type": "call.joined"}, {"type": "call.joined"}, True),
    ({"type": "call.joined"}, {"type": "call.left"}, False),
    ({"type": ["call.joined", "call.left"]}, {"type": "call.left"}, True),  # one field, several values: any
    ({"peer.pid": "42"}, {"peer": {"pid": 42}}, True),  # text from a shell matches the number
    ({"peer.pid": 42}, {"peer": {"pid": 42}}, True),
    ({"peer.pid": "42"}, {"peer": {"pid": 420}}, False),
    ({"peer.pid": "42"}, {"peer": None}, False),
    ({"peer.pid": "42"}, {}, False),
    ({"held": "true"}, {"held": True}, True),
    ({"held": True}, {"held": 1}, False),  # JSON true is no number
    ({"model": "null"}, {"model": None}, True),
    ({"type": "call.joined", "peer.pid": "7"}, {"type": "call.joined", "peer": {"pid": 8}}, False),  # all fields
])
def test_where_filters(where: dict[str, Any], data: dict[str, Any], expected: bool) -> None:
    assert matches(data, parse_where(where)) is expected


def test_detail_reaches_only_subscriptions_that_asked_and_is_not_kept() -> None:
    bus = EventBus()
    plain, detailed = LocalConnection(), LocalConnection()
    bus.subscribe(plain, ["context"])
    bus.subscribe(detailed, ["context"], detail=True)
    bus.publish("context", {"type": "context.put", "key": "k"}, {"value": [1, 2]})
    assert delivered(plain)[0]["data"] == {"type": "context.put", "key": "k"}
    assert delivered(detailed)[0]["data"] == {"type": "context.put", "key": "k", "value": [1, 2]}
    late = LocalConnection()
    bus.subscribe(late, ["context"], detail=True, replay=True)
    assert delivered(late)[0]["data"] == {"type": "context.put", "key": "k"}


def test_replay_sends_the_kept_history_first_and_counts_what_was_not_kept() -> None:
    bus = EventBus(history=3)
    for i in range(5):
        bus.publish("calls" if i % 2 == 0 else "jobs", {"type": "t", "i": i})
    conn = LocalConnection()
    _, replayed, missed = bus.subscribe(conn, ["calls"], replay=True)
    assert (replayed, missed) == (2, 2)
    bus.publish("calls", {"type": "t", "i": 5})
    assert [(e["seq"], e["data"]["i"]) for e in delivered(conn)] == [(3, 2), (5, 4), (6, 5)]


def test_subscribe_where_and_since_start_over_the_socket(daemon: DaemonProcess) -> None:
    daemon.call("context.put", {"scope": "a", "key": "k", "value": 1})
    daemon.call("context.put", {"scope": "b", "key": "k", "value": 1})
    with daemon.client() as c:
        result = c.call("events.subscribe", {"topics": ["context"], "where": {"scope": "b"}, "since_start": True})
        assert (result["replayed"], result["missed"]) == (1, 0)
        replayed = c.next_notification(timeout=10)["params"]
    assert (replayed["data"]["scope"], replayed["data"]["type"]) == ("b", "context.put")
    with daemon.client() as c:
        for bad in ({"where": {"": 1}}, {"where": {"a..b": 1}}, {"where": {"type": []}},
                    {"where": {"type": {"nested": 1}}}, {"topics": []}):
            with pytest.raises(RpcError) as refused:
                c.call("events.subscribe", bad)
            assert refused.value.kind == "invalid_params"
