"""`swamp fleet ...` and `swampd run --target` through a real daemon and the real sshd."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from tests.extensions.helpers import make_extension


def test_fleet_ls_add_rm(daemon, run_cli, swampd_home: Path) -> None:
    listed = run_cli("fleet")
    assert listed.returncode == 0, listed
    assert listed.stdout.splitlines()[0].split()[:5] == ["NAME", "KIND", "WHERE", "LABELS", "STATE"]
    assert any(line.split()[:2] == ["remote", "ssh"] for line in listed.stdout.splitlines())
    added = run_cli("fleet", "add", "ci@build-7.example:2222", "--label", "gpu", "-o", "ProxyJump=bastion")
    assert added.returncode == 0, added
    assert "added ssh build-7.example (ci@build-7.example:2222)" in added.stdout
    table = tomllib.loads((swampd_home / "config.toml").read_text())["fleet"]["hosts"]["build-7.example"]
    assert table == {"destination": "ci@build-7.example:2222", "labels": ["gpu"],
                     "ssh_options": ["-oProxyJump=bastion"]}
    as_json = run_cli("--json", "fleet", "ls").json()
    assert {h["name"] for h in as_json["hosts"]} >= {"remote", "build-7.example"}
    refused = run_cli("fleet", "add", "ci@build-7.example:2222")
    assert refused.returncode != 0 and "exists already" in refused.stderr
    assert run_cli("fleet", "rm", "build-7.example").returncode == 0
    assert "build-7.example" not in (swampd_home / "config.toml").read_text()
    serve = run_cli("fleet", "add", "--serve", "ws://127.0.0.1:9", "--name", "s1", "--token-secret", "host/T")
    assert serve.returncode == 0 and "added serve s1" in serve.stdout, serve


def test_fleet_ping_exit_codes(daemon, run_cli) -> None:
    up = run_cli("fleet", "ping", "remote")
    assert up.returncode == 0 and up.stdout.startswith("remote: up, "), up
    down = run_cli("fleet", "ping", "remote", "dead")
    assert down.returncode != 0
    assert "dead: down: " in down.stdout and "Connection refused" in down.stdout


def test_fleet_push_and_rpc(daemon, run_cli, tmp_path: Path) -> None:
    src = make_extension(tmp_path / "ext")
    daemon.call("extensions.install", {"source": str(src)})
    pushed = run_cli("fleet", "push", "remote", "--ext", "@acme/tools")
    assert pushed.returncode == 0, pushed
    assert pushed.stdout.startswith("@acme/tools@2026.01.15.1 -> remote: installed, checksum ")
    again = run_cli("--json", "fleet", "push", "remote", "--ext", "@acme/tools").json()
    assert again["status"] == "unchanged"
    echo = run_cli("fleet", "rpc", "remote", "rpc.echo", '{"value": [1, 2]}')
    assert echo.returncode == 0 and json.loads(echo.stdout) == [1, 2]
    missing = run_cli("fleet", "push", "remote", "--ext", "@acme/nothing")
    assert missing.returncode != 0 and "not installed" in missing.stderr


def test_swampd_run_on_a_target(daemon, run_swampd, run_cli, remote_home) -> None:
    repo = remote_home.mkdir("repo")
    ran = run_swampd("--json", "run", "hello", "execute", "--input", "who=fleet", "--target", "remote",
                     "--repo", str(repo))
    assert ran.returncode == 0, ran
    assert ran.json()["modelName"] == "hello" and ran.json()["methodArguments"] == {"who": "fleet"}
    job = run_cli("--json", "jobs", "ls").json()["jobs"][0]
    shown = run_cli("jobs", "show", job["id"])
    assert "target     remote -> remote (ssh " in shown.stdout, shown
    listed = run_cli("jobs", "ls")
    assert "hello.execute @ remote" in listed.stdout
