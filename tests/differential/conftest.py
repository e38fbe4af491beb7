"""The differential suite: the same command lines through the real swamp and through the front.

A world (a swamp repo and a swamp home) is prepared once per session with the real swamp (and
`swampd data put` for bytes swamp's own models do not write). Each comparison restores the world
at one fixed path, runs every command line with the real swamp, restores it again and runs them
through the front, then compares stdout, stderr and exit codes byte for byte. The front side also
checks which commands the daemon answered (`accelerated`) and which it handed to swamp.

The front here is the launcher `swamp daemon install-front` writes (a shell script that starts
Python only for what the front answers itself): what a user puts in front of swamp.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REAL_SWAMP, DaemonProcess, base_env, swampd_command

REAL_BIN_DIR = REAL_SWAMP.parent
PARALLEL_REAL = 3
"""Real swamp calls run this many at a time (each is ~1.3 s of mostly start-up)."""


@dataclass(frozen=True)
class Case:
    """One command line of the corpus and the room the front must answer it from."""

    args: tuple[str, ...]
    accelerated: bool
    env: tuple[tuple[str, str], ...] = ()
    cwd: str = ""
    """Relative to the repo."""
    mask: tuple[str, ...] = ()
    """Regexes of what differs by nature between two runs (a new log line's time): compared as `<masked>`."""
    squeeze: bool = False
    """Also compare with runs of spaces and box lines squeezed (a masked number can widen a box)."""

    def __str__(self) -> str:
        env = " ".join(f"{k}={v}" for k, v in self.env)
        return f"{env + ' ' if env else ''}swamp {' '.join(self.args)}{' (in ' + self.cwd + ')' if self.cwd else ''}"


TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
NEW_RUN = (UUID, TIMESTAMP, r"\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z", r"\d\d:\d\d:\d\d UTC",
           r'"duration(Ms)?": \d+', r"durationMs(\x1b\[22m)?\s+\d+", r"in (\x1b\[2m)?\d+(\.\d+)?m?s")
"""What a new run's output has of its own: ids, times, durations (docs/front.md lists them)."""


def case(line: str, accelerated: bool = True, env: dict[str, str] | None = None, cwd: str = "",
         mask: tuple[str, ...] = (), squeeze: bool = False) -> Case:
    import shlex

    return Case(tuple(shlex.split(line)), accelerated, tuple(sorted((env or {}).items())), cwd, mask, squeeze)


def masked(c: Case, data: bytes) -> bytes:
    for pattern in c.mask:
        data = re.sub(pattern.encode(), b"<masked>", data)
    if c.squeeze:
        data = re.sub("─+".encode(), "─".encode(), re.sub(rb" +", b" ", data))
    return data


@dataclass
class Outcome:
    rc: int
    stdout: bytes
    stderr: bytes
    accelerated: bool | None = None


@dataclass
class World:
    """A prepared swamp world that can be restored at one fixed path."""

    base: Path
    prepared: Path
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def live(self) -> Path:
        return self.base / "live"

    @property
    def repo(self) -> Path:
        return self.live / "repo"

    @property
    def home(self) -> Path:
        return self.live / "home"

    def restore(self) -> None:
        if self.live.exists():
            shutil.rmtree(self.live)
        shutil.copytree(self.prepared, self.live, symlinks=True)

    def swamp_env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SWAMP_", "SWAMPD_", "NO_COLOR"))}
        env.update(HOME=str(self.home), SWAMP_HOME=str(self.home / ".swamp"),
                   PATH=os.pathsep.join([str(REAL_BIN_DIR), "/usr/bin", "/bin"]))
        env.update(extra or {})
        return env


def real(world: World, *args: str, check: bool = True, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(REAL_SWAMP), *args], cwd=world.repo, env=world.swamp_env(env),
                          capture_output=True, text=True, timeout=300)
    if check and done.returncode != 0:
        raise AssertionError(f"swamp {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def set_run(world: World, model: str, command: str) -> None:
    path = world.repo / "models" / "command" / "shell" / f"{model}.yaml"
    text = re.sub(r"methods:.*\Z", f"methods:\n  execute:\n    arguments:\n      run: {command}\n",
                  path.read_text(), flags=re.S)
    path.write_text(text)


def prepare(world: World) -> None:
    """Build the world with the real swamp (and swampd for bytes swamp's models never write)."""
    import json

    world.repo.mkdir(parents=True)
    world.home.mkdir(parents=True)
    real(world, "repo", "init", "--tool", "none", "--json")
    for model in ("m1", "big", "failing"):
        real(world, "model", "create", "command/shell", model, "--json")
    for text in ("first", "second", "third"):  # multi-version data
        set_run(world, "m1", f"echo {text}")
        real(world, "model", "method", "run", "m1", "execute", "--json")
    real(world, "data", "delete", "m1", "result", "--version", "2", "--force", "--json")  # a deleted version
    real(world, "data", "rename", "m1", "log", "runlog", "--json")  # a renamed name (a tombstone)
    real(world, "data", "delete", "m1", "report-swamp-method-summary", "--force", "--json")  # all gone
    set_run(world, "big", "seq 1 60000")  # large data
    real(world, "model", "method", "run", "big", "execute", "--json")
    real(world, "vault", "create", "local_encryption", "v1", "--json")
    real(world, "vault", "put", "v1", "API_KEY=s3cr3t-value", "--json")
    real(world, "vault", "put", "v1", "OTHER=x", "--json")
    real(world, "data", "list", "m1")  # the log format's first call shows swamp's login nudge: done here
    model_id = json.loads(real(world, "model", "get", "m1", "--json"))["id"]
    world.facts["m1_id"] = model_id
    # bytes swamp's shell model never writes, through swampd (which writes swamp's layout)
    blobs = world.base / "blobs"
    blobs.mkdir()
    (blobs / "bin").write_bytes(bytes(range(256)) * 8)
    (blobs / "latin1.txt").write_bytes("caf\xe9 na\xefve\n".encode("latin-1"))
    (blobs / "doc.json").write_text('{"b": 1, "10": [1.50, 2e21, -0], "2": {"x": 12345678901234567890},'
                                    ' "u": "\\u00e9\\ud83d\\ude00"}')
    (blobs / "broken.json").write_text('{"a": 1,,}')
    (blobs / "empty").write_bytes(b"")
    puts = [("blob", "bin", "application/octet-stream"), ("latin1", "latin1.txt", "text/plain"),
            ("doc", "doc.json", "application/json"), ("broken", "broken.json", "application/json"),
            ("empty", "empty", "text/plain")]
    home = Path(tempfile.mkdtemp(prefix="sdp-", dir="/tmp"))
    daemon = DaemonProcess(home, base_env(home)).start()
    try:
        for name, blob, content_type in puts:
            done = subprocess.run([*swampd_command(), "--json", "data", "put", "--repo", str(world.repo),
                                   "command/shell", model_id, name, "--file", str(blobs / blob),
                                   "--content-type", content_type],
                                  env=daemon.env, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
    finally:
        daemon.stop()
        daemon.kill9()
        shutil.rmtree(home, ignore_errors=True)
    real(world, "data", "query", 'name == "nothing"', "--json")  # swamp fills its catalog on the first query
    (world.repo / "sub" / "deeper").mkdir(parents=True)


@pytest.fixture(scope="session")
def world(real_swamp_executable: Path) -> Iterator[World]:
    base = Path(tempfile.mkdtemp(prefix="sdw-", dir="/tmp"))
    w = World(base=base, prepared=base / "prepared")
    try:
        prepare(w)
        shutil.copytree(w.live, w.prepared, symlinks=True)
        yield w
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def front_launcher(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from cli.front_install import launcher_text

    launcher = tmp_path_factory.mktemp("front-bin") / "swamp"
    launcher.write_text(launcher_text())
    launcher.chmod(0o755)
    return launcher


class Differential:
    def __init__(self, world: World, daemon: DaemonProcess, front: Path) -> None:
        self.world = world
        self.daemon = daemon
        self.front = [str(front)]
        self.front_extra_env: dict[str, str] = {}

    def _cwd(self, c: Case) -> Path:
        return self.world.repo / c.cwd

    def run_real(self, cases: list[Case], prepare: Any = None, parallel: int = PARALLEL_REAL) -> list[Outcome]:
        self.world.restore()
        if prepare is not None:
            prepare()

        def one(c: Case) -> Outcome:
            done = subprocess.run([str(REAL_SWAMP), *c.args], cwd=self._cwd(c), stdin=subprocess.DEVNULL,
                                  env=self.world.swamp_env(dict(c.env)), capture_output=True, timeout=300)
            return Outcome(done.returncode, done.stdout, done.stderr)

        with ThreadPoolExecutor(parallel) as pool:
            return list(pool.map(one, cases))

    def front_env(self, c: Case) -> dict[str, str]:
        env = self.world.swamp_env(dict(c.env))
        env.update({k: v for k, v in self.daemon.env.items() if k.startswith("SWAMPD_")})
        env.update(self.front_extra_env)
        return env

    def learn_types(self, models: list[str], timeout: float = 300.0) -> None:
        """Ask `model get` through the front until the daemon knows the models' types (it learns a
        type from the real swamp in the background the first time)."""
        import time

        deadline = time.monotonic() + timeout
        for model in models:
            c = case(f"model get {model} --json")
            while True:
                before = self.accelerated_count()
                subprocess.run([*self.front, *c.args], cwd=self._cwd(c), env=self.front_env(c),
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
                if self.accelerated_count() > before:
                    break
                assert time.monotonic() < deadline, f"the daemon did not learn the type of {model}"
                time.sleep(0.5)

    def accelerated_count(self) -> int:
        return int(self.daemon.call("daemon.status")["front"]["accelerated"])

    def run_front(self, cases: list[Case], *, between: Any = None, prepare: Any = None) -> list[Outcome]:
        self.world.restore()
        if prepare is not None:
            prepare()
        out = []
        for i, c in enumerate(cases):
            if between is not None:
                between(i)
            before = self.accelerated_count() if self.daemon.proc and self.daemon.proc.poll() is None else None
            done = subprocess.run([*self.front, *c.args], cwd=self._cwd(c), env=self.front_env(c),
                                  stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
            outcome = Outcome(done.returncode, done.stdout, done.stderr)
            if before is not None:
                outcome.accelerated = self.accelerated_count() > before
            out.append(outcome)
        return out

    def compare(self, cases: list[Case], *, between: Any = None, prepare: Any = None,
                check_rooms: bool = True, parallel: int = PARALLEL_REAL) -> None:
        """`prepare()` changes the restored world before each side runs; `between(i)` runs before the
        front's i-th command; `parallel=1` runs the real side one by one (commands that write)."""
        reals = self.run_real(cases, prepare, parallel)
        fronts = self.run_front(cases, between=between, prepare=prepare)
        problems = []
        for c, r, f in zip(cases, reals, fronts, strict=True):
            r.stdout, r.stderr, f.stdout, f.stderr = (masked(c, b) for b in (r.stdout, r.stderr, f.stdout, f.stderr))
            if (r.rc, r.stdout, r.stderr) != (f.rc, f.stdout, f.stderr):
                problems.append(f"{c}: output differs\n{_diff(r, f)}")
            elif check_rooms and f.accelerated is not None and f.accelerated != c.accelerated:
                problems.append(f"{c}: expected {'accelerated' if c.accelerated else 'passed through'}, "
                                f"was {'accelerated' if f.accelerated else 'passed through'}")
        assert not problems, "\n\n".join(problems)


def _diff(r: Outcome, f: Outcome) -> str:
    import difflib

    lines = [f"exit: swamp {r.rc}, front {f.rc}"]
    for name, a, b in (("stdout", r.stdout, f.stdout), ("stderr", r.stderr, f.stderr)):
        if a != b:
            diff = difflib.unified_diff(a.decode(errors="replace").splitlines(),
                                        b.decode(errors="replace").splitlines(),
                                        f"swamp {name}", f"front {name}", lineterm="", n=1)
            lines += list(diff)[:40]
    return "\n".join(lines)


@pytest.fixture
def differential(world: World, daemon: DaemonProcess, front_launcher: Path) -> Differential:
    return Differential(world, daemon, front_launcher)
