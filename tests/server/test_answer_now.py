"""A method's synchronous `now` variant: what registration accepts, and how the dispatcher uses it
(its answer when it has one; the async handler for everything else, errors included)."""

from __future__ import annotations

from typing import Any

import anyio
import orjson
import pytest

from swampd.api import rpc
from swampd.api._registry import Registry
from swampd.client import RpcError
from swampd.errors import InvalidParams
from swampd.server import rpc as rpc_module
from swampd.server.frames import split_trailing_id
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


def line(params: Any, id_: str = "7", method: str = "t.get") -> bytes:
    body = orjson.dumps({"jsonrpc": "2.0", "method": method, "params": params})
    return body[:-1] + b',"id":' + id_.encode() + b"}"


def test_a_line_is_split_before_its_id_only_when_nothing_but_the_id_follows() -> None:
    assert split_trailing_id(line({"key": "hot"}, "12")) == (line({"key": "hot"}, "")[:-1], 12)
    assert split_trailing_id(b'{"id":0}') == (b'{"id":', 0)
    for other in [line({"key": "hot"}, "-1"), line({"key": "hot"}, "07"), line({"key": "hot"}, "1.0"),
                  line({"key": "hot"}, '"7"'), line({"key": "hot"}, "1e3"), line({"key": "hot"}, " 7"),
                  line({"key": "hot"}, "1" * 19), line({"key": "hot"}, "true"), line({"key": "hot"}, "7") + b" ",
                  b'{"jsonrpc":"2.0","method":"t.get","params":{"x":1,"id":5}}', b'{"x":"a\\"id\\":5}',
                  b'{"jsonrpc":"2.0","method":"t.get","xid":5}', b'"id":5}', b""]:
        assert split_trailing_id(other) is None, other


def test_a_line_answered_now_is_answered_again_but_for_its_id_from_the_variant_each_time() -> None:
    answers: dict[str, Any] = {"hot": {"from": "now", "n": 1}}
    dispatcher = make_dispatcher(answers)
    first = line({"key": "hot"}, "7")
    assert dispatcher.answer_again(first, None) is NOT_NOW  # never seen
    assert dispatcher.dispatch_now(orjson.loads(first), None, first)["result"] == {"from": "now", "n": 1}
    again = dispatcher.answer_again(line({"key": "hot"}, "8"), None)
    assert again == {"jsonrpc": "2.0", "result": {"from": "now", "n": 1}, "id": 8}
    answers["hot"] = {"from": "now", "n": 2}  # the variant is asked again, never a kept reply
    assert dispatcher.answer_again(line({"key": "hot"}, "9"), None)["result"] == {"from": "now", "n": 2}
    for not_now in (None, InvalidParams("gone bad"), RuntimeError("a bug")):
        answers["hot"] = not_now
        assert dispatcher.answer_again(line({"key": "hot"}, "10"), None) is NOT_NOW
    # another line, or the same one with its id somewhere else, goes the whole way
    answers["hot"] = {"from": "now"}
    assert dispatcher.answer_again(line({"key": "hot", "n": 1}, "11"), None) is NOT_NOW
    elsewhere = b'{"jsonrpc":"2.0","id":12,"method":"t.get","params":{"key":"hot"}}'
    assert dispatcher.answer_again(elsewhere, None) is NOT_NOW


def test_only_lines_answered_now_with_a_plain_id_are_remembered() -> None:
    dispatcher = make_dispatcher({"hot": {"from": "now"}, "bad": InvalidParams("a bad key")})
    refused = [line({"key": "bad"}), line({"key": 3}), line({"key": "hot", "extra": 1}), line(["hot", "x"]),
               line({"key": "cold"}), line({"key": "hot"}, '"7"'),
               b'{"jsonrpc":"1.0","method":"t.get","params":{"key":"hot"},"id":7}']
    for refused_line in refused:
        obj = orjson.loads(refused_line)
        dispatcher.dispatch_now(obj, None, refused_line)
        assert dispatcher.answer_again(refused_line, None) is NOT_NOW, refused_line
    for hot in (line({"key": "hot"}), line(["hot"]), line(["hot", 2])):  # named or positional params
        dispatcher.dispatch_now(orjson.loads(hot), None, hot)
        assert dispatcher.answer_again(hot, None) == {"jsonrpc": "2.0", "result": {"from": "now"}, "id": 7}


def test_remembered_lines_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rpc_module, "REPLAYS", 3)
    answers = {f"k{i}": {"i": i} for i in range(5)}
    dispatcher = make_dispatcher(answers)
    for i in range(5):
        hot = line({"key": f"k{i}"})
        dispatcher.dispatch_now(orjson.loads(hot), None, hot)
    remembered = [i for i in range(5) if dispatcher.answer_again(line({"key": f"k{i}"}), None) is not NOT_NOW]
    assert remembered == [2, 3, 4]
    too_long = line({"key": "k0", "n": 0}, "1")
    monkeypatch.setattr(rpc_module, "REPLAY_LINE_LIMIT", len(too_long) - 1)
    dispatcher.dispatch_now(orjson.loads(too_long), None, too_long)
    assert dispatcher.answer_again(too_long, None) is NOT_NOW


def test_the_daemon_answers_a_line_again_as_it_answered_it_first(daemon: Any) -> None:
    with daemon.client() as c:
        for params in (b'"params":{"client_protocol":1},', b'"params":[1],', b""):
            c.send_line(b'{"jsonrpc":"2.0","method":"daemon.hello",' + params + b'"id":41}')
            first = c.read_message()
            before = c.call("daemon.status")
            c.send_line(b'{"jsonrpc":"2.0","method":"daemon.hello",' + params + b'"id":42}')
            again = c.read_message()
            after = c.call("daemon.status")
            assert after["requests_answered_now"] == before["requests_answered_now"] + 1
            assert after["requests_answered_again"] == before["requests_answered_again"] + 1
            assert again == {**first, "id": 42}
