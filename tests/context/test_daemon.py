"""context.* through a real daemon on a real socket: concurrent CAS from many processes, restarts, watch."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest

from swampd.client import RpcError
from tests.conftest import DaemonProcess, wait_until

INCREMENTER = textwrap.dedent("""
    import sys
    from swampd.client import Client, RpcError

    client = Client(sys.argv[1], timeout=120)
    conflicts = 0
    for _ in range(int(sys.argv[2])):
        while True:
            got = client.call("context.get", {"scope": "race", "key": "counter"})
            try:
                client.call("context.put", {"scope": "race", "key": "counter", "value": got["value"] + 1,
                                            "if_version": got["version"]})
                break
            except RpcError as exc:
                if exc.kind != "conflict":
                    raise
                conflicts += 1
    print(conflicts)
""")


def test_twenty_processes_increment_one_key_with_cas_and_lose_nothing(daemon: DaemonProcess) -> None:
    daemon.call("context.put", {"scope": "race", "key": "counter", "value": 0})
    procs = [subprocess.Popen([sys.executable, "-c", INCREMENTER, daemon.paths.socket, "50"], env=daemon.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(20)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * 20, [err for _, err in outputs]
    got = daemon.call("context.get", {"scope": "race", "key": "counter"})
    assert got["value"] == 1000
    assert sum(int(out) for out, _ in outputs) > 0  # they did collide: the CAS refusals were real


def test_acknowledged_values_survive_kill_9(daemon: DaemonProcess) -> None:
    put = daemon.call("context.put", {"scope": "run-7", "key": "plan", "value": {"steps": ["a", "b"]}, "ttl": 600})
    daemon.kill9()
    daemon.start()
    got = daemon.call("context.get", {"scope": "run-7", "key": "plan"})
    assert (got["value"], got["version"]) == ({"steps": ["a", "b"]}, put["version"])
    assert got["ttl_left"] <= 600


def test_a_deadline_passed_while_the_daemon_was_down_removes_the_key(daemon: DaemonProcess) -> None:
    daemon.call("context.put", {"scope": "run-8", "key": "kept", "value": "k", "ttl": 600})
    short = daemon.call("context.put", {"scope": "run-8", "key": "short", "value": "s" * 100, "ttl": 1})
    daemon.stop()
    wait_until(lambda: time.time() > short["expires_at"], what="the deadline")
    daemon.start()
    with pytest.raises(RpcError) as missing:
        daemon.call("context.get", {"scope": "run-8", "key": "short"})
    assert missing.value.kind == "not_found"
    assert [k["key"] for k in daemon.call("context.list", {"scope": "run-8"})["keys"]] == ["kept"]
    # Removed from the store (its bytes given back), not only hidden from readers:
    wait_until(lambda: daemon.call("context.list")["bytes"] == len(b'"k"'), what="the expired bytes freed")


def test_watch_follows_a_scope_with_values_and_sees_expiry(daemon: DaemonProcess) -> None:
    with daemon.client() as watcher:
        sub = watcher.call("context.watch", {"scope": "run-9"})["subscription"]
        daemon.call("context.put", {"scope": "other", "key": "x", "value": 1})  # another scope: not seen
        put = daemon.call("context.put", {"scope": "run-9", "key": "result", "value": {"ok": True}, "ttl": 0.5})
        seen: list[dict[str, Any]] = []
        while len(seen) < 2:
            seen.append(watcher.next_notification(timeout=30)["params"])
    assert [e["subscription"] for e in seen] == [sub, sub]
    assert [e["topic"] for e in seen] == ["context", "context"]
    first, second = seen[0]["data"], seen[1]["data"]
    assert (first["type"], first["key"], first["value"], first["version"]) == \
        ("context.put", "result", {"ok": True}, put["version"])
    assert (second["type"], second["key"], second["version"]) == ("context.expired", "result", put["version"])
    assert "value" not in second
    assert seen[1]["ts"] >= put["expires_at"]


def test_plain_subscribers_get_context_metadata_but_never_values(daemon: DaemonProcess) -> None:
    with daemon.client() as watcher:
        watcher.subscribe(["context"])
        daemon.call("context.put", {"scope": "s", "key": "k", "value": "private note"})
        event = watcher.next_notification(timeout=30)["params"]
    assert event["data"]["type"] == "context.put"
    assert "value" not in event["data"] and "private note" not in str(event)


def test_wrong_types_and_a_missing_value_are_refused_and_change_nothing(daemon: DaemonProcess) -> None:
    with pytest.raises(RpcError) as wrong:
        daemon.call("context.put", {"scope": "s", "key": "k", "value": 1, "ttl": True})
    assert wrong.value.kind == "invalid_params"
    with pytest.raises(RpcError) as missing:
        daemon.call("context.put", {"scope": "s", "key": "k"})
    assert "value" in missing.value.message
    assert daemon.call("context.list")["scopes"] == []
