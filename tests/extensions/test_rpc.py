"""extensions.* over the real daemon's socket."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from swampd.client import RpcError

from .helpers import MODEL_TYPE, NAME, VERSION, make_archive, make_extension, member, raw_archive


def test_extension_lifecycle_over_rpc(daemon, tmp_path: Path) -> None:
    archive = make_archive(make_extension(tmp_path / "src"), tmp_path / "extension.tar.gz")
    project = tmp_path / "proj"
    project.mkdir()
    (project / ".swamp-sources.yaml").write_text("# mine\nsources:\n- path: ./vendor\n")
    with daemon.client() as client:
        sub = client.subscribe(["extensions"])
        installed = client.call("extensions.install", {"source": str(archive)})
        assert installed["status"] == "installed"
        assert installed["path"].startswith(str(Path(daemon.paths.data_dir) / "extensions"))
        event = client.next_notification(timeout=30)
        assert event["params"]["subscription"] == sub
        assert event["params"]["topic"] == "extensions"
        assert event["params"]["data"]["type"] == "extension.installed"

        linked = client.call("extensions.link", {"project": str(project)})
        assert linked["linked"] == [f"{NAME}@{VERSION}"]
        listing = client.call("extensions.list")["extensions"]
        assert [(e["name"], e["linked_projects"]) for e in listing] == [(NAME, [str(project.resolve())])]
        where = client.call("extensions.resolve", [str(project), MODEL_TYPE])
        assert (where["origin"], where["extension"]) == ("host", f"{NAME}@{VERSION}")

        with pytest.raises(RpcError) as refused:
            client.call("extensions.remove", {"name": NAME})
        assert refused.value.kind == "conflict"
        assert "linked by 1 project" in refused.value.message

        assert client.call("extensions.verify")["ok"] is True
        tampered = Path(installed["path"]) / "models" / "server.ts"
        tampered.chmod(0o644)
        tampered.write_text("changed\n")
        drift = client.call("extensions.verify", {"name": NAME})
        assert drift["ok"] is False
        assert drift["entries"][0]["changed"] == ["models/server.ts"]

        assert client.call("extensions.unlink", {"project": str(project)})["action"] == "restored"
        assert (project / ".swamp-sources.yaml").read_text() == "# mine\nsources:\n- path: ./vendor\n"
        assert client.call("extensions.remove", {"name": NAME})["removed"] == [f"{NAME}@{VERSION}"]
        assert client.call("extensions.list") == {"extensions": []}


def test_refusals_over_rpc_carry_kinds_not_exception_text(daemon, tmp_path: Path) -> None:
    evil = raw_archive(tmp_path / "evil.tar.gz", [(member("extension/../../x.ts"), b"x")])
    with daemon.client() as client:
        with pytest.raises(RpcError) as bad:
            client.call("extensions.install", {"source": str(evil)})
        assert bad.value.kind == "invalid_input"
        assert "path traversal" in bad.value.message
        with pytest.raises(RpcError) as rel:
            client.call("extensions.install", {"source": "relative.tar.gz"})
        assert rel.value.kind == "invalid_params"
        with pytest.raises(RpcError) as missing:
            client.call("extensions.remove", {"name": "@acme/none"})
        assert missing.value.kind == "not_found"
        assert "Traceback" not in missing.value.message
    assert os.listdir(Path(daemon.paths.data_dir) / "extensions" / "staging") == []
