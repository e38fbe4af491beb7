"""Request ids the spec does not allow, or that orjson cannot hold, never cost the connection."""

from __future__ import annotations

import json

import pytest

from swampd import protocol


def roundtrip(client, raw: str) -> dict:
    client.send_line(raw.encode())
    return json.loads(client.read_line())


@pytest.mark.parametrize("bad_id", ["[1]", '{"a": 1}', "[]", "{}", "true"])
def test_an_array_or_object_id_is_answered_invalid_request_and_the_connection_lives(daemon, bad_id):
    with daemon.client(timeout=10) as c:
        slow = c.request("rpc.sleep", {"seconds": 0.3})  # in flight while the bad request arrives
        c.send_line(f'{{"jsonrpc": "2.0", "method": "rpc.echo", "params": [1], "id": {bad_id}}}'.encode())
        replies = [json.loads(c.read_line()) for _ in range(2)]
        bad = next(r for r in replies if r.get("id") is None)
        assert bad["error"]["code"] == protocol.INVALID_REQUEST
        assert next(r for r in replies if r.get("id") == slow)["result"] == {"slept": 0.3}
        assert c.call("rpc.echo", ["still here"]) == "still here"


def test_cancel_request_with_an_array_id_keeps_the_connection(daemon):
    with daemon.client(timeout=10) as c:
        c.send_line(b'{"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": [1, 2]}}')
        c.send_line(b'{"jsonrpc": "2.0", "method": "$/cancelRequest", "params": [{"x": 1}]}')
        assert c.call("rpc.echo", ["alive"]) == "alive"


def test_an_array_id_inside_a_batch_is_answered_with_null(daemon):
    with daemon.client(timeout=10) as c:
        replies = roundtrip(c, '[{"jsonrpc": "2.0", "method": "rpc.echo", "params": [1], "id": [9]},'
                               ' {"jsonrpc": "2.0", "method": "rpc.echo", "params": [2], "id": 2}]')
        by_id = {json.dumps(r["id"]): r for r in replies}
        assert by_id["null"]["error"]["code"] == protocol.INVALID_REQUEST
        assert by_id["2"]["result"] == 2


@pytest.mark.parametrize("big", [2**70, -(2**70), 18446744073709551616, -9223372036854775809])
def test_ids_beyond_64_bits_come_back_exactly(daemon, big):
    with daemon.client(timeout=10) as c:
        c.send_line(f'{{"jsonrpc": "2.0", "method": "rpc.echo", "params": [{big}], "id": {big}}}'.encode())
        raw = c.read_line().decode()
        reply = json.loads(raw)
        assert reply["id"] == big and isinstance(reply["id"], int), raw
        assert reply["result"] == big  # the params of a frame with such an id are exact too
        cancelled = c.request("rpc.sleep", {"seconds": 30})
        c.send_line(f'{{"jsonrpc": "2.0", "method": "rpc.sleep", "params": [30], "id": {big}}}'.encode())
        c.cancel(big)
        reply = json.loads(c.read_line())
        assert reply["id"] == big and reply["error"]["code"] == protocol.REQUEST_CANCELLED
        c.cancel(cancelled)
        assert json.loads(c.read_line())["id"] == cancelled
