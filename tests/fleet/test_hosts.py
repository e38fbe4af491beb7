"""Hosts over a real sshd: one shared session, bounded failures, clear errors, state on the `fleet` topic."""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path

import pytest

from swampd import protocol
from swampd.client import RpcError
from tests.conftest import wait_until
from tests.fleet.conftest import OTHER_PROTOCOL, events_of, replies_to


def accepted_logins(sshd) -> int:
    return sshd.log.read_text(errors="replace").count("Accepted publickey")


def test_ping_reaches_the_remote_daemon_and_calls_reuse_one_session(daemon, sshd, remote_home) -> None:
    before = accepted_logins(sshd)
    [result] = daemon.call("fleet.ping", {"names": ["remote"]})["hosts"]
    assert result["state"] == "up" and result["reachable"] is True, result
    assert result["protocol"] == protocol.PROTOCOL_VERSION
    assert result["version"] and result["rtt_ms"] > 0 and result["last_seen"]
    status = daemon.call("fleet.call", {"host": "remote", "method": "daemon.status"})
    assert status["pid"] != daemon.pid
    assert status["config"]["paths"]["runtime_dir"].startswith(str(remote_home.path))
    for _ in range(20):
        assert daemon.call("fleet.call", {"host": "remote", "method": "rpc.echo", "params": {"value": 7}}) == 7
    assert accepted_logins(sshd) == before + 1  # 22 calls, one ssh login
    listed = {h["name"]: h for h in daemon.call("fleet.list")["hosts"]}
    assert listed["remote"]["session"] is True and listed["remote"]["labels"] == ["linux", "test"]
    assert listed["dead"]["state"] == "unknown"


def test_concurrent_first_calls_share_one_connect(daemon, sshd) -> None:
    before = accepted_logins(sshd)
    with daemon.client() as client:
        ids = [client.request("fleet.call", {"host": "remote", "method": "rpc.echo", "params": {"value": i}})
               for i in range(8)]
        replies = replies_to(client, ids)
    assert [replies[i].get("result", replies[i]) for i in ids] == list(range(8))
    assert accepted_logins(sshd) == before + 1


def test_an_unreachable_host_is_reported_clearly(daemon) -> None:
    [result] = daemon.call("fleet.ping", {"names": ["dead"]})["hosts"]
    assert result["state"] == "down" and result["reachable"] is False
    assert result["error"]["kind"] == "backend_unavailable"
    assert "Connection refused" in result["error"]["message"] and "dead" in result["error"]["message"]
    with pytest.raises(RpcError) as exc:
        daemon.call("fleet.call", {"host": "dead", "method": "daemon.hello"})
    assert exc.value.kind == "backend_unavailable" and exc.value.data["host"] == "dead"


def test_a_host_that_never_answers_fails_within_the_connect_timeout(daemon) -> None:
    # `silent` accepts TCP and says nothing: ssh would wait for its banner; its connect_timeout is 3 s.
    with pytest.raises(RpcError) as exc:
        daemon.call("fleet.call", {"host": "silent", "method": "daemon.hello"})
    assert exc.value.kind in ("timeout", "backend_unavailable"), exc.value.to_error()
    [result] = daemon.call("fleet.ping", {"names": ["silent"]})["hosts"]
    assert result["state"] == "down"
    # the ssh processes it started are gone: nothing was left hanging
    wait_until(lambda: not _ssh_children(daemon.pid), 15, "ssh processes to exit")


def _ssh_children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=,comm=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in out.splitlines() if line.split()[1:] == ["ssh"]]


def test_another_protocol_version_is_refused_by_name(daemon) -> None:
    with pytest.raises(RpcError) as exc:
        daemon.call("fleet.call", {"host": "old", "method": "rpc.echo", "params": {"value": 1}})
    err = exc.value
    assert err.kind == "version_mismatch"
    assert "protocol 999" in err.message and f"protocol {protocol.PROTOCOL_VERSION}" in err.message
    [state] = [h for h in daemon.call("fleet.list")["hosts"] if h["name"] == "old"]
    assert state["state"] == "version_mismatch" and state["protocol"] == 999


def test_the_stand_in_answers_hello_with_the_real_daemons_keys(daemon) -> None:
    real = daemon.call("daemon.hello", {"client_protocol": 1})
    reply = subprocess.run(["python3", str(OTHER_PROTOCOL)], input='{"jsonrpc":"2.0","method":"daemon.hello",'
                           '"params":{"client_protocol":1},"id":1}\n', capture_output=True, text=True, check=True)
    import json

    assert set(json.loads(reply.stdout)["result"]) == set(real)


def test_host_state_is_published_on_the_fleet_topic(daemon) -> None:
    seen: dict[str, dict] = {}
    with daemon.client() as client:
        client.subscribe(["fleet"])
        client.request("fleet.ping", {"names": ["remote", "dead"]})

        def both(data: dict) -> bool:
            if data["type"] == "fleet.host" and data["state"] in ("up", "down"):
                seen[data["name"]] = data
            return {"remote", "dead"} <= set(seen)

        events_of(client, "fleet", both)
    assert seen["remote"]["state"] == "up" and seen["remote"]["protocol"] == protocol.PROTOCOL_VERSION
    assert seen["remote"]["rtt_ms"] is not None
    assert seen["dead"]["state"] == "down" and seen["dead"]["error"]["kind"] == "backend_unavailable"


def test_a_lost_session_fails_its_calls_and_the_next_call_reconnects(daemon, sshd, remote_home) -> None:
    first = daemon.call("fleet.call", {"host": "remote", "method": "daemon.status"})["pid"]
    with daemon.client() as client:
        client.subscribe(["fleet"])
        # a call that would wait a minute on the remote side, then the remote daemon is killed
        waiting = client.request("fleet.call", {"host": "remote", "method": "jobs.wait",
                                                "params": {"id": "nope"}})
        reply = client.wait_reply(waiting)
        assert reply["error"]["data"]["kind"] == "not_found"
        long_call = client.request("fleet.call", {"host": "remote", "method": "jobs.submit", "params": {
            "kind": "command", "argv": ["sleep", "60"]}})
        wait_until(lambda: daemon.call("fleet.call", {"host": "remote", "method": "jobs.list",
                                                      "params": {"state": "running"}})["jobs"], 30, "remote job")
        os.kill(first, 9)
        reply = client.wait_reply(long_call)
        assert reply["error"]["data"]["kind"] == "backend_unavailable", reply
        assert reply["error"]["data"]["host"] == "remote"
        events_of(client, "fleet", lambda d: d["name"] == "remote" and d["state"] == "down")
    second = daemon.call("fleet.call", {"host": "remote", "method": "daemon.status"})["pid"]
    assert second != first  # a new session autostarted the remote daemon again


def test_add_and_remove_edit_the_host_config_and_keep_the_rest(daemon, swampd_home: Path) -> None:
    config = swampd_home / "config.toml"
    before = config.read_text()
    added = daemon.call("fleet.add", {"name": "build-1.eu", "destination": "ci@build-1.internal",
                                      "labels": ["gpu", "eu"]})
    assert added["replaced"] is False and added["kind"] == "ssh"
    text = config.read_text()
    assert text.startswith(before.rstrip("\n"))  # appended: comments and other tables untouched
    doc = tomllib.loads(text)
    assert doc["fleet"]["hosts"]["build-1.eu"] == {"destination": "ci@build-1.internal", "labels": ["gpu", "eu"]}
    with pytest.raises(RpcError) as exc:
        daemon.call("fleet.add", {"name": "build-1.eu", "destination": "other"})
    assert exc.value.kind == "conflict"
    daemon.call("fleet.add", {"name": "build-1.eu", "destination": "other", "replace": True})
    assert tomllib.loads(config.read_text())["fleet"]["hosts"]["build-1.eu"] == {"destination": "other"}
    daemon.call("fleet.add", {"name": "prod", "url": "ws://127.0.0.1:9", "token_secret": "host/SERVE"})
    names = {h["name"]: h for h in daemon.call("fleet.list")["hosts"]}
    assert names["prod"]["kind"] == "serve" and names["prod"]["token"] == "vault host/SERVE"
    daemon.call("fleet.remove", {"name": "build-1.eu"})
    daemon.call("fleet.remove", {"name": "prod"})
    assert config.read_text() == before
    assert "build-1.eu" not in {h["name"] for h in daemon.call("fleet.list")["hosts"]}


@pytest.mark.parametrize("params, kind", [
    ({"name": "x y", "destination": "h"}, "invalid_input"),
    ({"name": "x", "destination": "-oProxyCommand=evil"}, "invalid_input"),
    ({"name": "x", "destination": "h", "url": "ws://h:1"}, "invalid_input"),
    ({"name": "x", "url": "ftp://h"}, "invalid_input"),
    ({"name": "x", "url": "ws://h:1", "token_secret": "nokey"}, "invalid_input"),
    ({"name": "x", "destination": "h", "labels": ["bad label"]}, "invalid_input"),
    ({"name": "remote", "destination": "h"}, "conflict"),
    ({"name": "x", "destination": "h", "labels": [1]}, "invalid_params"),
])
def test_bad_entries_are_refused_and_change_nothing(daemon, swampd_home: Path, params, kind) -> None:
    before = (swampd_home / "config.toml").read_text()
    with pytest.raises(RpcError) as exc:
        daemon.call("fleet.add", params)
    assert exc.value.kind == kind, exc.value.to_error()
    assert (swampd_home / "config.toml").read_text() == before


def test_a_token_in_the_config_file_is_refused_at_start(daemon_env, swampd_home: Path) -> None:
    from tests.conftest import DaemonProcess

    config = swampd_home / "config.toml"
    config.write_text(config.read_text() + '\n[fleet.serve."s"]\nurl = "ws://h:1"\ntoken = "sekrit-value"\n')
    with pytest.raises(RuntimeError) as exc:
        DaemonProcess(swampd_home, daemon_env).start(timeout=15)
    assert "token_secret" in str(exc.value) and "sekrit-value" not in str(exc.value)


class TestMonitor:
    """Open sessions are pinged every ping_interval and closed after session_idle unused seconds."""

    @pytest.fixture
    def daemon_env(self, daemon_env: dict[str, str], swampd_home: Path) -> dict[str, str]:
        config = swampd_home / "config.toml"
        config.write_text(config.read_text().replace("ping_interval = 0\n", "ping_interval = 1\nsession_idle = 4\n"))
        return daemon_env

    def test_an_open_session_is_pinged_then_closed_when_idle(self, daemon, sshd) -> None:
        with daemon.client() as client:
            client.subscribe(["fleet"])
            daemon.call("fleet.call", {"host": "remote", "method": "rpc.echo", "params": {"value": 1}})
            first = events_of(client, "fleet", lambda d: d["name"] == "remote" and d["state"] == "up")
            pinged = events_of(client, "fleet", lambda d: d["name"] == "remote" and d["state"] == "up"
                               and d["checked_at"] > first["checked_at"])
            assert pinged["session"] is True
            closed = events_of(client, "fleet", lambda d: d["name"] == "remote" and d["session"] is False)
        assert closed["state"] == "up"  # closed for being idle, not because the host went away
        [state] = [h for h in daemon.call("fleet.list")["hosts"] if h["name"] == "remote"]
        assert state["session"] is False
        assert daemon.call("fleet.call", {"host": "remote", "method": "rpc.echo", "params": {"value": 2}}) == 2
