"""vault.* through a real daemon on a real socket."""

from __future__ import annotations

from pathlib import Path

import pytest

from swampd.client import RpcError

from .conftest import Repo

pytestmark = pytest.mark.keyring


def test_repo_vault_over_rpc(daemon, repo: Repo, secret_service: str) -> None:
    with daemon.client() as c:
        put = c.call("vault.put", {"vault": "dev", "key": "K", "value": "rpc-value", "repo": repo.root})
        assert put["overwritten"] is False and "value" not in put
        with pytest.raises(RpcError) as err:
            c.call("vault.put", {"vault": "dev", "key": "K", "value": "other", "repo": repo.root})
        assert err.value.kind == "conflict"
        meta = c.call("vault.get", {"vault": "dev", "key": "K", "repo": repo.root})
        assert meta["revealed"] is False and "value" not in meta
        got = c.call("vault.get", {"vault": "dev", "key": "K", "repo": repo.root, "reveal": True})
        assert got["value"] == "rpc-value"
        status = c.call("vault.status")
        assert status["warmKeys"] >= 1
        c.call("vault.lock")
        with pytest.raises(RpcError) as err:
            c.call("vault.get", {"vault": "dev", "key": "K", "repo": repo.root, "reveal": True})
        assert err.value.kind == "vault_locked"
        assert c.call("vault.status")["warmKeys"] == 0
        c.call("vault.unlock")
        rotated = c.call("vault.rotate", {"vault": "dev", "key": "K", "repo": repo.root, "length": 20})
        assert rotated["source"] == "policy"
        audit = c.call("vault.audit", {"repo": repo.root, "key": "K"})
        assert [e["action"] for e in audit["entries"]] == ["put", "get", "put"]
        assert all(e["callerContext"].startswith("swampd:vault.") for e in audit["entries"])


def test_host_vault_over_rpc_reaches_the_secret_service(daemon, secret_service: str) -> None:
    with daemon.client() as c:
        c.call("vault.put", {"vault": "host", "key": "DAEMON_K", "value": "daemon-host-value"})
        try:
            assert c.call("vault.get", ["host", "DAEMON_K", None, True])["value"] == "daemon-host-value"
            listing = c.call("vault.list", {"vault": "host"})
            assert [k["key"] for k in listing["vaults"][0]["keys"]] == ["DAEMON_K"]
        finally:
            c.call("vault.delete", {"vault": "host", "key": "DAEMON_K"})


def test_bad_params_are_named(daemon) -> None:
    with daemon.client() as c:
        with pytest.raises(RpcError) as err:
            c.call("vault.get", {"vault": "host", "key": 5})
        assert err.value.kind == "invalid_params"
        with pytest.raises(RpcError) as err:
            c.call("vault.rotate", {"vault": "host", "key": "K", "length": 0})
        assert err.value.kind == "invalid_params"


def test_vaults_of_registered_repos_are_found_by_name(daemon, repo: Repo, tmp_path) -> None:
    with daemon.client() as c:
        reg = c.call("repos.register", {"path": repo.root, "name": "myrepo"})
        assert reg["name"] == "myrepo"
        # no repo param: found among the registered repos
        c.call("vault.put", {"vault": "dev", "key": "REG_K", "value": "registered"})
        assert c.call("vault.get", {"vault": "dev", "key": "REG_K", "reveal": True})["value"] == "registered"
        # the registered name works as the repo param too
        got = c.call("vault.get", {"vault": "dev", "key": "REG_K", "repo": "myrepo", "reveal": True})
        assert got["value"] == "registered"
        listing = c.call("vault.list", {})
        names = {(v["name"], v["repo"]) for v in listing["vaults"]}
        assert ("dev", str(Path(repo.root).resolve())) in names and ("host", None) in names
        # the same vault name in a second registered repo is ambiguous without repo
        other = tmp_path / "other"
        other.mkdir()
        Repo(str(other)).add_vault("dev")
        c.call("repos.register", {"path": str(other), "name": "other"})
        with pytest.raises(RpcError) as err:
            c.call("vault.get", {"vault": "dev", "key": "REG_K", "reveal": True})
        assert err.value.kind == "conflict"
        with pytest.raises(RpcError) as err:
            c.call("vault.get", {"vault": "dev", "key": "REG_K", "repo": "nosuchrepo", "reveal": True})
        assert err.value.kind == "not_found"


def test_list_says_when_a_refresh_hook_is_due_never_its_command(daemon, repo: Repo, secret_service: str) -> None:
    command = "printf token-in-the-hook-command"
    with daemon.client() as c:
        c.call("vault.put", {"vault": "dev", "key": "R", "value": "v", "repo": repo.root,
                             "refresh_command": command, "refresh_ttl": 3600})
        c.call("vault.get", {"vault": "dev", "key": "R", "repo": repo.root, "reveal": True})  # runs the hook
        listing = c.call("vault.list", {"vault": "dev", "repo": repo.root})
    keys = {k["key"]: k for v in listing["vaults"] for k in v["keys"]}
    hook = keys["R"]["refresh"]
    assert hook["ttlMs"] == 3_600_000 and hook["lastRefreshedAt"] and hook["stale"] is False
    assert hook["dueAt"] > hook["lastRefreshedAt"]
    assert "token-in-the-hook-command" not in repr(listing)


def test_keys_longer_than_a_file_name_holds_are_refused_by_name(daemon, repo: Repo, secret_service: str) -> None:
    """swamp stores KEY.enc: 251 bytes of key fit a 255-byte file name (temp file included), 252 do not."""
    with daemon.client() as c:
        for where in ({"vault": "dev", "repo": repo.root}, {"vault": "host"}):
            c.call("vault.put", {**where, "key": "k" * 251, "value": "v"})
            try:
                for key in ("k" * 252, "é" * 126, "k" * 5000):
                    with pytest.raises(RpcError) as err:
                        c.call("vault.put", {**where, "key": key, "value": "v"})
                    assert err.value.kind == "invalid_input" and "at most 251 bytes" in err.value.message
                listing = c.call("vault.list", where)
                assert [k["key"] for k in listing["vaults"][0]["keys"]] == ["k" * 251]
            finally:
                c.call("vault.delete", {**where, "key": "k" * 251})


def test_audit_refuses_an_action_swamp_does_not_record(daemon) -> None:
    with daemon.client() as c:
        for action in ("bogus", "PUT", ""):
            with pytest.raises(RpcError) as err:
                c.call("vault.audit", {"action": action})
            assert err.value.kind == "invalid_params"
            assert "get, put, delete, annotate" in err.value.message
        assert c.call("vault.audit", {"action": "annotate"})["returnedCount"] == 0
