"""20 concurrent identical `swamp model method run` through the front vs 20 direct real runs.

Reports wall time, executions and failures of each, and one run through the front alone.
Target (issue 11): the 20 through the front within 1.5x one run's wall time through the front.
(Issue 11 measured the direct case at 78-115 s, 19 executions, one lock_timeout.)

Run: .venv/bin/python benchmarks/bench_front_method_runs.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import machine_info, write_results
from benchmarks._front import REAL_SWAMP, World, load_note, table

CALLERS = 20


def concurrent(cmd: list[str], world: World, n: int, marks: Path) -> dict[str, object]:
    before = len(marks.read_text().splitlines()) if marks.exists() else 0
    start = time.perf_counter()
    procs = [subprocess.Popen(cmd, env=world.env, cwd=world.repo, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(n)]
    outs = [(p.communicate(timeout=1800), p.returncode) for p in procs]
    wall = time.perf_counter() - start
    after = len(marks.read_text().splitlines()) if marks.exists() else 0
    failures = [rc for _, rc in outs if rc != 0]
    lock_timeouts = sum(1 for (_, err), _ in outs if b"lock_timeout" in err)
    return {"callers": n, "wall_s": round(wall, 2), "executions": after - before, "failures": len(failures),
            "exit_codes": sorted({rc for _, rc in outs}), "lock_timeouts": lock_timeouts,
            "distinct_outputs": len({o for o, _ in outs})}


def main() -> None:
    with World() as world:
        marks = world.base / "executions"
        world.model("job", f"echo run >> {marks}; echo job-output")
        cmd = ["model", "method", "run", "job", "execute", "--json"]
        front_one = concurrent([str(world.front), *cmd], world, 1, marks)
        front_many = concurrent([str(world.front), *cmd], world, CALLERS, marks)
        direct_many = concurrent([str(REAL_SWAMP), *cmd], world, CALLERS, marks)
    ratio = round(float(front_many["wall_s"]) / float(front_one["wall_s"]), 2)
    data = {"machine": {**machine_info(), "load": load_note()}, "command": "swamp " + " ".join(cmd), "front_one": front_one,
            "front_20": front_many, "direct_20": direct_many, "front_20_over_front_one": ratio,
            "target": "front_20 wall <= 1.5x front_one wall"}
    rows = [("", "wall", "executions", "failures (lock_timeout)", "distinct outputs")]
    for name, r in (("1 run through the front", front_one), ("20 concurrent through the front", front_many),
                    ("20 concurrent direct real swamp", direct_many)):
        rows.append((name, f"{r['wall_s']} s", str(r["executions"]), f"{r['failures']} ({r['lock_timeouts']})",
                     str(r["distinct_outputs"])))
    md = (f"# 20 concurrent identical method runs\n\n{data['machine']['date']}, {data['machine']['cpu']}, "
          f"{data['machine']['cpus']} CPUs, {data['machine']['load']}. One run.\n\n" + table(rows)
          + f"\n20 through the front / 1 through the front: {ratio}x (target <= 1.5x).\n")
    write_results("front_method_runs", data, md)


if __name__ == "__main__":
    main()
