"""Fixtures shared by every test: an isolated home, a real daemon process, the real CLI."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swampd.client import Client
from swampd.paths import Paths, resolve_paths

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN_DIR = Path(sys.executable).parent


def wait_until(predicate: Any, timeout: float = 60.0, what: str = "condition") -> None:
    """Poll `predicate` until it is true; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout:g}s")
        time.sleep(0.02)


def swamp_command() -> list[str]:
    """The `swamp` front end (swamp's commands, accelerated or passed to the real swamp)."""
    script = BIN_DIR / "swamp"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]


def swampd_command() -> list[str]:
    """`swampd`: the daemon, and every swampd command (`swampd data get ...`)."""
    script = BIN_DIR / "swampd"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli.swampd_main"]


@pytest.fixture
def swampd_home() -> Iterator[Path]:
    """A short private temp dir used as SWAMPD_HOME (Unix socket paths must stay short)."""
    path = Path(tempfile.mkdtemp(prefix="sd-", dir="/tmp"))
    yield path
    _kill_daemons_of(path)
    shutil.rmtree(path, ignore_errors=True)


def base_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SWAMPD_", "XDG_RUNTIME_DIR"))}
    env.update(SWAMPD_HOME=str(home), SWAMPD_IDLE_TIMEOUT="0", PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def _kill_daemons_of(home: Path) -> None:
    """Kill any daemon a test left behind in `home` (found by its environment)."""
    marker = f"SWAMPD_HOME={home}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                environ = fh.read().split(b"\0")
        except OSError:
            continue
        if marker in environ:
            try:
                os.kill(int(entry), signal.SIGKILL)
            except OSError:
                pass


def daemon_pids(home: Path) -> list[int]:
    """pids of swampd daemons (not clients) running with SWAMPD_HOME=home."""
    marker = f"SWAMPD_HOME={home}".encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                environ = fh.read().split(b"\0")
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read().split(b"\0")
            with open(f"/proc/{entry}/stat", "rb") as fh:
                zombie = fh.read().split(b")")[-1].split()[0] == b"Z"
        except OSError:
            continue
        if marker in environ and not zombie and b"-m" in cmdline and b"swampd" in cmdline and b"--stdio" not in cmdline:
            pids.append(int(entry))
    return pids


class DaemonProcess:
    """A real `swampd` process serving a real socket in an isolated home."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.env = env
        self.paths: Paths = resolve_paths(env)
        self.proc: subprocess.Popen[bytes] | None = None
        self.preexec_fn: Any = None
        """Run in the daemon's process before it starts (e.g. to set its resource limits)."""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 20.0) -> DaemonProcess:
        stderr = open(self.home / "daemon.stderr", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "swampd"], env=self.env, stdin=subprocess.DEVNULL,
            stdout=stderr, stderr=stderr, start_new_session=True, preexec_fn=self.preexec_fn,
        )
        stderr.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"swampd exited with {self.proc.returncode}: {self.stderr()}")
            try:
                with Client(self.paths.socket, timeout=5) as client:
                    if client.call("daemon.hello")["pid"] == self.proc.pid:
                        return self
            except (OSError, Exception):  # noqa: BLE001 - not up yet
                time.sleep(0.02)
        raise RuntimeError(f"swampd did not come up: {self.stderr()}")

    def client(self, timeout: float = 30.0) -> Client:
        return Client(self.paths.socket, timeout=timeout)

    def call(self, method: str, params: Any = None) -> Any:
        with self.client() as client:
            return client.call(method, params)

    def stderr(self) -> str:
        try:
            return (self.home / "daemon.stderr").read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log(self) -> str:
        try:
            return Path(self.paths.log_file).read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_exit(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def stop(self, timeout: float = 30.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.call("daemon.stop")
            self.proc.wait(timeout=timeout)
        except Exception:  # noqa: BLE001 - fall back to a hard kill
            self.kill9()

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def restart(self) -> DaemonProcess:
        self.stop()
        return self.start()


@pytest.fixture
def daemon_env(swampd_home: Path) -> dict[str, str]:
    """The environment the daemon and CLI subprocesses of a test run with (edit before `daemon`)."""
    return base_env(swampd_home)


@pytest.fixture
def daemon(swampd_home: Path, daemon_env: dict[str, str]) -> Iterator[DaemonProcess]:
    proc = DaemonProcess(swampd_home, daemon_env).start()
    yield proc
    proc.stop()
    proc.kill9()


class CliResult:
    def __init__(self, completed: subprocess.CompletedProcess[str]) -> None:
        self.returncode = completed.returncode
        self.stdout = completed.stdout
        self.stderr = completed.stderr

    def json(self) -> Any:
        import json

        return json.loads(self.stdout)

    def __repr__(self) -> str:
        return f"CliResult(rc={self.returncode}, stdout={self.stdout[:500]!r}, stderr={self.stderr[:500]!r})"


def _runner(command: list[str], default_env: dict[str, str]) -> Any:
    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 120.0, cwd: str | None = None) -> CliResult:
        completed = subprocess.run(
            [*command, *args], input=input, env=env or default_env, capture_output=True,
            text=True, timeout=timeout, cwd=cwd,
        )
        return CliResult(completed)

    return run


@pytest.fixture
def run_cli(daemon_env: dict[str, str]) -> Any:
    """Run the real `swamp` console script with the test's environment."""
    return _runner(swamp_command(), daemon_env)


@pytest.fixture
def run_swampd(daemon_env: dict[str, str]) -> Any:
    """Run the real `swampd` console script (swampd's own commands) with the test's environment."""
    return _runner(swampd_command(), daemon_env)


# -- the real swamp CLI ------------------------------------------------------------------------

REAL_SWAMP = REPO_ROOT / ".swamp-real" / "bin" / "swamp"


class RealSwamp:
    """The real swamp CLI (installed by `scripts/setup --test` into .swamp-real/).

    Each call runs with HOME and SWAMP_HOME in `home`, so swamp's user-level state (its
    repo caches, telemetry id, auth) never touches the machine's real home.
    """

    def __init__(self, executable: Path, home: Path) -> None:
        self.executable = executable
        self.home = home

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SWAMPD_", "SWAMP_"))}
        env.update(HOME=str(self.home), SWAMP_HOME=str(self.home / ".swamp"), NO_COLOR="1")
        env.update(extra)
        return env

    def run(self, *args: str, cwd: Path | str, input: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 120.0, check: bool = False) -> CliResult:
        completed = subprocess.run(
            [str(self.executable), *args], cwd=cwd, input=input, env=env or self.env(),
            capture_output=True, text=True, timeout=timeout,
        )
        result = CliResult(completed)
        if check and result.returncode != 0:
            raise AssertionError(f"swamp {' '.join(args)} failed: {result!r}")
        return result

    def json(self, *args: str, cwd: Path | str, **kwargs: Any) -> Any:
        return self.run(*args, "--json", cwd=cwd, check=True, **kwargs).json()

    def init_repo(self, path: Path) -> Path:
        path.mkdir(parents=True, exist_ok=True)
        self.json("repo", "init", "--tool", "none", cwd=path)
        return path

    def call(self, module: str, calls: list[tuple[str, list[Any]]], cwd: Path | str | None = None) -> list[Any]:
        """Call exported functions of swamp's own source (e.g. `src/cli/input_parser.ts`) in one Deno
        process (~0.4 s); each result is `{"ok": value}` or `{"error": message}`. For checking swampd's
        copies of swamp's pure functions (parsers, formatters) against the originals."""
        import json

        root = self.executable.parent.parent
        completed = subprocess.run(
            [str(root / "deno-venv" / "bin" / "deno"), "run", "--quiet", "--allow-read", "--allow-env",
             "--config", str(root / "src" / "deno.json"), str(REPO_ROOT / "tests" / "fixtures" / "swamp_call.ts"),
             str(root / "src" / module), json.dumps(calls)],
            cwd=cwd or self.home, env={**self.env(), "DENO_DIR": str(root / "deno-dir")},
            capture_output=True, text=True, timeout=120, check=False,
        )
        if completed.returncode != 0:
            raise AssertionError(f"calling swamp's {module} failed: {completed.stderr[-2000:]}")
        return json.loads(completed.stdout)


@pytest.fixture(scope="session")
def real_swamp_executable() -> Path:
    if not REAL_SWAMP.exists():
        pytest.fail(f"the real swamp CLI is not installed at {REAL_SWAMP}: run scripts/setup --test")
    return REAL_SWAMP


@pytest.fixture
def real_swamp(real_swamp_executable: Path, tmp_path: Path) -> RealSwamp:
    """The real swamp CLI with a private home for this test."""
    home = tmp_path / "swamp-home"
    home.mkdir()
    return RealSwamp(real_swamp_executable, home)


@pytest.fixture(scope="module")
def module_real_swamp(real_swamp_executable: Path, tmp_path_factory: pytest.TempPathFactory) -> RealSwamp:
    """The real swamp CLI with a private home shared by one test module: build one repo state
    per module and make many checks on it (each real call costs ~1.3 s)."""
    home = tmp_path_factory.mktemp("swamp-home")
    return RealSwamp(real_swamp_executable, home)


# -- real backing services: PostgreSQL and an S3 endpoint (moto server) ------------------------

S3_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    """A throwaway PostgreSQL 15 cluster (Unix socket and 127.0.0.1), stopped at the session's end."""
    from tests.storage.servers import PostgresCluster

    cluster = PostgresCluster(tcp=True)
    cluster.start()
    yield cluster
    cluster.destroy()


@pytest.fixture(scope="session", autouse=True)
def _fake_aws_credentials() -> Iterator[None]:
    """The AWS credential chain of the tests (and of the daemons and swamp CLIs they start, which
    inherit it) holds fake keys: S3 is only ever the moto server."""
    saved = {k: os.environ.get(k) for k in S3_ENV}
    os.environ.update(S3_ENV)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def moto_server() -> Iterator[Any]:
    """moto in server mode on loopback."""
    from tests.storage.servers import MotoServer

    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pg_up(pg_cluster: Any) -> Any:
    """The cluster, started again if a previous test stopped it."""
    try:
        pg_cluster.start()
    except Exception:  # noqa: BLE001 - already running
        pass
    return pg_cluster


@pytest.fixture
def moto_up(moto_server: Any) -> Any:
    if moto_server.proc is None or moto_server.proc.poll() is not None:
        moto_server.start()
    return moto_server
