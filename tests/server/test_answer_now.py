"""A method's synchronous `now` variant: what registration accepts, and how the dispatcher uses it
(its answer when it has one; the async handler for everything else, errors included)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from swampd.api import rpc
from swampd.api._registry import Registry
from swampd.client import RpcError
from swampd.errors import InvalidParams
from swampd.server.rpc import NOT_NOW, RpcDispatcher


def test_only_a_synchronous_read_with_the_same_params_is_a_now_variant() -> None:
    def now(ctx: Any, key: str) -> Any:
        return None

    async def other_params(ctx: Any, name: str) -> Any:
        return None

    async def same(ctx: Any, key: str) -> Any:
        return None

    async def async_now(ctx: Any, key: str) -> Any:
        return None

    with pytest.raises(TypeError, match="same params"):
        rpc("t.get", now=now)(other_params)
    with pytest.raises(TypeError, match="only a read"):
        rpc("t.put", mutating=True, now=now)(same)
    with pytest.raises(TypeError, match="synchronous"):
        rpc("t.get", now=async_now)(same)
    assert rpc("t.get", now=now)(same).__rpc_now__ is now  # type: ignore[attr-defined]


def make_dispatcher(answers: dict[str, Any]) -> RpcDispatcher:
    """`t.get` whose now variant answers from `answers` (None: not now; an exception: raised)."""

    def get_now(ctx: Any, key: str, n: int = 0) -> Any:
        answer = answers.get(key)
        if isinstance(answer, Exception):
            raise answer
        return answer

    @rpc("t.get", now=get_now)
    async def get(ctx: Any, key: str, n: int = 0) -> Any:
        """A test read."""
        if key == "bad":
            raise InvalidParams("a bad key")
        return {"from": "async", "key": key}

    registry = Registry()
    registry.add(get)
    return RpcDispatcher(registry)


def test_the_dispatcher_answers_now_only_what_the_variant_answers() -> None:
    dispatcher = make_dispatcher({"hot": {"from": "now"}, "bad": InvalidParams("a bad key"),
                                  "broken": RuntimeError("a bug")})

    def request(params: Any, **extra: Any) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "method": "t.get", "params": params, "id": 7, **extra}

    assert dispatcher.answers_now("t.get") and not dispatcher.answers_now("t.other")
    assert dispatcher.dispatch_now(request({"key": "hot"}), None) == \
        {"jsonrpc": "2.0", "result": {"from": "now"}, "id": 7}
    assert dispatcher.dispatch_now(request(["hot"]), None) == {"jsonrpc": "2.0", "result": {"from": "now"}, "id": 7}
    not_now = [request({"key": "cold"}), request({"key": "bad"}), request({"key": "broken"}),
               request({"key": 3}), request({"key": "hot", "n": "x"}), request({"key": "hot", "extra": 1}),
               request({}), {"jsonrpc": "2.0", "method": "t.get", "params": {"key": "hot"}},  # a notification
               {"jsonrpc": "1.0", "method": "t.get", "params": {"key": "hot"}, "id": 1}]
    for obj in not_now:
        assert dispatcher.dispatch_now(obj, None) is NOT_NOW, obj
    # and each of those gets from the async path what it always got
    assert anyio.run(dispatcher.dispatch_one, request({"key": "cold"}), None)["result"] == \
        {"from": "async", "key": "cold"}
    assert anyio.run(dispatcher.dispatch_one, request({"key": "bad"}), None)["error"]["data"]["kind"] == \
        "invalid_params"
    assert anyio.run(dispatcher.dispatch_one, request({"key": 3}), None)["error"]["data"]["param"] == "key"


def test_the_handshake_is_answered_now_and_says_the_same(daemon: Any) -> None:
    with daemon.client() as c:
        before = c.call("daemon.status")["requests_answered_now"]
        hello = c.call("daemon.hello", {"client_protocol": 1})
        assert c.call("daemon.status")["requests_answered_now"] == before + 1
        assert (hello["pid"], hello["compatible"]) == (daemon.pid, True)
        assert c.call("daemon.hello", {"client_protocol": 99})["compatible"] is False
        with pytest.raises(RpcError) as err:
            c.call("daemon.hello", {"client_protocol": "1"})  # refused by the async handler's checks
        assert err.value.kind == "invalid_params"
        assert c.call("daemon.status")["requests_answered_now"] == before + 2
