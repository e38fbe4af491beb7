"""Shared benchmark helpers: machine info, percentiles, result files, a throwaway daemon."""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine_info() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
    }


def percentiles(samples_s: list[float]) -> dict[str, float]:
    """p50/p99/mean in microseconds."""
    ordered = sorted(samples_s)
    n = len(ordered)
    return {
        "p50_us": round(ordered[n // 2] * 1e6, 1),
        "p99_us": round(ordered[min(n - 1, int(n * 0.99))] * 1e6, 1),
        "mean_us": round(statistics.fmean(ordered) * 1e6, 1),
        "n": n,
    }


def write_results(name: str, data: dict[str, Any], markdown: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown)
    print(markdown)


def proc_stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (index 0 is field 3, the state)."""
    with open(f"/proc/{pid}/stat", "rb") as fh:
        return fh.read().rpartition(b")")[2].decode().split()


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, its threads included."""
    fields = proc_stat(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def last_cpu(pid: int) -> int:
    """The CPU that `pid` (its main thread) last ran on: field 39 of /proc/PID/stat."""
    return int(proc_stat(pid)[36])


def pin_threads(pids: list[int], cpus: set[int]) -> None:
    """Every thread of each of `pids` on `cpus` (a process gone or a thread ended is skipped)."""
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                os.sched_setaffinity(int(task), cpus)
            except OSError:
                pass


class ThrowawayDaemon:
    """A swampd in a private SWAMPD_HOME for the length of a benchmark."""

    def __init__(self, extra_env: dict[str, str] | None = None, cwd: str | None = None,
                 argv: list[str] | None = None) -> None:
        self.cwd = cwd
        """Where the daemon runs (`python -m swampd` imports from there first)."""
        self.argv = argv or [sys.executable, "-m", "swampd"]
        self.name = "swampd"
        self.home = Path(tempfile.mkdtemp(prefix="sdb-", dir="/tmp"))
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SWAMPD_")}
        self.env.update(SWAMPD_HOME=str(self.home), SWAMPD_IDLE_TIMEOUT="0", **(extra_env or {}))
        self.socket = str(self.home / "run" / "swampd.sock")
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ThrowawayDaemon:
        from swampd.client import Client

        self.proc = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with Client(self.socket) as c:
                    c.call("daemon.hello")
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"daemon {self.name} did not start")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.home, ignore_errors=True)
