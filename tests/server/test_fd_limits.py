"""Running out of file descriptors: a raised limit, capped connections, one log line with counts."""

from __future__ import annotations

import logging
import resource
import select
import socket
import subprocess
import time

import pytest

from swampd.client import Client, RpcError
from swampd.server.logrepeat import RepeatFilter
from tests.conftest import DaemonProcess, swamp_command


def soft_nofile(pid: int) -> int:
    with open(f"/proc/{pid}/limits") as fh:
        for line in fh:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    raise AssertionError("no open-files limit")


def started_with_nofile(home, env, soft: int, hard: int) -> DaemonProcess:
    daemon = DaemonProcess(home, env)
    daemon.preexec_fn = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return daemon.start()


def test_the_soft_fd_limit_is_raised_to_the_hard_limit(swampd_home, daemon_env):
    daemon = started_with_nofile(swampd_home, daemon_env, 256, 1024)
    try:
        assert soft_nofile(daemon.pid) == 1024
        assert "raised the open-file limit from 256 to 1024" in daemon.log()
    finally:
        daemon.stop()


def test_running_out_of_fds_is_logged_once_with_counts_and_the_daemon_recovers(swampd_home, daemon_env):
    daemon = started_with_nofile(swampd_home, daemon_env, 64, 64)
    socks = []
    try:
        for _ in range(300):  # far more than 64 descriptors: accept() runs out
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect(daemon.paths.socket)
            except BlockingIOError:
                pass
            socks.append(s)
        time.sleep(4)
        log = daemon.log()
        assert "out of file descriptors (EMFILE): limit 64" in log
        assert log.count("out of file descriptors") <= 10  # once per episode, not once per attempt
        assert "Traceback" not in log and len(log.splitlines()) < 100, log[-2000:]
    finally:
        for s in socks:
            s.close()
    deadline = time.monotonic() + 30
    while True:  # the daemon takes connections again once they are closed
        try:
            with Client(daemon.paths.socket, timeout=5) as c:
                assert c.call("daemon.hello")["pid"] == daemon.pid
                limits = c.call("daemon.status")["limits"]
                break
        except (OSError, RpcError):
            assert time.monotonic() < deadline
            time.sleep(0.2)
    assert limits["accept_failures_total"] >= 1 and limits["fd_limit"] == 64
    daemon.stop()


class TestPerPeer:
    @pytest.fixture
    def daemon_env(self, daemon_env, swampd_home):
        (swampd_home / "config.toml").write_text("[daemon]\nmax_connections_per_peer = 4\n")
        return daemon_env

    def test_one_process_may_hold_only_so_many_connections(self, daemon, daemon_env):
        clients = [daemon.client(timeout=10) for _ in range(4)]
        try:
            for c in clients:
                c.call("daemon.hello")
            with daemon.client(timeout=10) as fifth, pytest.raises(RpcError) as info:
                fifth.call("daemon.hello")
            assert info.value.kind == "too_large" and "max_connections_per_peer" in info.value.message
            # Refused and closed before the request is sent: the send fails, the refusal is still said.
            with daemon.client(timeout=10) as sixth:
                assert select.select([sixth._sock], [], [], 10)[0]
                time.sleep(0.2)
                with pytest.raises(RpcError) as info:
                    sixth.call("daemon.hello")
            assert info.value.kind == "too_large"
            other = subprocess.run([*swamp_command(), "rpc", "daemon.hello"], env=daemon_env,
                                   capture_output=True, text=True, timeout=60)
            assert other.returncode == 0 and f'"pid":{daemon.pid}' in other.stdout  # another process may
        finally:
            for c in clients:
                c.close()
        with daemon.client(timeout=10) as again:  # closed ones count no more
            assert again.call("daemon.hello")["pid"] == daemon.pid


def record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("swampd.test", logging.ERROR, __file__, 1, msg, args, None)


def test_repeated_records_are_held_back_and_counted():
    now = [0.0]
    repeats = RepeatFilter(burst=3, window=10, clock=lambda: now[0])
    kept = [repeats.filter(record("accept failed on fd %d", i)) for i in range(100)]
    assert kept.count(True) == 3 and repeats.suppressed_total == 97
    assert repeats.filter(record("another message"))  # other kinds are not affected
    now[0] = 11.0
    later = record("accept failed on fd %d", 7)
    assert repeats.filter(later)
    assert "97 more like this were not logged" in later.getMessage()


def test_held_back_records_are_summarised_by_flush(caplog):
    now = [0.0]
    repeats = RepeatFilter(burst=1, window=5, clock=lambda: now[0])
    for _ in range(4):
        repeats.filter(record("disk full"))
    now[0] = 6.0
    with caplog.at_level(logging.ERROR, logger="swampd.test"):
        repeats.flush()
    assert "3 more records like this were not logged in 5s: disk full" in caplog.text
