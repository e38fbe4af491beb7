"""The JSON-RPC 2.0 specification's examples (section 7), over a real socket to a real daemon."""

from __future__ import annotations

import json
import time

from swampd import protocol


def exchange(client, text: str):
    client.send_line(text.encode())
    return json.loads(client.read_line())


def test_positional_params(daemon):
    with daemon.client() as c:
        reply = exchange(c, '{"jsonrpc": "2.0", "method": "rpc.echo", "params": [42], "id": 1}')
    assert reply == {"jsonrpc": "2.0", "result": 42, "id": 1}


def test_named_params(daemon):
    with daemon.client() as c:
        reply = exchange(c, '{"jsonrpc": "2.0", "method": "rpc.echo", "params": {"value": [23, "x"]}, "id": "a"}')
    assert reply == {"jsonrpc": "2.0", "result": [23, "x"], "id": "a"}


def test_notification_gets_no_reply(daemon):
    with daemon.client(timeout=0.5) as c:
        c.send_line(b'{"jsonrpc": "2.0", "method": "rpc.echo", "params": [1]}')
        c.send_line(b'{"jsonrpc": "2.0", "method": "no.such.method"}')
        # The next thing on the wire is the reply to this call, not to the notifications.
        assert exchange(c, '{"jsonrpc": "2.0", "method": "rpc.echo", "params": [2], "id": 9}')["id"] == 9


def test_method_not_found(daemon):
    with daemon.client() as c:
        reply = exchange(c, '{"jsonrpc": "2.0", "method": "foobar", "id": "1"}')
    assert reply["id"] == "1"
    assert reply["error"]["code"] == protocol.METHOD_NOT_FOUND
    assert reply["error"]["data"]["kind"] == "method_not_found"


def test_invalid_json_then_connection_still_usable(daemon):
    with daemon.client() as c:
        reply = exchange(c, '{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]')
        assert reply == {
            "jsonrpc": "2.0",
            "error": {"code": -32700, "message": reply["error"]["message"], "data": {"kind": "parse_error"}},
            "id": None,
        }
        assert exchange(c, '{"jsonrpc": "2.0", "method": "rpc.echo", "params": ["ok"], "id": 2}')["result"] == "ok"


def test_invalid_request_object(daemon):
    with daemon.client() as c:
        reply = exchange(c, '{"jsonrpc": "2.0", "method": 1, "params": "bar"}')
    assert reply["error"]["code"] == protocol.INVALID_REQUEST
    assert reply["id"] is None


def test_batch_with_invalid_json(daemon):
    with daemon.client() as c:
        reply = exchange(c, '[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},'
                            '{"jsonrpc": "2.0", "method"]')
    assert reply["error"]["code"] == protocol.PARSE_ERROR


def test_empty_batch(daemon):
    with daemon.client() as c:
        reply = exchange(c, "[]")
    assert isinstance(reply, dict)
    assert reply["error"]["code"] == protocol.INVALID_REQUEST and reply["id"] is None


def test_batch_of_one_invalid_entry(daemon):
    with daemon.client() as c:
        reply = exchange(c, "[1]")
    assert isinstance(reply, list) and len(reply) == 1
    assert reply[0]["error"]["code"] == protocol.INVALID_REQUEST and reply[0]["id"] is None


def test_batch_of_invalid_entries(daemon):
    with daemon.client() as c:
        reply = exchange(c, "[1,2,3]")
    assert [r["error"]["code"] for r in reply] == [protocol.INVALID_REQUEST] * 3


def test_mixed_batch(daemon):
    batch = [
        {"jsonrpc": "2.0", "method": "rpc.echo", "params": [7], "id": "1"},
        {"jsonrpc": "2.0", "method": "rpc.echo", "params": [7]},
        {"jsonrpc": "2.0", "method": "rpc.echo", "params": {"value": "x"}, "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "daemon.hello", "id": "9"},
    ]
    with daemon.client() as c:
        reply = exchange(c, json.dumps(batch))
    by_id = {r["id"]: r for r in reply}
    assert len(reply) == 5  # the notification gets no entry
    assert by_id["1"]["result"] == 7
    assert by_id["2"]["result"] == "x"
    assert by_id[None]["error"]["code"] == protocol.INVALID_REQUEST
    assert by_id["5"]["error"]["code"] == protocol.METHOD_NOT_FOUND
    assert by_id["9"]["result"]["protocol"] == protocol.PROTOCOL_VERSION


def test_notification_only_batch_gets_no_reply(daemon):
    with daemon.client(timeout=0.5) as c:
        c.send_line(b'[{"jsonrpc": "2.0", "method": "rpc.echo", "params": [1]}, {"jsonrpc": "2.0", "method": "x"}]')
        assert exchange(c, '{"jsonrpc": "2.0", "method": "rpc.echo", "params": [3], "id": 3}')["id"] == 3


def test_invalid_params_wrong_arity_and_type(daemon):
    with daemon.client() as c:
        too_many = exchange(c, '{"jsonrpc": "2.0", "method": "daemon.status", "params": [1], "id": 1}')
        unknown_name = exchange(c, '{"jsonrpc": "2.0", "method": "rpc.echo", "params": {"nope": 1}, "id": 2}')
        wrong_type = exchange(c, '{"jsonrpc": "2.0", "method": "rpc.sleep", "params": {"seconds": "long"}, "id": 3}')
        missing = exchange(c, '{"jsonrpc": "2.0", "method": "events.unsubscribe", "params": {}, "id": 4}')
    for reply in (too_many, unknown_name, wrong_type, missing):
        assert reply["error"]["code"] == protocol.INVALID_PARAMS, reply
        assert reply["error"]["data"]["kind"] == "invalid_params"
    assert "seconds" in wrong_type["error"]["message"]


def test_cancel_request_answers_request_cancelled(daemon):
    with daemon.client() as c:
        request_id = c.request("rpc.sleep", {"seconds": 60})
        c.cancel(request_id)
        reply = c.wait_reply(request_id)
    assert reply["error"]["code"] == protocol.REQUEST_CANCELLED
    assert reply["error"]["data"]["kind"] == "request_cancelled"


def test_a_request_cancelled_in_the_same_read_is_still_answered(daemon):
    # One write: the cancel is handled before the request's task has taken its first step (3.11);
    # the request must still be answered, and in-flight accounting must come back to idle.
    with daemon.client() as c:
        c.send_line(b'{"jsonrpc": "2.0", "method": "rpc.sleep", "params": {"seconds": 60}, "id": 7}\n'
                    b'{"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 7}}\n')
        reply = c.wait_reply(7)
        assert reply["error"]["code"] == protocol.REQUEST_CANCELLED
        assert c.call("daemon.status")["requests_in_flight"] == 1  # only the status call itself


def test_requests_on_one_connection_run_concurrently(daemon):
    with daemon.client() as c:
        slow = c.request("rpc.sleep", {"seconds": 30})
        assert c.call("rpc.echo", ["fast"]) == "fast"  # answered while the slow one runs
        c.cancel(slow)
        assert c.wait_reply(slow)["error"]["code"] == protocol.REQUEST_CANCELLED


def test_discover_lists_every_method_with_docs(daemon):
    methods = daemon.call("rpc.discover")["methods"]
    names = [m["name"] for m in methods]
    assert {"daemon.hello", "daemon.status", "daemon.stop", "rpc.discover", "events.subscribe",
            "events.unsubscribe"} <= set(names)
    assert all(m["doc"] for m in methods), [m["name"] for m in methods if not m["doc"]]


def test_events_daemon_topic_reports_connections(daemon):
    with daemon.client() as watcher:
        sub = watcher.subscribe(["daemon"])
        with daemon.client() as other:
            other.call("daemon.hello")
        event = watcher.next_notification(timeout=10)
        assert event["method"] == "events.event"
        assert event["params"]["subscription"] == sub
        assert event["params"]["topic"] == "daemon"
        assert event["params"]["data"]["type"] == "connection.opened"


def test_subscribe_unknown_topic_is_invalid_params(daemon):
    with daemon.client() as c:
        reply = exchange(c, '{"jsonrpc": "2.0", "method": "events.subscribe", "params": {"topics": ["nope"]}, "id": 1}')
    assert reply["error"]["code"] == protocol.INVALID_PARAMS


def test_half_closed_client_still_gets_its_reply(daemon):
    with daemon.client() as c:
        request_id = c.request("rpc.sleep", {"seconds": 0.5})
        c._sock.shutdown(1)  # SHUT_WR: done sending, still reading
        assert c.wait_reply(request_id)["result"] == {"slept": 0.5}


def test_fully_closed_client_has_its_requests_cancelled(daemon):
    c = daemon.client()
    c.request("rpc.sleep", {"seconds": 60})
    deadline = time.monotonic() + 10
    while daemon.call("daemon.status")["requests_in_flight"] < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    c.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if daemon.call("daemon.status")["requests_in_flight"] == 1:  # only the status call itself
            break
        time.sleep(0.05)
    assert daemon.call("daemon.status")["requests_in_flight"] == 1
    assert "hung up with 1 request(s) in flight" in daemon.log()


def test_param_types_follow_the_annotations(daemon):
    with daemon.client() as c:
        as_bool = exchange(c, '{"jsonrpc": "2.0", "method": "rpc.sleep", "params": {"seconds": true}, "id": 1}')
        as_int = exchange(c, '{"jsonrpc": "2.0", "method": "rpc.sleep", "params": [0], "id": 2}')
        union_wrong = exchange(c, '{"jsonrpc": "2.0", "method": "events.subscribe", "params": [5], "id": 3}')
        union_none = exchange(c, '{"jsonrpc": "2.0", "method": "daemon.hello", "params": [null], "id": 4}')
    assert as_bool["error"]["data"] == {"kind": "invalid_params", "param": "seconds"}
    assert as_int["result"] == {"slept": 0}  # an int is a fine float
    assert union_wrong["error"]["data"]["param"] == "topics"
    assert union_none["result"]["protocol"] == protocol.PROTOCOL_VERSION


def test_non_empty_string_params_refuse_empty_strings(daemon):
    with daemon.client() as c:
        empty = exchange(c, '{"jsonrpc": "2.0", "method": "calls.cancel", "params": {"key": ""}, "id": 1}')
        not_a_string = exchange(c, '{"jsonrpc": "2.0", "method": "calls.cancel", "params": [7], "id": 2}')
        optional_empty = exchange(c, '{"jsonrpc": "2.0", "method": "cache.keys", "params": {"filter": ""}, "id": 3}')
        optional_null = exchange(c, '{"jsonrpc": "2.0", "method": "cache.keys", "params": {"filter": null}, "id": 4}')
    for reply, param in ((empty, "key"), (not_a_string, "key"), (optional_empty, "filter")):
        assert reply["error"]["data"] == {"kind": "invalid_params", "param": param}, reply
    assert "non-empty string" in empty["error"]["message"]
    assert "keys" in optional_null["result"]
