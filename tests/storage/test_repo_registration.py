"""Only initialised swamp repos are registered; nothing creates a datastore by reading or by a typo."""

from __future__ import annotations

from pathlib import Path

import pytest

from swampd.client import RpcError
from tests.storage.conftest import write_marker


def call(daemon, method: str, params: dict) -> dict:
    with daemon.client(timeout=30) as c:
        return c.call(method, params)


def test_a_directory_without_swamp_yaml_is_not_registered(daemon, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(RpcError) as info:
        call(daemon, "repos.register", {"path": str(plain)})
    assert info.value.kind == "invalid_input" and "swamp repo init" in info.value.message
    assert list(plain.iterdir()) == []
    assert call(daemon, "repos.list", {}) == []


@pytest.mark.parametrize("method", ["data.put", "data.get", "data.list"])
def test_data_calls_on_a_plain_directory_create_nothing(daemon, tmp_path, method):
    plain = tmp_path / "typo"
    plain.mkdir()
    params = {"repo": str(plain), "type": "command/shell", "model": "m", "name": "out"}
    if method == "data.put":
        params["content"] = "x"
    if method == "data.list":
        params.pop("name")
    with pytest.raises(RpcError) as info:
        call(daemon, method, params)
    assert info.value.kind == "invalid_input"
    assert not (plain / ".swamp").exists() and list(plain.iterdir()) == []


def test_an_initialised_repo_registers_and_a_read_creates_no_datastore(daemon, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    write_marker(repo, None)  # what `swamp repo init` writes; its .swamp/ is missing here
    described = call(daemon, "repos.register", {"path": str(repo)})
    assert described["path"] == str(repo)
    with pytest.raises(RpcError):
        call(daemon, "data.get", {"repo": str(repo), "type": "command/shell", "model": "m", "name": "out"})
    assert not (repo / ".swamp").exists()


def test_registering_a_fifo_marker_is_refused_without_blocking(daemon, tmp_path):
    import os

    repo = tmp_path / "fifo-repo"
    repo.mkdir()
    os.mkfifo(repo / ".swamp.yaml")
    with pytest.raises(RpcError) as info:
        call(daemon, "repos.register", {"path": str(repo)})
    assert info.value.kind == "invalid_input"


def test_a_real_swamp_repo_registers(daemon, real_swamp, tmp_path: Path):
    repo = real_swamp.init_repo(tmp_path / "initialised")
    assert call(daemon, "repos.register", {"path": str(repo)})["backend"] == "filesystem"
