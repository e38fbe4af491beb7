"""A passed-through command (`swamp --version`) through the front vs the real swamp directly.

Target (issue 11): the front adds at most 25 ms (median of paired differences).

The real swamp's own start-up varies by hundreds of milliseconds from run to run on a shared machine,
so the front's share is also measured exactly: the same exec path in front of a trivial program
(a `swamp` on PATH that is `/bin/true`) against that program run directly.

Run: .venv/bin/python benchmarks/bench_front_passthrough.py [--runs N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import machine_info, write_results
from benchmarks._front import PYTHON, REAL_SWAMP, World, load_note, paired, table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=12)
    args = parser.parse_args()
    with World() as world:
        result = paired([str(world.front), "--version"], [str(REAL_SWAMP), "--version"], runs=args.runs,
                        env=world.env, cwd=str(world.repo), warmup=1)
        trivial_dir = world.base / "trivial"
        trivial_dir.mkdir()
        (trivial_dir / "swamp").symlink_to("/bin/true")
        trivial_env = {**world.env, "PATH": world.env["PATH"].replace(str(REAL_SWAMP.parent), str(trivial_dir))}
        trivial = paired([str(world.front), "--version"], ["/bin/true", "--version"], runs=args.runs * 4,
                         env=trivial_env, cwd=str(world.repo))
        beyond_python = paired([str(world.front), "--version"], [PYTHON, "-I", "-S", "-c", "pass"],
                               runs=args.runs * 4, env=trivial_env, cwd=str(world.repo))
    data = {"machine": {**machine_info(), "load": load_note()}, "command": "swamp --version", "front_vs_real_swamp": result,
            "front_vs_trivial_binary": trivial, "front_vs_bare_python": beyond_python,
            "target": "front adds <= 25 ms (median of paired differences)"}
    md = (f"# A passed-through command through the front\n\n{data['machine']['date']}, {data['machine']['cpu']}, "
          f"{data['machine']['cpus']} CPUs, {data['machine']['load']}. Medians of paired runs (front, swamp, front, swamp ...).\n\n"
          + table([("command", "front wall", "direct wall", "front - direct (median of pairs)", "front cpu",
                    "direct cpu", "target"),
                   ("`swamp --version`", f"{result['a_wall_s'] * 1000:.0f} ms", f"{result['b_wall_s'] * 1000:.0f} ms",
                    f"{result['diff_wall_ms']} ms", f"{result['a_cpu_s'] * 1000:.0f} ms",
                    f"{result['b_cpu_s'] * 1000:.0f} ms", "<= 25 ms"),
                   ("the same exec path in front of `/bin/true`", f"{trivial['a_wall_s'] * 1000:.1f} ms",
                    f"{trivial['b_wall_s'] * 1000:.1f} ms", f"{trivial['diff_wall_ms']} ms",
                    f"{trivial['a_cpu_s'] * 1000:.1f} ms", f"{trivial['b_cpu_s'] * 1000:.1f} ms", "<= 25 ms"),
                   ("the same, against starting `python -I -S -c pass`", f"{beyond_python['a_wall_s'] * 1000:.1f} ms",
                    f"{beyond_python['b_wall_s'] * 1000:.1f} ms", f"{beyond_python['diff_wall_ms']} ms",
                    f"{beyond_python['a_cpu_s'] * 1000:.1f} ms", f"{beyond_python['b_cpu_s'] * 1000:.1f} ms",
                    "(what a Python front would cost at least)")]))
    write_results("front_passthrough", data, md)


if __name__ == "__main__":
    main()
