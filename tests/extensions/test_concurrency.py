"""Concurrent installs end with one good copy; a killed install leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import anyio
import pytest

from swampd.extensions.service import ExtensionService
from swampd.extensions.settings import ExtensionSettings
from swampd.extensions.store import ExtensionStore

from .helpers import make_archive, make_extension


def assert_one_good_copy(root: Path) -> None:
    store = ExtensionStore(str(root), ExtensionSettings())
    assert len(store.entries()) == 1
    assert all(r["ok"] for r in store.verify())
    assert os.listdir(root / "staging") == []
    assert os.listdir(root / "trash") == []


def test_threads_installing_the_same_extension_end_with_one_copy(tmp_path: Path, store_root: Path) -> None:
    src = make_extension(tmp_path / "src")
    archive = make_archive(src, tmp_path / "extension.tar.gz")
    workers = 6
    # Every installer waits here after staging, so all of them race for the commit.
    barrier = threading.Barrier(workers, timeout=60)
    store = ExtensionStore(str(store_root), ExtensionSettings(), after_staging=lambda _staging: barrier.wait())
    results: list[dict] = []
    errors: list[BaseException] = []

    def install(i: int) -> None:
        try:
            results.append(store.install(str(archive if i % 2 else src)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=install, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(r["status"] for r in results) == ["installed"] + ["unchanged"] * (workers - 1)
    assert len({r["checksum"] for r in results}) == 1
    assert_one_good_copy(store_root)


@pytest.mark.anyio
async def test_service_installs_concurrently_on_one_loop(tmp_path: Path, service: ExtensionService, store_root) -> None:
    src = make_extension(tmp_path / "src")
    results: list[dict] = []

    async def install() -> None:
        results.append(await service.install(str(src)))

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(install)
    assert sorted(r["status"] for r in results) == ["installed", "unchanged", "unchanged", "unchanged"]
    assert_one_good_copy(store_root)


INSTALLER = textwrap.dedent("""
    import os, sys, time
    from swampd.extensions.settings import ExtensionSettings
    from swampd.extensions.store import ExtensionStore

    root, source, ready, go = sys.argv[1:5]

    def after_staging(staging):
        # Test hook: announce the staged copy, then hold before the commit.
        with open(ready, "w") as fh:
            fh.write(staging)
        while go == "-" or not os.path.exists(go):
            time.sleep(0.01)

    result = ExtensionStore(root, ExtensionSettings(), after_staging=after_staging).install(source)
    print(result["status"])
""")


def spawn(root: Path, source: Path, ready: Path, go: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", INSTALLER, str(root), str(source), str(ready), go],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def wait_for(path: Path, proc: subprocess.Popen[str]) -> None:
    while not path.exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.01)


def test_processes_installing_the_same_extension_end_with_one_copy(tmp_path: Path, store_root: Path) -> None:
    archive = make_archive(make_extension(tmp_path / "src"), tmp_path / "extension.tar.gz")
    go = tmp_path / "go"
    procs = [spawn(store_root, archive, tmp_path / f"ready{i}", str(go)) for i in range(3)]
    for i, proc in enumerate(procs):
        wait_for(tmp_path / f"ready{i}", proc)  # all three have staged a full copy
    go.touch()
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        outputs.append(out.strip())
    assert sorted(outputs) == ["installed", "unchanged", "unchanged"]
    assert_one_good_copy(store_root)


def test_install_killed_after_staging_leaves_no_entry(tmp_path: Path, store_root: Path) -> None:
    archive = make_archive(make_extension(tmp_path / "src"), tmp_path / "extension.tar.gz")
    ready = tmp_path / "ready"
    proc = spawn(store_root, archive, ready, "-")  # never told to go on
    wait_for(ready, proc)
    staging = Path(ready.read_text())
    assert (staging / "extension" / "manifest.yaml").exists()  # the kill lands mid-install
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    store = ExtensionStore(str(store_root), ExtensionSettings())
    assert store.entries() == []
    assert store.list() == []
    assert staging.exists()  # left behind by the kill ...
    removed = store.cleanup_stale()  # ... and removed at the next start
    assert removed == [f"staging/{staging.name}"]
    assert os.listdir(store_root / "staging") == []
    assert store.install(str(archive))["status"] == "installed"
    assert_one_good_copy(store_root)


def test_cleanup_spares_a_live_install(tmp_path: Path, store_root: Path) -> None:
    archive = make_archive(make_extension(tmp_path / "src"), tmp_path / "extension.tar.gz")
    ready, go = tmp_path / "ready", tmp_path / "go"
    proc = spawn(store_root, archive, ready, str(go))
    try:
        wait_for(ready, proc)
        staging = Path(ready.read_text())
        assert ExtensionStore(str(store_root), ExtensionSettings()).cleanup_stale() == []
        assert staging.exists()
        go.touch()
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert out.strip() == "installed"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert_one_good_copy(store_root)


def test_remove_interrupted_after_the_rename_is_finished_at_startup(tmp_path: Path, store_root: Path) -> None:
    store = ExtensionStore(str(store_root), ExtensionSettings())
    entry = store.install(str(make_extension(tmp_path / "src")))
    # What a remove killed between its rename and its delete leaves: the entry in trash/.
    os.rename(Path(entry["path"]).parent, store_root / "trash" / "abc123")
    assert store.entries() == []
    assert ExtensionStore(str(store_root), ExtensionSettings()).cleanup_stale() == ["trash/abc123"]
    assert os.listdir(store_root / "trash") == []
