"""Job records that tell the truth: refused specs leave none, escaped processes die with their job,
and a full state dir neither leaves a finished job `running` nor turns a clean stop into a crash."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from swampd.client import RpcError
from swampd.jobs.process import pid_alive
from tests.conftest import DaemonProcess, base_env, wait_until


def submit(daemon, **params) -> dict:
    with daemon.client(timeout=120) as c:
        return c.call("jobs.submit", {"kind": "command", **params})


def read_pid(path: Path) -> int:
    wait_until(lambda: path.exists() and path.read_text().strip(), timeout=30, what=f"{path} written")
    return int(path.read_text().split()[0])


@pytest.mark.parametrize("spec, words", [
    ({"argv": ["echo", "a\0b"]}, "NUL"),
    ({"argv": ["echo"], "env": {"A=B": "x"}}, "env name"),
    ({"argv": ["echo"], "env": {"": "x"}}, "env name"),
    ({"argv": ["echo"], "env": {"K": "v\0w"}}, "NUL"),
    ({"argv": ["echo"], "cwd": "/tmp\0x"}, "NUL"),
])
def test_a_spec_no_process_can_be_started_with_is_refused_and_leaves_no_record(daemon, spec, words):
    with pytest.raises(RpcError) as info:
        submit(daemon, **spec)
    assert info.value.kind == "invalid_params" and words in info.value.message
    with daemon.client(timeout=30) as c:
        assert c.call("jobs.list")["jobs"] == []


def test_a_setsid_grandchild_dies_with_its_cancelled_job(daemon, tmp_path):
    pidfile = tmp_path / "grandchild"
    job = submit(daemon, argv=["sh", "-c", f"setsid sleep 300 & echo $! > {pidfile}; sleep 300"], wait=False)
    grandchild = read_pid(pidfile)
    assert os.getpgid(grandchild) != job["pgid"]  # it left the job's process group
    with daemon.client(timeout=120) as c:
        assert c.call("jobs.cancel", {"id": job["id"]})["status"] == "cancelled"
    wait_until(lambda: not pid_alive(grandchild), timeout=30, what="the setsid grandchild gone")


def test_what_a_finished_job_left_in_another_session_dies_too(daemon, tmp_path):
    pidfile = tmp_path / "orphan"
    # A double fork: the sleeper is re-parented to init, in a session of its own.
    script = f"(setsid sh -c 'sleep 300 & echo $! > {pidfile}' &); sleep 1"
    record = submit(daemon, argv=["sh", "-c", script])
    assert record["state"] == "succeeded"
    orphan = read_pid(pidfile)
    wait_until(lambda: not pid_alive(orphan), timeout=30, what="the orphaned sleeper gone")


def mount_tmpfs(path: Path, size: int) -> None:
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {result.stderr.strip()}")


@pytest.fixture
def small_home() -> Iterator[Path]:
    home = Path(tempfile.mkdtemp(prefix="sd-jobs-", dir="/tmp"))
    mount_tmpfs(home, 48 * 1024 * 1024)
    yield home
    subprocess.run(["umount", "-l", str(home)], capture_output=True)
    os.rmdir(home)


def test_a_full_state_dir_keeps_job_records_honest_across_a_clean_restart(small_home, tmp_path):
    daemon = DaemonProcess(small_home, base_env(small_home)).start()
    gate = tmp_path / "gate"
    try:
        job = submit(daemon, argv=["sh", "-c", f"while [ ! -e {gate} ]; do sleep 0.05; done; exit 3"], wait=False)
        with daemon.client(timeout=30) as c:
            wait_until(lambda: c.call("jobs.get", {"id": job["id"]})["state"] == "running", what="running")
            st = os.statvfs(small_home)
            filler = small_home / "filler"
            with open(filler, "wb") as fh:  # the state dir is full from here on
                fh.write(b"\0" * (st.f_bavail * st.f_frsize))
            gate.touch()
            wait_until(lambda: c.call("jobs.get", {"id": job["id"]})["state"] != "running", what="the end seen")
            record = c.call("jobs.get", {"id": job["id"]})
            assert (record["state"], record["exit_code"]) == ("failed", 3)
            assert [j["state"] for j in c.call("jobs.list")["jobs"]] == ["failed"]
        daemon.stop()  # a clean stop, with the state dir still full
        assert daemon.proc is not None and daemon.proc.returncode == 0
        filler.unlink()
        daemon.start()
        with daemon.client(timeout=30) as c:
            record = c.call("jobs.get", {"id": job["id"]})
        assert (record["state"], record["exit_code"]) == ("failed", 3)
        assert (record["error"] or {}).get("code") != "daemon_lost"
    finally:
        daemon.stop()
        daemon.kill9()
