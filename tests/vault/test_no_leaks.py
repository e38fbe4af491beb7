"""No leaks: planted secret values appear nowhere but in the one reveal: true reply.

Exercises every vault method and failure path through a real daemon (wrong key, missing
vault, refresh command failing or timing out, conflicts, bad params, locked vault), then
searches every RPC reply and error, the `vault` event stream, the daemon log and stderr,
and every file under the daemon's home (state, cache, data, runtime) and the repo.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from swampd.client import RpcError

from .conftest import Repo
from .swamp_format import write_swamp_key_file, write_swamp_secret

pytestmark = pytest.mark.keyring


@pytest.fixture
def daemon_env(swampd_home: Path) -> dict[str, str]:
    """Debug logging, so anything that would log a value does."""
    from tests.conftest import base_env

    (swampd_home / "config.toml").write_text('[daemon]\nlog_level = "debug"\n')
    return base_env(swampd_home)


class Recorder:
    """Every reply and every error the client saw, as text."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.texts: list[tuple[str, str]] = []

    def call(self, method: str, params: Any) -> Any:
        try:
            result = self.client.call(method, params)
        except RpcError as exc:
            self.texts.append((f"{method} error", json.dumps(exc.to_error(), ensure_ascii=False) + str(exc)))
            return exc
        self.texts.append((method, json.dumps(result, ensure_ascii=False)))
        return result

    def fails(self, method: str, params: Any) -> str:
        """Call a method that must fail; its error kind."""
        result = self.call(method, params)
        assert isinstance(result, RpcError), f"{method} succeeded"
        return result.kind


def canary(tag: str) -> str:
    return f"CANARY-{tag}-{uuid.uuid4().hex}"


def _files_containing(root: str, needles: dict[str, str]) -> list[tuple[str, str]]:
    hits = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            for tag, value in needles.items():
                if value.encode() in data:
                    hits.append((tag, path))
    return hits


def test_secret_values_never_leak(
    daemon, repo: Repo, secret_service: str, swampd_home: Path, run_swampd
) -> None:
    values = {
        tag: canary(tag)
        for tag in (
            "host",
            "repo",
            "conflict",
            "cmd-fail",
            "cmd-timeout",
            "wrong-key",
            "missing-vault",
            "bad-type",
            "bad-key",
            "locked",
            "too-large",
            "rotated-in",
            "cli-put",
            "cli-fail",
            "hook-fail",
        )
    }
    # A second vault whose secret was written with other key material (wrong key).
    repo.add_vault("broken")
    write_swamp_key_file(repo.root, "broken", b"k" * 72)
    write_swamp_secret(repo.root, "broken", "W", values["wrong-key"], b"not the key" * 7)

    events: list[dict[str, Any]] = []
    sub_ready = threading.Event()
    stop = threading.Event()

    def follow() -> None:
        with daemon.client() as sub:
            sub.subscribe(["vault"])
            sub_ready.set()
            while not stop.is_set():
                try:
                    events.append(sub.next_notification(timeout=0.2))
                except Exception:  # noqa: BLE001 - timeout while idle; loop until stopped
                    continue

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    assert sub_ready.wait(20)

    r = repo.root
    with daemon.client() as client:
        rec = Recorder(client)
        rec.call("vault.put", {"vault": "host", "key": "HOST_K", "value": values["host"], "labels": {"a": "b"}})
        rec.call("vault.put", {"vault": "dev", "key": "REPO_K", "value": values["repo"], "repo": r})
        rec.call("vault.put", {"vault": "dev", "key": "ROT", "value": "seed", "repo": r})
        # conflicts, bad params, bad keys, missing vault, too large
        assert (
            rec.fails("vault.put", {"vault": "dev", "key": "REPO_K", "value": values["conflict"], "repo": r})
            == "conflict"
        )
        assert rec.fails("vault.put", {"vault": "host", "key": "HOST_K", "value": values["conflict"]}) == "conflict"
        assert (
            rec.fails("vault.put", {"vault": "dev", "key": "T", "value": [values["bad-type"]], "repo": r})
            == "invalid_params"
        )
        assert (
            rec.fails("vault.put", {"vault": "dev", "key": "../x", "value": values["bad-key"], "repo": r})
            == "invalid_input"
        )
        assert (
            rec.fails("vault.put", {"vault": "nope", "key": "K", "value": values["missing-vault"], "repo": r})
            == "not_found"
        )
        assert rec.fails("vault.put", {"vault": "nope", "key": "K", "value": values["missing-vault"]}) == "not_found"
        big = values["too-large"] * (2 * 1024 * 1024 // len(values["too-large"]))
        assert rec.fails("vault.put", {"vault": "dev", "key": "BIG", "value": big, "repo": r}) == "invalid_params"
        # reads: metadata, listing, audit, status
        rec.call("vault.get", {"vault": "host", "key": "HOST_K"})
        rec.call("vault.get", {"vault": "dev", "key": "REPO_K", "repo": r})
        rec.call("vault.list", {})
        rec.call("vault.list", {"vault": "dev", "repo": r})
        rec.call("vault.status", {})
        assert rec.fails("vault.get", {"vault": "broken", "key": "W", "repo": r, "reveal": True}) == "invalid_input"
        assert rec.fails("vault.get", {"vault": "nope", "key": "K", "reveal": True}) == "not_found"
        assert rec.fails("vault.get", {"vault": "dev", "key": "MISSING", "repo": r, "reveal": True}) == "not_found"
        # rotation: failing command, timing-out command, a good command, by policy
        failing = f"echo {values['cmd-fail']}; echo {values['cmd-fail']} >&2; exit 7"
        assert (
            rec.fails("vault.rotate", {"vault": "dev", "key": "ROT", "repo": r, "command": failing}) == "call_failed"
        )
        slow = f"echo {values['cmd-timeout']}; sleep 30"
        assert (
            rec.fails("vault.rotate", {"vault": "host", "key": "HOST_K", "command": slow, "timeout": 0.5})
            == "timeout"
        )
        rec.call("vault.rotate", {"vault": "dev", "key": "ROT", "repo": r, "command": f"echo {values['rotated-in']}"})
        rec.call("vault.rotate", {"vault": "host", "key": "HOST_K", "length": 24})
        # a refresh hook failing on read: the stored value is served, the output goes nowhere
        hook_cmd = f"echo {values['hook-fail']}; echo {values['hook-fail']} >&2; exit 3"
        rec.call("vault.put", {"vault": "dev", "key": "HOOK", "value": "hook-seed", "repo": r,
                               "refresh_command": hook_cmd, "refresh_ttl": 1})
        assert rec.call("vault.get", {"vault": "dev", "key": "HOOK", "repo": r, "reveal": True})["value"] == "hook-seed"
        rec.call("vault.audit", {})
        # locked: every value operation refused
        rec.call("vault.lock", {})
        assert (
            rec.fails("vault.put", {"vault": "dev", "key": "L", "value": values["locked"], "repo": r})
            == "vault_locked"
        )
        assert rec.fails("vault.get", {"vault": "dev", "key": "REPO_K", "repo": r, "reveal": True}) == "vault_locked"
        rec.call("vault.unlock", {})
        # the one reveal
        revealed = rec.call("vault.get", {"vault": "dev", "key": "REPO_K", "repo": r, "reveal": True})
        assert revealed["value"] == values["repo"]
        reveal_index = len(rec.texts) - 1
        rec.call("vault.delete", {"vault": "dev", "key": "REPO_K", "repo": r})
        rec.call("vault.delete", {"vault": "host", "key": "HOST_K"})
        rec.call("vault.delete", {"vault": "host", "key": "HOST_K"})

    # The CLI: a value on stdin, metadata, listing, a failing rotation, the audit trail.
    cli_out = []
    cli_codes: list[int] = []
    for argv, stdin in (
        (["vault", "put", "dev", "CLI_K", "--repo", r], values["cli-put"] + "\n"),
        (["vault", "put", "dev", "CLI_K", "--repo", r], values["conflict"]),
        (["vault", "put", "dev", "ARGV_K", values["cli-put"], "--repo", r], ""),
        (["vault", "get", "dev", "CLI_K", "--repo", r], None),
        (["--json", "vault", "get", "dev", "CLI_K", "--repo", r], None),
        (["vault", "ls"], None),
        (["--json", "vault", "ls"], None),
        (["vault", "rotate", "dev", "CLI_K", "--repo", r, "--command", f"echo {values['cli-fail']}; exit 1"], None),
        (["--json", "vault", "rotate", "dev", "CLI_K", "--repo", r, "--command", f"echo {values['cli-fail']}; false"],
         None),
        (["vault", "audit"], None),
        (["vault", "rm", "dev", "CLI_K", "--repo", r], None),
    ):
        res = run_swampd(*argv, input=stdin)
        cli_out.append((" ".join(argv[:3]), res.stdout + res.stderr))
        cli_codes.append(res.returncode)
    assert cli_codes == [0, 1, 2, 0, 0, 0, 0, 1, 1, 0, 0], cli_out

    stop.set()
    follower.join(10)
    assert any(e["params"]["data"]["type"] == "vault.rotate.failed" for e in events)
    assert any(e["params"]["data"]["type"] == "vault.refresh.failed" for e in events)
    daemon.stop()

    hits: list[tuple[str, str]] = []
    for i, (what, text) in enumerate(rec.texts):
        for tag, value in values.items():
            if value in text and not (i == reveal_index and tag == "repo"):
                hits.append((tag, f"reply {i} {what}"))
    for what, text in cli_out:
        hits += [(tag, f"cli {what}") for tag, value in values.items() if value in text]
    events_text = json.dumps(events, ensure_ascii=False)
    hits += [(tag, "event stream") for tag, value in values.items() if value in events_text]
    logs = daemon.log() + daemon.stderr()
    hits += [(tag, "daemon log") for tag, value in values.items() if value in logs]
    hits += _files_containing(str(swampd_home), values)
    hits += _files_containing(repo.root, values)
    assert hits == []
    assert sum(values["repo"] in text for _, text in rec.texts) == 1
    assert len(events) > 10 and logs  # the searches looked at something
