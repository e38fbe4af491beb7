"""Frames the daemon must survive: oversized, half-written, random garbage."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swampd import protocol
from swampd.client import Client, ConnectionClosed


@pytest.fixture
def daemon_env(daemon_env, swampd_home):
    (swampd_home / "config.toml").write_text("[daemon]\nmax_line_bytes = 4096\n")
    return daemon_env


def test_oversized_frame_is_refused_and_connection_closed(daemon):
    with daemon.client(timeout=10) as c:
        c._sock.sendall(b'{"jsonrpc": "2.0", "method": "rpc.echo", "params": ["' + b"x" * 10_000)
        reply = json.loads(c.read_line())
        assert reply["error"]["code"] == protocol.INVALID_REQUEST
        assert reply["error"]["data"]["limit"] == 4096
        with pytest.raises((ConnectionClosed, OSError)):
            c.read_line()
    assert daemon.call("daemon.hello")["pid"] == daemon.pid


def test_oversized_complete_line_is_refused(daemon):
    with daemon.client(timeout=10) as c:
        c.send_line(json.dumps({"jsonrpc": "2.0", "method": "rpc.echo", "params": ["y" * 8000], "id": 1}).encode())
        reply = json.loads(c.read_line())
        assert reply["error"]["code"] == protocol.INVALID_REQUEST


def test_half_written_frame_then_disconnect_leaves_daemon_healthy(daemon):
    for _ in range(20):
        c = daemon.client()
        c._sock.sendall(b'{"jsonrpc": "2.0", "method": "rpc.sl')
        c.close()
    deadline = time.monotonic() + 10
    while True:
        status = daemon.call("daemon.status")
        if status["connections"] == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert status["pid"] == daemon.pid
    assert status["connections"] == 1  # only this one: the half-written ones were cleaned up


def test_a_request_just_under_the_limit_works(daemon):
    value = "z" * 3900
    assert daemon.call("rpc.echo", [value]) == value


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(lines=st.lists(st.binary(min_size=0, max_size=300), min_size=100, max_size=100))
def test_random_garbage_leaves_daemon_answering(daemon, lines):
    # 10 examples x 100 lines = 1,000 lines of garbage per run.
    with Client(daemon.paths.socket, timeout=10) as c:
        for line in lines:
            c._sock.sendall(line.replace(b"\n", b" ") + b"\n")
        c.send_line(b'{"jsonrpc": "2.0", "method": "rpc.echo", "params": ["still here"], "id": "probe"}')
        while True:  # every garbage line may earn an error reply; the probe's reply comes too
            reply = json.loads(c.read_line())
            if isinstance(reply, dict) and reply.get("id") == "probe":
                break
            assert reply["error"]["code"] in (protocol.PARSE_ERROR, protocol.INVALID_REQUEST) or isinstance(reply, list)
        assert reply["result"] == "still here"
    with daemon.client() as fresh:
        assert fresh.call("daemon.hello")["pid"] == daemon.pid
