"""Real backing services for storage tests and benchmarks: PostgreSQL, moto (S3), redis.

Each can be stopped and started again (the backend-down tests do). PostgreSQL runs as the
`postgres` system user when we are root (initdb refuses root), in a temp dir it owns.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("SWAMPD_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not come up within {timeout}s")


class PostgresCluster:
    """A throwaway cluster: Unix socket in a temp dir; optionally TCP on 127.0.0.1."""

    def __init__(self, *, tcp: bool = False, tls: tuple[Path, Path] | None = None) -> None:
        """`tls`: (certificate, key) the server presents; it then refuses TCP connections without TLS."""
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(f"PostgreSQL binaries not found in {PG_BIN}")
        self.root = Path(tempfile.mkdtemp(prefix="swpg-", dir="/tmp"))
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self.sock.mkdir()
        self.port = free_port()
        self.tcp = tcp
        self.user = "postgres"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            entry = pwd.getpwnam("postgres")
            for path in (self.root, self.sock):
                os.chown(path, entry.pw_uid, entry.pw_gid)
        else:
            self.user = pwd.getpwuid(os.geteuid()).pw_name
        self._run([str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
                   "--no-sync", "-E", "UTF8"])
        self._tls_opts = ""
        if tls is not None:
            self._tls_opts = self._install_tls(*tls)

    def _install_tls(self, cert: Path, key: Path) -> str:
        ssl_dir = self.root / "ssl"
        ssl_dir.mkdir()
        for source in (cert, key):
            shutil.copy(source, ssl_dir / source.name)
            os.chmod(ssl_dir / source.name, 0o600)  # the server refuses a key others can read
            if self._as_postgres:
                entry = pwd.getpwnam("postgres")
                os.chown(ssl_dir / source.name, entry.pw_uid, entry.pw_gid)
        hba = self.data / "pg_hba.conf"
        hba.write_text("hostnossl all all 127.0.0.1/32 reject\nhostssl all all 127.0.0.1/32 trust\n" + hba.read_text())
        return f" -c ssl=on -c ssl_cert_file={ssl_dir / cert.name} -c ssl_key_file={ssl_dir / key.name}"

    def _run(self, argv: list[str]) -> None:
        if self._as_postgres:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @property
    def dsn(self) -> str:
        return f"host={self.sock} port={self.port} user=postgres dbname=postgres"

    @property
    def tcp_dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"

    @property
    def url(self) -> str:
        """A `postgres://` URI on TCP (what the real swamp's postgres.js connects with)."""
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        listen = "127.0.0.1" if self.tcp else "''"
        opts = f"-k {self.sock} -p {self.port} -c listen_addresses={listen} -c max_connections=200{self._tls_opts}"
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
                   "-o", opts, "-w", "-t", "30", "start"])

    def stop(self) -> None:
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def destroy(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


class MotoServer:
    """moto in server mode on loopback (state lives in the process: a restart starts empty)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

        def up() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return True
            except OSError:
                return False

        _wait(up, 30, "moto server")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="test", aws_secret_access_key="test")


class RedisServer:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="swrd-", dir="/tmp"))
        self.sock = self.root / "redis.sock"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", "0", "--unixsocket", str(self.sock), "--unixsocketperm", "700",
             "--save", "", "--appendonly", "no", "--dir", str(self.root)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        _wait(self.sock.exists, 20, "redis-server")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None
        shutil.rmtree(self.root, ignore_errors=True)
