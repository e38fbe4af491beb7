"""Lifecycle like sccache and Bazel: autostart, one daemon, recovery, idle exit, drain."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

import pytest

from swampd import protocol
from swampd.client import Client, RpcError, connect
from tests.conftest import DaemonProcess, daemon_pids, swamp_command, wait_until


@pytest.mark.slow
def test_fifty_concurrent_first_calls_start_exactly_one_daemon(swampd_home, daemon_env):
    env = dict(daemon_env, SWAMPD_AUTOSTART="1")
    procs = [
        subprocess.Popen([*swamp_command(), "rpc", "daemon.hello"], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(50)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    codes = [p.returncode for p in procs]
    assert codes == [0] * 50, [o[1] for o in outputs if o[1]][:3]
    pids = {json.loads(out)["pid"] for out, _ in outputs}
    assert len(pids) == 1
    assert daemon_pids(swampd_home) == list(pids)
    assert not any("in-process" in err for _, err in outputs)


def test_kill9_then_a_call_recovers(swampd_home, daemon_env, run_cli):
    env = dict(daemon_env, SWAMPD_AUTOSTART="1")
    first = run_cli("rpc", "daemon.hello", env=env)
    assert first.returncode == 0, first
    old_pid = first.json()["pid"]
    os.kill(old_pid, signal.SIGKILL)
    wait_until(lambda: not os.path.exists(f"/proc/{old_pid}") or open(f"/proc/{old_pid}/stat").read().split()[2] == "Z")
    socket_path = swampd_home / "run" / "swampd.sock"
    assert socket_path.exists()  # the dead daemon left its socket and pidfile behind
    second = run_cli("rpc", "daemon.hello", env=env)
    assert second.returncode == 0, second
    assert second.json()["pid"] != old_pid
    assert "recovered stale files" in (swampd_home / "state" / "swampd.log").read_text()


def test_autostart_off_falls_back_in_process_with_one_line(run_cli, daemon_env):
    env = dict(daemon_env, SWAMPD_AUTOSTART="0")
    result = run_cli("rpc", "rpc.echo", '["hi"]', env=env)
    assert result.returncode == 0
    assert result.json() == "hi"
    assert len(result.stderr.strip().splitlines()) == 1
    assert "autostart is off" in result.stderr and "in-process" in result.stderr


def test_autostart_off_in_config_file(run_cli, daemon_env, swampd_home):
    (swampd_home / "config.toml").write_text("[daemon]\nautostart = false\n")
    result = run_cli("rpc", "daemon.hello")
    assert result.returncode == 0
    assert "autostart is off" in result.stderr
    assert daemon_pids(swampd_home) == []


def test_idle_shutdown_fires_when_idle(swampd_home, daemon_env):
    proc = DaemonProcess(swampd_home, dict(daemon_env, SWAMPD_IDLE_TIMEOUT="1")).start()
    assert proc.wait_exit(timeout=30) == 0
    assert "idle for 1s" in proc.log()
    assert not os.path.exists(proc.paths.socket)
    assert not os.path.exists(proc.paths.pidfile)


def test_idle_shutdown_waits_for_subscriptions(swampd_home, daemon_env):
    proc = DaemonProcess(swampd_home, dict(daemon_env, SWAMPD_IDLE_TIMEOUT="1")).start()
    with proc.client() as client:
        client.subscribe(["daemon"])
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait_exit(timeout=4)  # four idle periods pass; the subscription holds it
        assert client.call("daemon.hello")["pid"] == proc.pid
    assert proc.wait_exit(timeout=30) == 0


def test_sigterm_drains_twenty_slow_requests(daemon):
    results: list[object] = []

    def slow_call():
        with daemon.client(timeout=60) as c:
            try:
                results.append(c.call("rpc.sleep", {"seconds": 1.5}))
            except Exception as exc:  # noqa: BLE001 - recorded and asserted below
                results.append(exc)

    threads = [threading.Thread(target=slow_call) for _ in range(20)]
    for t in threads:
        t.start()
    wait_until(lambda: daemon.call("daemon.status")["requests_in_flight"] >= 21)
    os.kill(daemon.pid, signal.SIGTERM)
    for t in threads:
        t.join(timeout=60)
    assert results == [{"slept": 1.5}] * 20
    assert daemon.wait_exit(timeout=30) == 0
    assert "signal SIGTERM" in daemon.log()


def test_drain_grace_bounds_shutdown(swampd_home, daemon_env):
    proc = DaemonProcess(swampd_home, dict(daemon_env, SWAMPD_DRAIN_GRACE="0.5")).start()
    with proc.client(timeout=60) as c:
        request_id = c.request("rpc.sleep", {"seconds": 120})
        wait_until(lambda: proc.call("daemon.status")["requests_in_flight"] >= 2)
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait_exit(timeout=30) == 0
        reply = c.wait_reply(request_id)
    assert reply["error"]["data"]["kind"] == "shutting_down"
    assert "drain grace" in proc.log()


def test_daemon_stop_is_graceful(daemon, run_cli):
    result = run_cli("daemon", "stop")
    assert result.returncode == 0, result
    assert "stopped" in result.stdout
    assert daemon.wait_exit(timeout=30) == 0


def test_daemon_status_start_restart_clean(swampd_home, daemon_env, run_cli):
    assert run_cli("daemon", "status").returncode == 3
    started = run_cli("--json", "daemon", "start")
    assert started.returncode == 0, started
    pid = started.json()["pid"]
    status = run_cli("--json", "daemon", "status").json()
    assert status["pid"] == pid and status["running"] is True
    assert status["socket"] == str(swampd_home / "run" / "swampd.sock")
    assert run_cli("daemon", "clean").returncode != 0  # refused while running
    restarted = run_cli("--json", "daemon", "restart").json()
    assert restarted["pid"] != pid
    os.kill(restarted["pid"], signal.SIGKILL)
    wait_until(lambda: daemon_pids(swampd_home) == [])
    cleaned = run_cli("--json", "daemon", "clean").json()
    assert str(swampd_home / "run" / "swampd.sock") in cleaned["removed"]
    logs = run_cli("daemon", "logs", "-n", "5")
    assert "listening on" in logs.stdout


def test_install_service_dry_run(run_cli):
    result = run_cli("--json", "daemon", "install-service", "--dry-run")
    unit = result.json()
    assert unit["written"] is False
    exec_line = next(line for line in unit["unit"].splitlines() if line.startswith("ExecStart="))
    python = exec_line.removeprefix("ExecStart=").split()[0]
    assert exec_line.endswith(" -m swampd")
    assert os.path.samefile(os.path.dirname(python), os.path.dirname(sys.executable))
    assert "[Install]" in unit["unit"]


def test_install_service_writes_user_unit(run_cli, daemon_env, swampd_home):
    env = dict(daemon_env, XDG_CONFIG_HOME=str(swampd_home / "xdg"))
    result = run_cli("--json", "daemon", "install-service", env=env)
    path = swampd_home / "xdg" / "systemd" / "user" / "swampd.service"
    assert result.json()["path"] == str(path)
    assert path.read_text().startswith("[Unit]")
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_no_daemon_matches_daemon(daemon, run_cli):
    calls = [
        ("rpc.discover", None),
        ("rpc.echo", '{"value": {"a": [1, 2.5, "\\u00e9"]}}'),
        ("no.such.method", None),
        ("rpc.sleep", '{"seconds": "x"}'),
        ("events.subscribe", '{"topics": ["nope"]}'),
    ]
    for method, params in calls:
        args = ["rpc", method] + ([params] if params else [])
        through_daemon = run_cli(*args)
        in_process = run_cli("--no-daemon", *args)
        assert through_daemon.returncode == in_process.returncode, method
        assert through_daemon.stdout == in_process.stdout, method
        assert through_daemon.stderr == in_process.stderr, method


def test_stdio_mode_relays_to_the_daemon(daemon, daemon_env):
    requests = (
        '{"jsonrpc": "2.0", "method": "daemon.hello", "id": 1}\n'
        '{"jsonrpc": "2.0", "method": "rpc.echo", "params": ["over ssh"], "id": 2}\n'
    )
    result = subprocess.run([sys.executable, "-m", "swampd", "--stdio"], input=requests, env=daemon_env,
                            capture_output=True, text=True, timeout=60)
    replies = {r["id"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert replies[1]["result"]["pid"] == daemon.pid
    assert replies[2]["result"] == "over ssh"


def test_protocol_mismatch_restarts_the_daemon(daemon, monkeypatch):
    old_pid = daemon.pid
    monkeypatch.setattr(protocol, "PROTOCOL_VERSION", protocol.PROTOCOL_VERSION + 1)
    with pytest.raises(RpcError) as info:
        connect(daemon.paths, autostart=False)
    assert info.value.kind == "version_mismatch"
    assert "swamp daemon restart" in info.value.message
    monkeypatch.setenv("SWAMPD_HOME", str(daemon.home))
    client = connect(daemon.paths, autostart=True)
    try:
        assert client.hello["pid"] != old_pid
    finally:
        client.close()
    assert daemon.wait_exit(timeout=30) == 0  # the old daemon drained and exited


def test_a_second_daemon_exits_and_leaves_the_first_alone(daemon, daemon_env):
    result = subprocess.run([sys.executable, "-m", "swampd"], env=daemon_env, capture_output=True, timeout=30)
    assert result.returncode == 0
    with Client(daemon.paths.socket) as c:
        assert c.call("daemon.hello")["pid"] == daemon.pid
