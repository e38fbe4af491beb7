"""Shared by the front benchmarks: a swamp world made with the real swamp, the installed front,
and whole-process timings taken in pairs (A, B, A, B ...) so that drift hits both sides alike."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REAL_SWAMP = ROOT / ".swamp-real" / "bin" / "swamp"
PYTHON = sys.executable


def run_timed(cmd: list[str], env: dict[str, str], cwd: str) -> tuple[float, float, int]:
    """(wall seconds, cpu seconds of the process and its waited-for children, exit code)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, proc.returncode


def paired(a: list[str], b: list[str], *, runs: int, env: dict[str, str], cwd: str,
           warmup: int = 2) -> dict[str, Any]:
    """Medians of A and B (wall and cpu) and the median of the per-pair ratios A/B."""
    for _ in range(warmup):
        run_timed(a, env, cwd)
        run_timed(b, env, cwd)
    rows = [(run_timed(a, env, cwd), run_timed(b, env, cwd)) for _ in range(runs)]
    codes = {ra[2] for ra, _ in rows} | {rb[2] for _, rb in rows}

    def med(values: list[float]) -> float:
        return round(statistics.median(values), 5)

    return {
        "runs": runs,
        "exit_codes": sorted(codes),
        "a_wall_s": med([ra[0] for ra, _ in rows]), "b_wall_s": med([rb[0] for _, rb in rows]),
        "a_cpu_s": med([ra[1] for ra, _ in rows]), "b_cpu_s": med([rb[1] for _, rb in rows]),
        "ratio_wall": round(statistics.median(ra[0] / rb[0] for ra, rb in rows), 3),
        "ratio_cpu": round(statistics.median(ra[1] / rb[1] for ra, rb in rows if rb[1] > 0), 3),
        "diff_wall_ms": round(statistics.median((ra[0] - rb[0]) * 1000 for ra, rb in rows), 2),
    }


class World:
    """A private swamp home and repo (made with the real swamp), a throwaway daemon and the front
    installed in front of the real swamp with `swamp daemon install-front`."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="sdf-", dir="/tmp"))
        self.home = self.base / "home"
        self.repo = self.base / "repo"
        self.bin = self.base / "bin"
        self.sdhome = self.base / "sd"
        for d in (self.home, self.repo, self.bin, self.sdhome):
            d.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SWAMP_", "SWAMPD_", "NO_COLOR"))}
        env.update(HOME=str(self.home), SWAMP_HOME=str(self.home / ".swamp"), SWAMPD_HOME=str(self.sdhome),
                   SWAMPD_IDLE_TIMEOUT="0",
                   PATH=os.pathsep.join([str(self.bin), str(REAL_SWAMP.parent), "/usr/bin", "/bin"]))
        self.env = env

    def real(self, *args: str) -> str:
        done = subprocess.run([str(REAL_SWAMP), *args], cwd=self.repo, env=self.env, capture_output=True,
                              text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"swamp {' '.join(args)}: {done.stderr}")
        return done.stdout

    def model(self, name: str, command: str) -> None:
        self.real("model", "create", "command/shell", name, "--json")
        path = self.repo / "models" / "command" / "shell" / f"{name}.yaml"
        path.write_text(path.read_text().replace(
            "methods: {}", f"methods:\n  execute:\n    arguments:\n      run: {command}\n"))

    def __enter__(self) -> World:
        if not REAL_SWAMP.exists():
            raise SystemExit(f"the real swamp is not installed at {REAL_SWAMP}: run scripts/setup --test")
        self.real("repo", "init", "--tool", "none", "--json")
        subprocess.run([str(Path(PYTHON).parent / "swamp"), "daemon", "install-front", "--bin-dir", str(self.bin)],
                       env=self.env, check=True, capture_output=True, timeout=120)
        subprocess.run([str(self.front), "daemon", "start"], env=self.env, check=True, capture_output=True,
                       timeout=120)
        return self

    @property
    def front(self) -> Path:
        return self.bin / "swamp"

    def __exit__(self, *exc: object) -> None:
        subprocess.run([str(self.front), "daemon", "stop"], env=self.env, capture_output=True, timeout=120)
        shutil.rmtree(self.base, ignore_errors=True)


def load_note() -> str:
    """The machine's load while it ran (the CPUs are shared: wall times scale with it)."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"


def table(rows: list[tuple[str, ...]]) -> str:
    head, *body = rows
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(lines) + "\n"
