"""A real OpenSSH server on loopback, a throwaway user and key pair, and a second swampd behind it.

Used by the fleet tests and `benchmarks/bench_fleet.py`. As root (CI, this machine) the remote
side is the `swampd-fleet` account that `scripts/setup --test` creates; as any other user, sshd
can only log that user in, so the remote side is the same account with a home of its own.
Nothing here touches the machine's sshd, host keys or known_hosts: every file lives in a temp dir.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
FLEET_USER = "swampd-fleet"
REPO_ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def remote_account() -> pwd.struct_passwd:
    """The account the remote swampd runs as."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    try:
        return pwd.getpwnam(FLEET_USER)
    except KeyError:
        raise RuntimeError(f"the fleet tests' user {FLEET_USER} does not exist: run scripts/setup --test") from None


def _keygen(path: Path, comment: str) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class SshServer:
    """sshd -D on 127.0.0.1:<free port>, accepting only the throwaway key for the remote account."""

    def __init__(self) -> None:
        if not Path(SSHD).exists():
            raise RuntimeError("sshd is not installed: run scripts/setup --test (openssh-server)")
        self.account = remote_account()
        self.root = Path(tempfile.mkdtemp(prefix="sdssh-", dir="/tmp"))
        self.port = free_port()
        self.host_key = self.root / "host_key"
        self.client_key = self.root / "client_key"
        _keygen(self.host_key, "swampd-test-host")
        _keygen(self.client_key, "swampd-test-client")
        authorized = self.root / "authorized_keys"
        authorized.write_text((self.root / "client_key.pub").read_text())
        authorized.chmod(0o644)
        self.known_hosts = self.root / "known_hosts"
        host_pub = (self.root / "host_key.pub").read_text().split()
        self.known_hosts.write_text(f"[127.0.0.1]:{self.port} {host_pub[0]} {host_pub[1]}\n")
        self.log = self.root / "sshd.log"
        self.config = self.root / "sshd_config"
        self.config.write_text("\n".join([
            f"Port {self.port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {self.host_key}",
            f"PidFile {self.root / 'sshd.pid'}",
            f"AuthorizedKeysFile {authorized}",
            f"AllowUsers {self.account.pw_name}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin no" if self.account.pw_uid != 0 else "PermitRootLogin prohibit-password",
            "UsePAM no",
            "StrictModes no",
            "X11Forwarding no",
            "AllowTcpForwarding no",
            "PrintMotd no",
            "MaxStartups 200:30:400",   # the benchmark opens a fresh connection per call
            "MaxSessions 50",
            "LogLevel VERBOSE",
            "",
        ]))
        os.chmod(self.root, 0o755)  # the remote account reads authorized_keys through it
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> SshServer:
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation dir
        log = open(self.log, "ab")
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(self.config)], stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sshd did not accept connections")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # sshd and its session processes
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def client_config(self, aliases: dict[str, int | None] | None = None) -> Path:
        """An ssh_config naming `fleet-remote` (this server) plus any `alias: port` given.

        A port of None means this server's port; other ports point at whatever listens there
        (or nothing), on 127.0.0.1, with the same identity and known hosts.
        """
        aliases = {"fleet-remote": None, **(aliases or {})}
        blocks = []
        for alias, port in aliases.items():
            blocks.append("\n".join([
                f"Host {alias}",
                "  HostName 127.0.0.1",
                f"  Port {port or self.port}",
                f"  User {self.account.pw_name}",
                f"  IdentityFile {self.client_key}",
                "  IdentitiesOnly yes",
                f"  UserKnownHostsFile {self.known_hosts}",
                "  StrictHostKeyChecking yes",
                "  LogLevel ERROR",
                "",
            ]))
        path = self.root / f"ssh_config.{len(list(self.root.glob('ssh_config.*')))}"
        path.write_text("\n".join(blocks))
        return path


class RemoteHome:
    """SWAMPD_HOME of the remote swampd: a short private dir owned by the remote account."""

    def __init__(self, account: pwd.struct_passwd) -> None:
        self.account = account
        self.path = Path(tempfile.mkdtemp(prefix="sdr-", dir="/tmp"))
        os.chown(self.path, account.pw_uid, account.pw_gid)
        os.chmod(self.path, 0o700)

    def write(self, relpath: str, text: str) -> Path:
        """A file in the remote home, owned by the remote account (e.g. its config.toml)."""
        path = self.path / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        os.chown(path, self.account.pw_uid, self.account.pw_gid)
        return path

    def mkdir(self, relpath: str) -> Path:
        path = self.path / relpath
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, self.account.pw_uid, self.account.pw_gid)
        return path

    def command(self, *, python: str = sys.executable, **env: str) -> str:
        """The remote command a fleet host entry runs: this checkout's `swampd --stdio`."""
        values = {"SWAMPD_HOME": str(self.path), "SWAMPD_IDLE_TIMEOUT": "0", "PYTHONDONTWRITEBYTECODE": "1",
                  **env}
        assigns = " ".join(f"{k}={shlex.quote(v)}" for k, v in values.items())
        return f"env {assigns} {shlex.quote(python)} -m swampd --stdio"

    def destroy(self) -> None:
        from tests.conftest import _kill_daemons_of

        _kill_daemons_of(self.path)
        shutil.rmtree(self.path, ignore_errors=True)
