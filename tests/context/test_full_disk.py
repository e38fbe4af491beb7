"""A full disk under the context store (a real one: a size-limited tmpfs) is a clear error that changes nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from swampd.client import RpcError
from tests.conftest import DaemonProcess
from tests.storage.test_full_disk import fill, mount_tmpfs, unmount


@pytest.fixture
def context_dir(swampd_home: Path) -> Iterator[Path]:
    path = swampd_home / "cache" / "context"
    mount_tmpfs(path, 2 * 1024 * 1024)
    yield path
    unmount(path)


def value_files(path: Path) -> list[str]:
    return sorted(os.path.join(d, f) for d, _, files in os.walk(path) for f in files if f.endswith(".val"))


def test_a_full_disk_refuses_writes_clearly_and_keeps_what_was_there(context_dir: Path,
                                                                      daemon: DaemonProcess) -> None:
    daemon.call("context.put", {"scope": "s", "key": "kept", "value": {"n": 1}})
    big = "x" * (256 * 1024)  # stored in a file of its own, as diskcache does past 32 KiB
    daemon.call("context.put", {"scope": "s", "key": "big", "value": big})
    files = value_files(context_dir)
    filler = fill(context_dir, leave=8 * 1024)
    try:
        for key, value in (("new", "y" * (128 * 1024)), ("big", "z" * (200 * 1024))):
            with pytest.raises(RpcError) as full:
                daemon.call("context.put", {"scope": "s", "key": key, "value": value})
            assert full.value.kind == "backend_unavailable"
            assert "the context store" in full.value.message and "no space left" in full.value.message
            assert full.value.data["cause"] == "ENOSPC"
        assert daemon.call("context.get", {"scope": "s", "key": "big"})["value"] == big
        assert daemon.call("context.get", {"scope": "s", "key": "kept"})["value"] == {"n": 1}
        assert [k["key"] for k in daemon.call("context.list", {"scope": "s"})["keys"]] == ["big", "kept"]
        assert value_files(context_dir) == files  # no half-written value file left behind
    finally:
        filler.unlink()
    daemon.call("context.put", {"scope": "s", "key": "new", "value": "room again"})
    assert daemon.call("context.get", {"scope": "s", "key": "new"})["value"] == "room again"
