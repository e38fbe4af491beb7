"""Vaults: every swamp vault command beside swampd on one repo's `local_encryption` vault, both ways
where swampd has the same operation (put, read, delete, labels, inspect, list, audit trail, rotate),
swamp-only commands (create, search, get, describe, edit) checked against what swampd then sees."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swampd.client import RpcError
from tests.conftest import DaemonProcess, RealSwamp, swampd_command

from .conftest import swampd_beside


class World:
    def __init__(self, real: RealSwamp, repo: Path, daemon: DaemonProcess, vault_id: str) -> None:
        self.real, self.repo, self.daemon, self.vault_id = real, repo, daemon, vault_id

    def swamp(self, *args: str, **kwargs: Any) -> Any:
        return self.real.json(*args, cwd=self.repo, **kwargs)

    def call(self, method: str, **params: Any) -> Any:
        return self.daemon.call(method, {"repo": str(self.repo), **params})

    def keys(self) -> dict[str, dict[str, Any]]:
        (vault,) = self.call("vault.list", vault="dev")["vaults"]
        return {k["key"]: k for k in vault["keys"]}

    def swamp_keys(self) -> list[str]:
        return self.swamp("vault", "list-keys", "dev")["secretKeys"]

    def reveal(self, key: str) -> str:
        return self.call("vault.get", vault="dev", key=key, reveal=True)["value"]

    def read_secret(self, key: str) -> str:
        return self.swamp("vault", "read-secret", "dev", key)["value"]


@pytest.fixture(scope="module")
def world(module_real_swamp: RealSwamp, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    repo = module_real_swamp.init_repo(tmp_path_factory.mktemp("vault") / "repo")
    created = module_real_swamp.json("vault", "create", "local_encryption", "dev", cwd=repo)
    with swampd_beside(module_real_swamp) as daemon:
        yield World(module_real_swamp, repo, daemon, created["id"])


def test_a_vault_swamp_creates_is_the_one_swampd_serves(world: World) -> None:
    """create, search, get, describe (swamp) against vault.list (swampd)."""
    (ours,) = world.call("vault.list", vault="dev")["vaults"]
    assert (ours["id"], ours["type"], ours["supported"]) == (world.vault_id, "local_encryption", True)
    assert [(v["id"], v["name"]) for v in world.swamp("vault", "search")["results"]] == [(world.vault_id, "dev")]
    assert world.swamp("vault", "get", "dev")["id"] == world.vault_id
    assert world.swamp("vault", "describe", "dev")["type"] == ours["type"]


def test_put_read_both_ways(world: World) -> None:
    world.swamp("vault", "put", "dev", "FROM_SWAMP=swamp-value")
    assert world.reveal("FROM_SWAMP") == "swamp-value"
    world.call("vault.put", vault="dev", key="FROM_SWAMPD", value="swampd-value", labels={"env": "prod"})
    assert world.read_secret("FROM_SWAMPD") == "swampd-value"
    assert sorted(world.swamp_keys()) == sorted(world.keys()) == ["FROM_SWAMP", "FROM_SWAMPD"]


def test_swampds_vault_put_takes_swamps_inline_form(world: World) -> None:
    """issue 10 #6: `vault put VAULT KEY=VALUE` typed at swampd's CLI stores KEY with VALUE, as swamp does."""
    put = subprocess.run([*swampd_command(), "vault", "put", "dev", "INLINE=sk-123=456", "--repo",
                          str(world.repo)], env=world.daemon.env, input="", capture_output=True, text=True,
                         timeout=120)
    assert put.returncode == 0, put.stderr
    assert world.read_secret("INLINE") == "sk-123=456"
    assert "INLINE" in world.swamp_keys()
    assert not any("sk-123" in key for key in world.swamp_keys())
    trail = world.swamp("vault", "audit-trail")["entries"]
    assert not any("sk-123" in entry["secretKey"] for entry in trail)


def test_labels_and_inspect_both_ways(world: World) -> None:
    """annotate and inspect (swamp) against put labels and vault.get (swampd)."""
    inspected = world.swamp("vault", "inspect", "dev", "FROM_SWAMPD")
    assert (inspected["sizeBytes"], inspected["valueType"]) == (len("swampd-value"), "string")
    assert inspected["annotation"]["labels"] == {"env": "prod"}
    world.swamp("vault", "annotate", "dev", "FROM_SWAMP", "--label", "team=ops", "--notes", "rotated by ops")
    meta = world.call("vault.get", vault="dev", key="FROM_SWAMP")
    assert meta["revealed"] is False and "value" not in meta
    assert (meta["labels"], meta["annotation"]["notes"]) == ({"team": "ops"}, "rotated by ops")
    assert world.call("vault.get", vault="dev", key="FROM_SWAMPD")["labels"] == {"env": "prod"}


def test_delete_both_ways(world: World) -> None:
    world.swamp("vault", "delete", "dev", "FROM_SWAMP")
    assert "FROM_SWAMP" not in world.keys()
    with pytest.raises(RpcError) as gone:
        world.reveal("FROM_SWAMP")
    assert gone.value.kind == "not_found"
    world.call("vault.delete", vault="dev", key="INLINE")
    assert "INLINE" not in world.swamp_keys()
    missing = world.real.run("vault", "read-secret", "dev", "INLINE", "--json", cwd=world.repo)
    assert missing.returncode != 0 and "not found" in missing.stderr


def test_rotation_is_read_by_swamp(world: World) -> None:
    rotated = world.call("vault.rotate", vault="dev", key="FROM_SWAMPD", length=24, alphabet="hex")
    assert rotated["source"] == "policy"
    value = world.read_secret("FROM_SWAMPD")
    assert len(value) == 24 and value != "swampd-value" and value == world.reveal("FROM_SWAMPD")


def test_one_audit_trail_both_ways(world: World) -> None:
    theirs = world.swamp("vault", "audit-trail", "--limit", "100")["entries"]
    ours = world.call("vault.audit", limit=100)["entries"]
    key_actions = {(e["secretKey"], e["action"], e["callerContext"].split(":")[0]) for e in theirs}
    assert {("FROM_SWAMPD", "put", "swampd"), ("INLINE", "delete", "swampd"),
            ("FROM_SWAMP", "put", "cli"), ("FROM_SWAMP", "delete", "cli")} <= key_actions
    assert [(e["secretKey"], e["action"], e["timestamp"]) for e in ours] == \
        [(e["secretKey"], e["action"], e["timestamp"]) for e in theirs]


def test_swamps_vault_edit_is_honoured_by_swampd(world: World, tmp_path: Path) -> None:
    """edit (swamp, through $EDITOR) turns on auditReads; swampd's reveals then show in swamp's trail."""
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nprintf "auditReads: true\\n" >> "$1"\n')
    editor.chmod(0o755)
    edited = world.real.run("vault", "edit", "dev", cwd=world.repo, env=world.real.env(EDITOR=str(editor)))
    assert edited.returncode == 0, edited
    assert world.call("vault.list", vault="dev")["vaults"][0]["auditReads"] is True
    world.reveal("FROM_SWAMPD")
    trail = world.swamp("vault", "audit-trail", "--limit", "100")["entries"]
    assert ("FROM_SWAMPD", "get") in {(e["secretKey"], e["action"]) for e in trail if
                                     e["callerContext"].startswith("swampd:")}
