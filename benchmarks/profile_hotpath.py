"""Where a hot 1 KiB `data.get` spends the daemon's time: py-spy samples of a daemon serving one client.

    pip install py-spy   (not a dependency of the project; any install will do)
    .venv/bin/python benchmarks/profile_hotpath.py [--py-spy PATH] [--calls N]

Starts a private daemon, stores a 1 KiB text value, and while one client calls `data.get` on it back to
back, records the daemon with `py-spy record --format raw` (500 samples/s, idle samples included so the
wait in epoll shows as such). Writes benchmarks/results/hotpath_profile.md: the share of samples per
function (own time) and per frame on the stack (inclusive), plus the daemon's CPU per request.
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import RESULTS, ThrowawayDaemon, machine_info, process_cpu

MODEL = "b0b0b0b0-1111-4222-8333-444455556666"
PARAMS = {"repo": "bench", "type": "bench", "model": MODEL, "name": "1KiB"}


def aggregate(raw: str) -> tuple[int, collections.Counter[str], collections.Counter[str]]:
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    return total, own, inclusive


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "py-spy")
    parser.add_argument("--calls", type=int, default=30000)
    opts = parser.parse_args()
    from swampd.client import Client

    tmp = tempfile.mkdtemp(prefix="sdprof-", dir="/tmp")
    raw_path = os.path.join(tmp, "raw.txt")
    load_before = [round(x, 2) for x in os.getloadavg()]
    try:
        with ThrowawayDaemon() as daemon:
            assert daemon.proc is not None
            repo = daemon.home / "repo"
            (repo / ".swamp").mkdir(parents=True)
            (repo / ".swamp.yaml").write_text('repoId: "bench"\n')
            client = Client(daemon.socket, timeout=60)
            client.call("repos.register", {"path": str(repo), "name": "bench"})
            client.call("data.put", {**PARAMS, "content": "a" * 1024, "content_type": "text/plain"})
            for _ in range(500):
                client.call("data.get", PARAMS)
            spy = subprocess.Popen([opts.py_spy, "record", "-p", str(daemon.proc.pid), "-r", "500", "-f", "raw",
                                    "--idle", "-o", raw_path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
            assert daemon.proc is not None
            pid = daemon.proc.pid
            before, started = process_cpu(pid), time.perf_counter()
            for _ in range(opts.calls):
                client.call("data.get", PARAMS)
            cpu_us = (process_cpu(pid) - before) / opts.calls * 1e6
            wall_us = (time.perf_counter() - started) / opts.calls * 1e6
            spy.send_signal(2)
            spy.wait(timeout=60)
            client.close()
        total, own, inclusive = aggregate(Path(raw_path).read_text())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    m = machine_info()
    lines = [
        "# Where a hot 1 KiB data.get spends the daemon's time (`benchmarks/profile_hotpath.py`)", "",
        f"{m['date']} · Python {m['python']} · {m['cpus']} CPUs ({m['cpu']}) · load average before {load_before}, "
        f"after {[round(x, 2) for x in os.getloadavg()]}", "",
        f"{opts.calls} back-to-back calls from one client; py-spy {total} samples of the daemon (all threads, idle "
        f"included); daemon CPU {cpu_us:.1f} µs per request, {wall_us:.1f} µs per round trip.", "",
        "| own samples | function |", "|---|---|",
    ]
    lines += [f"| {100 * n / total:.1f}% | `{f}` |" for f, n in own.most_common(25)]
    lines += ["", "| inclusive | frame |", "|---|---|"]
    lines += [f"| {100 * n / total:.1f}% | `{f}` |" for f, n in inclusive.most_common(60)
              if 100 * n / total >= 0.8]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "hotpath_profile.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
