"""`swamp ctx put|get|ls|rm|watch`: the real console script against a real daemon."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from tests.conftest import DaemonProcess, swamp_command, wait_until


def test_put_get_ls_rm(daemon: DaemonProcess, run_cli: Any) -> None:
    put = run_cli("ctx", "put", "run-1", "plan", '{"steps": ["a", "b"]}', "--ttl", "10m")
    assert put.returncode == 0, put
    assert put.stdout.startswith("run-1/plan: version ") and "expires in 10m00s" in put.stdout
    assert run_cli("ctx", "get", "run-1", "plan").stdout == '{"steps":["a","b"]}\n'
    full = run_cli("--json", "ctx", "get", "run-1", "plan").json()
    assert full["value"] == {"steps": ["a", "b"]} and full["ttl"] == 600
    assert run_cli("ctx", "put", "run-1", "note", "--text", input="free text\n").returncode == 0
    assert run_cli("--json", "ctx", "get", "run-1", "note").json()["value"] == "free text"
    scopes = run_cli("ctx", "ls").stdout.splitlines()
    assert scopes[0].split() == ["SCOPE", "KEYS", "SIZE", "NEXT", "EXPIRY", "LAST", "EXPIRY"]
    assert scopes[1].split()[:2] == ["run-1", "2"]
    keys = run_cli("ctx", "ls", "run-1").stdout.splitlines()
    assert [line.split()[0] for line in keys] == ["KEY", "note", "plan"]
    assert run_cli("ctx", "rm", "run-1", "plan").stdout == "dropped 1 key(s) of run-1/plan\n"
    assert run_cli("ctx", "rm", "run-1").stdout == "dropped 1 key(s) of scope run-1\n"
    assert run_cli("ctx", "ls").stdout == "no context scopes\n"


def test_compare_and_set_from_the_command_line(daemon: DaemonProcess, run_cli: Any) -> None:
    first = run_cli("--json", "ctx", "put", "s", "n", "1", "--if-version", "0").json()
    again = run_cli("--json", "ctx", "put", "s", "n", "2", "--if-version", "0")
    assert again.returncode == 1
    error = json.loads(again.stderr)
    assert error["data"]["kind"] == "conflict" and error["data"]["current_version"] == first["version"]
    assert run_cli("ctx", "put", "s", "n", "2", "--if-version", str(first["version"])).returncode == 0
    assert run_cli("ctx", "get", "s", "n").stdout == "2\n"


def test_refusals_are_clear_and_change_nothing(daemon: DaemonProcess, run_cli: Any) -> None:
    run_cli("ctx", "put", "s", "k", '"before"')
    not_json = run_cli("ctx", "put", "s", "k", "{oops")
    assert not_json.returncode == 2 and "VALUE is not JSON" in not_json.stderr
    bad_scope = run_cli("ctx", "put", "no/slash", "k", "1")
    assert bad_scope.returncode == 1 and "scope 'no/slash' is not valid" in bad_scope.stderr
    bad_ttl = run_cli("ctx", "put", "s", "k", "1", "--ttl", "2d")
    assert bad_ttl.returncode == 1 and "ttl must be > 0 and at most 86400 seconds" in bad_ttl.stderr
    not_duration = run_cli("ctx", "put", "s", "k", "1", "--ttl", "soon")
    assert not_duration.returncode == 2 and "is not a duration" in not_duration.stderr
    too_big = run_cli("ctx", "put", "s", "k", "-", input=json.dumps("x" * (1 << 20)))
    assert too_big.returncode == 1 and "(too_large)" in too_big.stderr and "the limit is 1048576" in too_big.stderr
    missing = run_cli("ctx", "get", "s", "nope")
    assert missing.returncode == 1 and "(not_found)" in missing.stderr
    assert run_cli("ctx", "get", "s", "k").stdout == '"before"\n'
    assert run_cli("--json", "ctx", "ls", "s").json()["keys"][0]["version"] == \
        run_cli("--json", "ctx", "get", "s", "k").json()["version"]


def test_watch_prints_json_lines_and_ends_cleanly_when_the_daemon_stops(daemon: DaemonProcess, run_cli: Any) -> None:
    watch = subprocess.Popen([*swamp_command(), "ctx", "watch", "run-2"], env=daemon.env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: daemon.call("daemon.status")["subscriptions"] >= 2, what="the watch subscribed")
        run_cli("ctx", "put", "run-2", "a", "[1, 2]")
        run_cli("ctx", "put", "run-2", "b", "3", "--ttl", "1")
        wait_until(lambda: not daemon.call("context.list", {"scope": "run-2"})["keys"][1:], what="b expired")
        daemon.stop()
        out, err = watch.communicate(timeout=60)
    finally:
        watch.kill()
    assert watch.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(e["type"], e.get("key")) for e in lines] == [
        ("context.put", "a"), ("context.put", "b"), ("context.expired", "b"), ("events.end", None)]
    assert lines[0]["value"] == [1, 2] and lines[0]["topic"] == "context" and lines[0]["scope"] == "run-2"
    assert lines[-1]["reason"] == "the daemon shut down"
