"""A real `swamp serve` with one real `swamp worker` connected, in a throwaway repo.

Used by tests/fleet/test_serve.py and benchmarks/bench_fleet.py. Everything runs the real swamp CLI
(`.swamp-real`) with private homes. serve runs in its default auth mode (`none`): its `token` and
`oauth` modes refuse to start without a swamp-club.com login (`requireAuthenticated`, serve.ts),
which an offline machine cannot have.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
REAL_SWAMP = REPO_ROOT / ".swamp-real" / "bin" / "swamp"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def shell_model(repo: Path, name: str, run: str, model_id: str | None = None) -> str:
    model_id = model_id or str(uuid.uuid4())
    path = repo / "models" / "command" / "shell" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"type: command/shell\ntypeVersion: 2026.02.09.1\nid: {model_id}\nname: {name}\nversion: 1\n"
        f"tags: {{}}\nglobalArguments: {{}}\nmethods:\n  execute:\n    arguments:\n      run: {json.dumps(run)}\n"
    )
    return model_id


def workflow(repo: Path, name: str, model: str, labels: dict[str, str] | None) -> None:
    placement = "".join(f"\n          {k}: {v}" for k, v in (labels or {}).items())
    (repo / "workflows").mkdir(exist_ok=True)
    (repo / "workflows" / f"workflow-{name}.yaml").write_text(
        f"id: {uuid.uuid4()}\nname: {name}\ntags: {{}}\njobs:\n  - name: main\n    steps:\n"
        f"      - name: step\n        task:\n          type: model_method\n          modelIdOrName: {model}\n"
        f"          methodName: execute\n"
        + (f"        labels:{placement}\n" if labels else "")
        + "        dependsOn: []\n        weight: 0\n        allowFailure: false\n"
        "    dependsOn: []\n    weight: 0\nversion: 1\n"
    )


class ServeWorld:
    def __init__(self, root: Path | None = None) -> None:
        if not REAL_SWAMP.exists():
            raise RuntimeError(f"the real swamp CLI is not installed at {REAL_SWAMP}: run scripts/setup --test")
        self.root = root or Path(tempfile.mkdtemp(prefix="sdsv-", dir="/tmp"))
        self.home = self.root / "home"
        self.worker_home = self.root / "worker-home"
        self.repo = self.root / "repo"
        for path in (self.home, self.worker_home, self.repo):
            path.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.sleep_arg = f"120.{uuid.uuid4().int % 10**6:06d}"  # marks this world's sleeping processes
        self.serve: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.worker_log = self.root / "worker.log"
        self.serve_log = self.root / "serve.log"

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def env(self, home: Path | None = None, **extra: str) -> dict[str, str]:
        home = home or self.home
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SWAMPD_", "SWAMP_"))}
        env.update(HOME=str(home), SWAMP_HOME=str(home / ".swamp"), NO_COLOR="1")
        env.update(extra)
        return env

    def swamp(self, *args: str, env: dict[str, str] | None = None, json_out: bool = True) -> Any:
        argv = [str(REAL_SWAMP), *args, *(["--json"] if json_out else [])]
        done = subprocess.run(argv, cwd=self.repo, env=env or self.env(), capture_output=True, text=True,
                              timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"swamp {' '.join(args)} failed: {done.stderr[-2000:]} {done.stdout[-2000:]}")
        return json.loads(done.stdout) if json_out else done.stdout

    def create(self) -> ServeWorld:
        """The repo: models echoer and sleeper, workflows placed-echo / placed-sleep (worker pool=swampd)."""
        self.swamp("repo", "init", "--tool", "none")
        self.echoer_id = shell_model(self.repo, "echoer", "echo dispatched-line-1; echo dispatched-line-2")
        self.sleeper_id = shell_model(self.repo, "sleeper", f"echo sleeping; exec sleep {self.sleep_arg}")
        workflow(self.repo, "placed-echo", "echoer", {"pool": "swampd"})
        workflow(self.repo, "placed-sleep", "sleeper", {"pool": "swampd"})
        workflow(self.repo, "local-echo", "echoer", None)
        self.swamp("vault", "create", "local_encryption", "tokens")  # worker tokens need a vault
        return self

    def start(self, timeout: float = 90.0) -> ServeWorld:
        log = open(self.serve_log, "ab")
        self.serve = subprocess.Popen(
            [str(REAL_SWAMP), "serve", "--port", str(self.port), "--no-schedule", "--log"],
            cwd=self.repo, env=self.env(), stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        log.close()
        self._wait(lambda: self._ready(), timeout, "swamp serve to be ready", self.serve)
        return self

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/ready", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def enroll_worker(self, timeout: float = 90.0) -> ServeWorld:
        created = self.swamp("worker", "token", "create", "w1", "--duration", "2h", "--vault", "tokens",
                             "--server", self.url)
        log = open(self.worker_log, "ab")
        self.worker = subprocess.Popen(
            [str(REAL_SWAMP), "worker", "connect", self.url, "--token", created["token"], "--label", "pool=swampd"],
            cwd=self.worker_home, env=self.env(self.worker_home),
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        log.close()
        self._wait(lambda: "Enrolled" in self.worker_log.read_text(errors="replace"), timeout,
                   "the worker to enroll", self.worker)
        return self

    def sleepers(self) -> list[int]:
        """This world's `sleep` processes (the sleeper model's), wherever they run."""
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
                except OSError:
                    continue
                if argv[:2] == [b"sleep", self.sleep_arg.encode()]:
                    found.append(int(entry))
        return found

    def dispatches_finished(self) -> int:
        return self.worker_log.read_text(errors="replace").count("finished:")

    @staticmethod
    def _wait(predicate: Any, timeout: float, what: str, proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if proc.poll() is not None:
                raise RuntimeError(f"{what}: the process exited with {proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what}: not within {timeout:g}s")
            time.sleep(0.1)

    def stop(self) -> None:
        for proc in (self.worker, self.serve):
            if proc is not None and proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(15)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    proc.wait(15)

    def destroy(self) -> None:
        self.stop()
        for pid in self.sleepers():  # swamp kills a step's process but not what it leaves behind
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)
