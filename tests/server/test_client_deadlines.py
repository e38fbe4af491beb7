"""A stalled daemon (SIGSTOP) or a socket nobody answers never hangs a client."""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from swampd import client as client_module
from swampd.client import CallTimeout, Client, DaemonNotAnswering, DaemonUnavailable, connect
from tests.conftest import swamp_command


@contextmanager
def stopped(daemon) -> Iterator[None]:
    os.kill(daemon.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(daemon.pid, signal.SIGCONT)


def pending_connects(path: str, attempts: int) -> tuple[int, list[socket.socket]]:
    """Non-blocking connects to a listener that does not accept: how many the backlog queues."""
    queued = 0
    socks = []
    for _ in range(attempts):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.setblocking(False)
        socks.append(s)
        try:
            s.connect(path)
            queued += 1
        except BlockingIOError as exc:
            assert exc.errno == errno.EAGAIN
    return queued, socks


def test_the_listen_backlog_is_the_one_asked_for(daemon):
    with stopped(daemon):
        queued, socks = pending_connects(daemon.paths.socket, 150)
        for s in socks:
            s.close()
    assert queued == 150  # asyncio's default backlog of 100 would queue 101


def test_a_stopped_daemon_is_reported_not_answering_and_the_cli_falls_back(daemon, daemon_env):
    env = {**daemon_env, "SWAMPD_AUTOSTART": "0"}
    with stopped(daemon):
        result = subprocess.run([*swamp_command(), "rpc", "daemon.hello"], env=env, capture_output=True,
                                text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "not answering" in result.stderr and "running in-process" in result.stderr
    assert "autostart is off" not in result.stderr
    assert f'"pid":{daemon.pid}' not in result.stdout  # answered in-process, not by the stopped daemon


def test_a_full_backlog_is_not_answering_not_no_daemon(daemon, monkeypatch):
    monkeypatch.setattr(client_module, "CONNECT_TIMEOUT", 0.5)
    with stopped(daemon):
        _, socks = pending_connects(daemon.paths.socket, 700)  # more than any backlog we ask for
        try:
            with pytest.raises(DaemonNotAnswering, match="not answering"):
                connect(daemon.paths, autostart=False)
        finally:
            for s in socks:
                s.close()


def test_a_socket_held_by_another_program_is_not_answering(swampd_home, monkeypatch):
    monkeypatch.setattr(client_module, "ANSWER_TIMEOUT", 0.5)
    from swampd.paths import resolve_paths

    paths = resolve_paths({"SWAMPD_HOME": str(swampd_home)})
    os.makedirs(paths.runtime_dir, mode=0o700)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(paths.socket)
    server.listen(8)
    accepted: list[socket.socket] = []
    acceptor = threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True)
    acceptor.start()  # accepts, reads nothing, answers nothing
    try:
        started = time.monotonic()
        with pytest.raises(DaemonNotAnswering, match="did not answer the handshake"):
            connect(paths, autostart=True)  # a daemon seems to be there: never start a second one
        assert time.monotonic() - started < 30
    finally:
        server.close()
        for s in accepted:
            s.close()


def test_a_daemon_stopped_during_a_long_call_is_noticed(daemon, monkeypatch):
    monkeypatch.setattr(client_module, "PROBE_INTERVAL", 0.3)
    monkeypatch.setattr(client_module, "ANSWER_TIMEOUT", 1.0)
    with Client(daemon.paths.socket) as c:
        request = c.request("rpc.sleep", {"seconds": 60})
        time.sleep(0.2)
        with stopped(daemon), pytest.raises(CallTimeout, match="stopped answering") as info:
            c.wait_reply(request, timeout=None, method="rpc.sleep")
        assert info.value.kind == "timeout"
        assert not isinstance(info.value, DaemonUnavailable)  # sent already: no in-process rerun


def test_a_long_call_to_a_live_daemon_outlasts_the_probes(daemon, monkeypatch):
    monkeypatch.setattr(client_module, "PROBE_INTERVAL", 0.2)
    monkeypatch.setattr(client_module, "ANSWER_TIMEOUT", 5.0)
    with Client(daemon.paths.socket) as c:
        assert c.call("rpc.sleep", {"seconds": 1.5}) == {"slept": 1.5}  # a long method: no deadline
        assert c._probes >= 2  # it was probed and answered meanwhile


def test_a_call_past_its_deadline_is_cancelled_on_the_daemon(daemon):
    with Client(daemon.paths.socket) as c:
        with pytest.raises(CallTimeout, match="did not finish within 0.5s"):
            c.call("rpc.sleep", {"seconds": 60}, timeout=0.5)
    deadline = time.monotonic() + 20
    while daemon.call("daemon.status")["requests_in_flight"] > 1:  # only the status call itself
        assert time.monotonic() < deadline, "the timed-out request was not cancelled"
        time.sleep(0.05)
