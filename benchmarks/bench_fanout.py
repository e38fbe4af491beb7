"""Fan-out: N concurrent identical method runs (200 ms each) through a real daemon.

For N = 1, 10, 50, 100, with dedupe on and off, in one run: wall time from releasing all N
calls at once to the last answer, and how many times the method was executed. The method
is the stand-in swamp (tests/fixtures/fake_swamp.py, a Python script sleeping 200 ms), run
by the daemon's job runner exactly as the real swamp CLI would be. Each caller has its own
connection (one thread each); the calls are released together by a barrier.

Target: 100 concurrent identical calls within 1.2x a single call's wall time, one execution.

Run: .venv/bin/python benchmarks/bench_fanout.py
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import ThrowawayDaemon, machine_info, write_results

FAKE_SWAMP = ROOT / "tests" / "fixtures" / "fake_swamp.py"
SIZES = (1, 10, 50, 100)
METHOD_SECONDS = 0.2
REPEATS = 5


def burst(socket: str, n: int, params: dict[str, Any]) -> tuple[float, list[Any]]:
    """Release n identical jobs.submit calls at once; wall time until the last answer."""
    from swampd.client import Client

    clients = [Client(socket, timeout=600) for _ in range(n)]
    barrier = threading.Barrier(n + 1)
    results: list[Any] = [None] * n

    def one(i: int) -> None:
        barrier.wait()
        results[i] = clients[i].call("jobs.submit", params)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    for c in clients:
        c.close()
    return wall, results


def count_lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def measure(socket: str, repo: Path, counter: Path, n: int, dedupe: bool, round_no: int
            ) -> tuple[float, int]:
    params = {"model": "bench", "method": "work", "repo": str(repo), "dedupe": dedupe,
              "inputs": {"sleep": str(METHOD_SECONDS), "round": str(round_no)}}
    before = count_lines(counter)
    wall, results = burst(socket, n, params)
    assert all(r["state"] == "succeeded" for r in results), results[0]
    return wall, count_lines(counter) - before


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    repo = work / "repo"
    repo.mkdir()
    counter = work / "executions"
    env = {"SWAMPD_SWAMP_EXECUTABLE": str(FAKE_SWAMP), "FAKE_SWAMP_COUNT": str(counter),
           "SWAMPD_JOBS_MAX_CONCURRENT": "8"}
    load_before = os.getloadavg()
    on: dict[int, list[tuple[float, int]]] = {n: [] for n in SIZES}
    off: dict[int, tuple[float, int]] = {}
    round_no = 0
    with ThrowawayDaemon(env) as daemon:
        # Dedupe on: the sizes interleaved in every repeat, so that each N is compared with a
        # single call measured moments before it (the machine may be shared and noisy).
        for _ in range(REPEATS):
            for n in SIZES:
                round_no += 1
                on[n].append(measure(daemon.socket, repo, counter, n, True, round_no))
                print("on", n, on[n][-1], flush=True)
        for n in SIZES:
            round_no += 1
            off[n] = measure(daemon.socket, repo, counter, n, False, round_no)
            print("off", n, off[n], flush=True)
    load_after = os.getloadavg()
    rows: list[dict[str, Any]] = []
    for n in SIZES:
        walls = [w for w, _ in on[n]]
        ratios = [w / on[1][i][0] for i, (w, _) in enumerate(on[n])]
        rows.append({"n": n, "dedupe": True, "wall_s": round(statistics.median(walls), 3),
                     "wall_s_all": [round(w, 3) for w in walls],
                     "vs_single": round(statistics.median(ratios), 2),
                     "executions": max(e for _, e in on[n])})
    single = statistics.median(w for w, _ in on[1])
    for n in SIZES:
        wall, execs = off[n]
        rows.append({"n": n, "dedupe": False, "wall_s": round(wall, 3), "wall_s_all": [round(wall, 3)],
                     "vs_single": round(wall / single, 2), "executions": execs})
    hundred = next(r for r in rows if r["n"] == 100 and r["dedupe"])
    target_met = hundred["vs_single"] <= 1.2 and hundred["executions"] == 1
    machine = machine_info()
    machine["loadavg_before"] = [round(x, 2) for x in load_before]
    machine["loadavg_after"] = [round(x, 2) for x in load_after]
    data = {"machine": machine, "method_seconds": METHOD_SECONDS, "repeats": REPEATS,
            "rows": rows, "target": "100 identical calls <= 1.2x single call, 1 execution",
            "target_met": target_met}
    lines = [
        "# Fan-out benchmark",
        "",
        f"Machine: {machine['cpu']} ({machine['cpus']} CPUs), Python {machine['python']}, "
        f"{machine['platform']}, {machine['date']}; load average before/after "
        f"{machine['loadavg_before'][0]}/{machine['loadavg_after'][0]} (a shared machine).",
        "",
        f"N concurrent identical `jobs.submit` (a swamp method run of {int(METHOD_SECONDS * 1000)} ms,"
        " the stand-in CLI, a Python script) through a real daemon, one connection per caller,"
        f" released together. Dedupe on: median of {REPEATS} interleaved repeats; x single call is"
        " the median of each repeat's N-call wall over the single call measured just before it."
        " Dedupe off: one run each (serialized per model, as swamp's per-model lock does),"
        " compared with the median single call.",
        "",
        "| N | dedupe | wall (s) | x single call | executions |",
        "|---:|:---:|---:|---:|---:|",
    ]
    lines += [f"| {r['n']} | {'on' if r['dedupe'] else 'off'} | {r['wall_s']:.3f} | "
              f"{r['vs_single']:.2f} | {r['executions']} |" for r in rows]
    lines += ["", f"Target (100 identical calls within 1.2x a single call, one execution): "
              f"{'met' if target_met else 'NOT met'} ({hundred['vs_single']:.2f}x, "
              f"{hundred['executions']} execution(s)).", "",
              "Run: `.venv/bin/python benchmarks/bench_fanout.py`", ""]
    write_results("fanout", data, "\n".join(lines))


if __name__ == "__main__":
    main()
