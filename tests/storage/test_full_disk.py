"""A full disk (a real one: a size-limited tmpfs) names its cause, leaves no debris, burns no versions."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from swampd.client import RpcError
from tests.conftest import DaemonProcess, base_env
from tests.storage.conftest import write_marker

PAGE = 4096


def mount_tmpfs(path: Path, size: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {result.stderr.strip()}")


def unmount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(path: Path, leave: int) -> Path:
    """A file taking all the free space of the filesystem at `path` but `leave` bytes."""
    st = os.statvfs(path)
    free = st.f_bavail * st.f_frsize
    filler = path / "filler"
    with open(filler, "wb") as fh:
        fh.write(b"\0" * max(0, free - leave))
    return filler


def debris(root: Path) -> list[str]:
    """Temp files, and version dirs without their files, left under `root`."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        found += [os.path.join(dirpath, f) for f in filenames if f.endswith(".tmp")]
        found += [os.path.join(dirpath, d) for d in dirnames
                  if d.isdigit() and not os.listdir(os.path.join(dirpath, d))]
    return found


@pytest.fixture
def full_repo(tmp_path: Path) -> Iterator[Path]:
    repo = tmp_path / "repo"
    repo.mkdir()
    write_marker(repo, None)
    mount_tmpfs(repo / ".swamp", 1024 * 1024)
    yield repo
    unmount(repo / ".swamp")


@pytest.mark.parametrize("leave", [PAGE, 64 * 1024], ids=["metadata-fails", "raw-fails"])
def test_a_full_datastore_names_the_cause_and_leaves_no_debris(daemon, full_repo, leave):
    filler = fill(full_repo / ".swamp", leave)
    params = {"repo": str(full_repo), "type": "command/shell", "model": "m", "name": "out",
              "content": "y" * (256 * 1024)}
    with daemon.client(timeout=60) as c:
        for _ in range(3):
            with pytest.raises(RpcError) as info:
                c.call("data.put", params)
            error = info.value
            assert error.kind == "backend_unavailable"
            assert "full" in error.message and "ENOSPC" in error.message and "unreachable" not in error.message
            assert error.data["cause"] == "ENOSPC"
        assert debris(full_repo / ".swamp") == []
        filler.unlink()
        assert c.call("data.put", params)["version"] == 1  # no version number was burned


@pytest.fixture
def full_home() -> Iterator[Path]:
    home = Path(tempfile.mkdtemp(prefix="sd-full-", dir="/tmp"))
    mount_tmpfs(home, 48 * 1024 * 1024)
    yield home
    unmount(home)
    os.rmdir(home)


def test_a_full_state_dir_gives_clear_errors_and_acknowledged_writes_still_land(full_home, tmp_path):
    daemon = DaemonProcess(full_home, base_env(full_home)).start()
    try:
        spare = tmp_path / "spare"
        spare.mkdir()
        write_marker(spare, None)
        (spare / ".swamp").mkdir()
        data_repo = tmp_path / "data-repo"
        data_repo.mkdir()
        write_marker(data_repo, None)
        (data_repo / ".swamp").mkdir()
        put = {"repo": str(data_repo), "type": "command/shell", "model": "m", "name": "out", "content": "kept"}
        with daemon.client(timeout=60) as c:
            c.call("repos.register", {"path": str(data_repo)})
            assert c.call("data.put", put)["version"] == 1  # the hot tier is open
            filler = fill(full_home, 0)
            with pytest.raises(RpcError) as info:
                c.call("repos.register", {"path": str(spare)})
            assert info.value.kind == "backend_unavailable"
            assert "repo registry" in info.value.message and "ENOSPC" in info.value.message
            assert [r["path"] for r in c.call("repos.list")] == [str(data_repo)]  # nothing half-registered
            # The datastore has room: the hot tier's full disk is no reason to fail an acknowledged write.
            assert c.call("data.put", put)["version"] == 2
            got = c.call("data.get", {"repo": str(data_repo), "type": "command/shell", "model": "m", "name": "out"})
            assert got["content"] == "kept"
            filler.unlink()
            assert c.call("repos.register", {"path": str(spare)})["path"] == str(spare)
    finally:
        daemon.stop()
        daemon.kill9()


def test_a_hot_tier_that_cannot_open_on_a_full_disk_is_a_clear_error(full_home, tmp_path):
    daemon = DaemonProcess(full_home, base_env(full_home)).start()
    try:
        repo = tmp_path / "repo"
        repo.mkdir()
        write_marker(repo, None)
        (repo / ".swamp").mkdir()
        with daemon.client(timeout=60) as c:
            filler = fill(full_home, 0)
            put = {"repo": str(repo), "type": "command/shell", "model": "m", "name": "out", "content": "x"}
            with pytest.raises(RpcError) as info:
                c.call("data.put", put)
            assert info.value.kind == "backend_unavailable" and "hot tier" in info.value.message
            filler.unlink()
            assert c.call("data.put", put)["version"] == 1  # opened on the next call once there is room
    finally:
        daemon.stop()
        daemon.kill9()
