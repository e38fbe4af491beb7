"""`swamp data get MODEL NAME --json` (hot) through the front vs the real swamp, and vs a bare interpreter.

Targets (issue 11): the front at least 40x faster than the real swamp (as installed from
../shared/swamp-real, which runs from source); the front's whole process at most 2x
`python -I -S -c pass`. The front is the launcher `swamp daemon install-front` writes; the
virtualenv's pip console script is measured too.

Run: .venv/bin/python benchmarks/bench_front_data_get.py [--runs N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import machine_info, write_results
from benchmarks._front import PYTHON, REAL_SWAMP, World, load_note, paired, table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--real-runs", type=int, default=6)
    args = parser.parse_args()
    with World() as world:
        world.model("m1", "echo hello-from-the-bench")
        world.real("model", "method", "run", "m1", "execute", "--json")
        cmd = ["data", "get", "m1", "result", "--json"]
        env, cwd = world.env, str(world.repo)
        front = [str(world.front), *cmd]
        check = subprocess.run(front, env=env, cwd=cwd, capture_output=True, timeout=120)
        real_out = subprocess.run([str(REAL_SWAMP), *cmd], env=env, cwd=cwd, capture_output=True, timeout=120)
        assert check.stdout == real_out.stdout and check.returncode == 0, "the front must print swamp's bytes"
        vs_real = paired(front, [str(REAL_SWAMP), *cmd], runs=args.real_runs, env=env, cwd=cwd, warmup=1)
        bare = [PYTHON, "-I", "-S", "-c", "pass"]
        vs_bare = paired(front, bare, runs=args.runs, env=env, cwd=cwd)
        console = [str(Path(PYTHON).parent / "swamp"), *cmd]
        console_vs_bare = paired(console, bare, runs=args.runs, env=env, cwd=cwd)
        status = subprocess.run([str(world.front), "--json", "daemon", "status"], env=env, capture_output=True,
                                text=True, timeout=120).stdout
    speedup = round(1 / vs_real["ratio_wall"], 1)
    data = {"machine": {**machine_info(), "load": load_note()}, "command": "swamp " + " ".join(cmd),
            "front_vs_real_swamp": vs_real, "speedup_vs_real_swamp": speedup,
            "front_vs_bare_python": vs_bare, "console_script_vs_bare_python": console_vs_bare,
            "targets": {"speedup_vs_real_swamp": ">= 40", "front_vs_bare_python_wall": "<= 2.0"},
            "accelerated": '"accelerated_by_command"' in status}
    md = (f"# `swamp data get` (hot) through the front\n\n{data['machine']['date']}, {data['machine']['cpu']}, "
          f"{data['machine']['cpus']} CPUs, {data['machine']['load']}, Python {data['machine']['python']}. Medians of paired runs (A, B, A, B ...).\n\n"
          + table([("A", "B", "A wall", "B wall", "A/B wall (median of pairs)", "A cpu", "B cpu", "target"),
                   ("front (install-front launcher)", "real swamp", f"{vs_real['a_wall_s'] * 1000:.1f} ms",
                    f"{vs_real['b_wall_s'] * 1000:.0f} ms", f"{vs_real['ratio_wall']} ({speedup}x faster)",
                    f"{vs_real['a_cpu_s'] * 1000:.1f} ms", f"{vs_real['b_cpu_s'] * 1000:.0f} ms", ">= 40x faster"),
                   ("front (install-front launcher)", "`python -I -S -c pass`", f"{vs_bare['a_wall_s'] * 1000:.1f} ms",
                    f"{vs_bare['b_wall_s'] * 1000:.1f} ms", str(vs_bare["ratio_wall"]),
                    f"{vs_bare['a_cpu_s'] * 1000:.1f} ms", f"{vs_bare['b_cpu_s'] * 1000:.1f} ms", "<= 2x"),
                   ("front (pip console script)", "`python -I -S -c pass`",
                    f"{console_vs_bare['a_wall_s'] * 1000:.1f} ms", f"{console_vs_bare['b_wall_s'] * 1000:.1f} ms",
                    str(console_vs_bare["ratio_wall"]), f"{console_vs_bare['a_cpu_s'] * 1000:.1f} ms",
                    f"{console_vs_bare['b_cpu_s'] * 1000:.1f} ms", "(for information)")])
          + "\nThe front's output was checked byte for byte against the real swamp's before timing.\n")
    write_results("front_data_get", data, md)


if __name__ == "__main__":
    main()
