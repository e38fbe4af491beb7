"""The socket is private: 0700 dir, 0600 socket, peers of another uid refused."""

from __future__ import annotations

import json
import os
import pwd
import stat
import subprocess
import sys

import pytest

OTHER_USER = "swampd-test-other"


def other_uid() -> int:
    try:
        return pwd.getpwnam(OTHER_USER).pw_uid
    except KeyError:
        if os.getuid() != 0:
            pytest.skip(f"user {OTHER_USER} missing and not root to create it")
        subprocess.run(["useradd", "--system", "--no-create-home", OTHER_USER], check=True)
        return pwd.getpwnam(OTHER_USER).pw_uid


def test_runtime_dir_and_socket_modes(daemon):
    dir_mode = stat.S_IMODE(os.stat(daemon.paths.runtime_dir).st_mode)
    sock_mode = stat.S_IMODE(os.stat(daemon.paths.socket).st_mode)
    assert dir_mode == 0o700
    assert sock_mode == 0o600
    assert stat.S_ISSOCK(os.stat(daemon.paths.socket).st_mode)


def test_daemon_listens_on_no_network_socket(daemon):
    inodes = set()
    for fd in os.listdir(f"/proc/{daemon.pid}/fd"):
        target = os.readlink(f"/proc/{daemon.pid}/fd/{fd}")
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    for table in ("tcp", "tcp6", "udp", "udp6"):
        with open(f"/proc/net/{table}") as fh:
            rows = [line.split() for line in fh.readlines()[1:]]
        assert not inodes & {row[9] for row in rows}, f"daemon holds a {table} socket"


@pytest.mark.skipif(os.getuid() != 0, reason="switching uid needs root")
def test_peer_of_another_uid_is_refused(daemon):
    uid = other_uid()
    # Open the filesystem permissions on purpose so that only the SO_PEERCRED check stands.
    os.chmod(daemon.home, 0o711)
    os.chmod(daemon.paths.runtime_dir, 0o711)
    os.chmod(daemon.paths.socket, 0o666)
    try:
        code = (
            "import _socket, sys\n"
            "s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)\n"
            f"s.connect({daemon.paths.socket!r})\n"
            "s.sendall(b'{\"jsonrpc\": \"2.0\", \"method\": \"daemon.status\", \"id\": 1}\\n')\n"
            "data = b''\n"
            "while True:\n"
            "    chunk = s.recv(65536)\n"
            "    if not chunk: break\n"
            "    data += chunk\n"
            "sys.stdout.write(data.decode())\n"
        )
        # The venv's interpreter lives under root's home; the system one is reachable by anyone.
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        result = subprocess.run(
            [python, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=30,
            user=uid, group=pwd.getpwuid(uid).pw_gid, extra_groups=[], cwd="/",
        )
    finally:
        os.chmod(daemon.home, 0o700)
        os.chmod(daemon.paths.runtime_dir, 0o700)
        os.chmod(daemon.paths.socket, 0o600)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert len(lines) == 1, lines  # one refusal, no answer to the request
    assert lines[0]["error"]["data"]["kind"] == "permission_denied"
    assert "refused a connection" in daemon.log()
    assert daemon.call("daemon.hello")["pid"] == daemon.pid


def test_refuses_to_start_in_a_runtime_dir_open_to_others(swampd_home, daemon_env):
    runtime = swampd_home / "run"
    runtime.mkdir(mode=0o755)
    os.chmod(runtime, 0o755)
    result = subprocess.run([sys.executable, "-m", "swampd"], env=daemon_env, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 2
    assert str(runtime) in result.stderr
    assert "chmod 700" in result.stderr
    assert not (runtime / "swampd.sock").exists()


def test_refuses_a_runtime_dir_owned_by_someone_else(swampd_home, daemon_env):
    if os.getuid() != 0:
        pytest.skip("chown needs root")
    uid = other_uid()
    runtime = swampd_home / "run"
    runtime.mkdir(mode=0o700)
    os.chown(runtime, uid, -1)
    result = subprocess.run([sys.executable, "-m", "swampd"], env=daemon_env, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 2
    assert f"owned by uid {uid}" in result.stderr and "chown" in result.stderr
