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
REPEATS = 3


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


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    repo = work / "repo"
    repo.mkdir()
    counter = work / "executions"
    env = {"SWAMPD_SWAMP_EXECUTABLE": str(FAKE_SWAMP), "FAKE_SWAMP_COUNT": str(counter),
           "SWAMPD_JOBS_MAX_CONCURRENT": "8"}
    rows: list[dict[str, Any]] = []
    with ThrowawayDaemon(env) as daemon:
        round_no = 0
        for dedupe in (True, False):
            for n in SIZES:
                walls = []
                execs = []
                for _ in range(REPEATS if dedupe else 1):
                    round_no += 1
                    params = {"model": "bench", "method": "work", "repo": str(repo),
                              "dedupe": dedupe,
                              "inputs": {"sleep": str(METHOD_SECONDS), "round": str(round_no)}}
                    before = count_lines(counter)
                    wall, results = burst(daemon.socket, n, params)
                    assert all(r["state"] == "succeeded" for r in results), results[0]
                    walls.append(wall)
                    execs.append(count_lines(counter) - before)
                rows.append({"n": n, "dedupe": dedupe, "wall_s": round(min(walls), 3),
                             "wall_s_all": [round(w, 3) for w in walls],
                             "executions": max(execs)})
                print(rows[-1], flush=True)
    single = next(r["wall_s"] for r in rows if r["n"] == 1 and r["dedupe"])
    for r in rows:
        r["vs_single"] = round(r["wall_s"] / single, 2)
    hundred = next(r for r in rows if r["n"] == 100 and r["dedupe"])
    target_met = hundred["vs_single"] <= 1.2 and hundred["executions"] == 1
    data = {"machine": machine_info(), "method_seconds": METHOD_SECONDS, "repeats": REPEATS,
            "rows": rows, "target": "100 identical calls <= 1.2x single call, 1 execution",
            "target_met": target_met}
    lines = [
        "# Fan-out benchmark",
        "",
        f"Machine: {data['machine']['cpu']} ({data['machine']['cpus']} CPUs), "
        f"Python {data['machine']['python']}, {data['machine']['platform']}, {data['machine']['date']}",
        "",
        f"N concurrent identical `jobs.submit` (a swamp method run of {int(METHOD_SECONDS * 1000)} ms,"
        " the stand-in CLI) through a real daemon, one connection per caller, released together."
        f" Dedupe on: best of {REPEATS}; off: one run (serialized per model, as swamp's lock does).",
        "",
        "| N | dedupe | wall (s) | x single call | executions |",
        "|---:|:---:|---:|---:|---:|",
    ]
    lines += [f"| {r['n']} | {'on' if r['dedupe'] else 'off'} | {r['wall_s']:.3f} | "
              f"{r['vs_single']:.2f} | {r['executions']} |" for r in rows]
    lines += ["", f"Target (100 identical calls within 1.2x a single call, one execution): "
              f"{'met' if target_met else 'NOT met'} ({hundred['vs_single']:.2f}x, "
              f"{hundred['executions']} execution(s)).", ""]
    write_results("fanout", data, "\n".join(lines))


if __name__ == "__main__":
    main()
