"""swampd's own commands under `swamp` (`swamp cache stats --json`, `swamp daemon status --json`)
as whole processes vs `python -I -S -c pass`.

Target (issue 11): at most 2.5x a bare interpreter (it was ~7x: every command imported argparse
and the whole command table).

Run: .venv/bin/python benchmarks/bench_front_cli.py [--runs N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import machine_info, write_results
from benchmarks._front import PYTHON, World, load_note, paired, table


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    bare = [PYTHON, "-I", "-S", "-c", "pass"]
    results = {}
    with World() as world:
        for words in (["cache", "stats", "--json"], ["daemon", "status", "--json"]):
            results["swamp " + " ".join(words)] = paired([str(world.front), *words], bare, runs=args.runs,
                                                         env=world.env, cwd=str(world.repo))
    data = {"machine": {**machine_info(), "load": load_note()}, "vs_bare_python": results, "target": "<= 2.5x python -I -S -c pass"}
    rows = [("command", "wall", "bare python wall", "ratio (median of pairs)", "cpu", "target")]
    rows += [(f"`{name}`", f"{r['a_wall_s'] * 1000:.1f} ms", f"{r['b_wall_s'] * 1000:.1f} ms", str(r["ratio_wall"]),
              f"{r['a_cpu_s'] * 1000:.1f} ms", "<= 2.5x") for name, r in results.items()]
    md = (f"# swampd's own commands through `swamp`\n\n{data['machine']['date']}, {data['machine']['cpu']}, "
          f"{data['machine']['cpus']} CPUs, {data['machine']['load']}. The install-front launcher; medians of paired runs.\n\n" + table(rows))
    write_results("front_cli", data, md)


if __name__ == "__main__":
    main()
