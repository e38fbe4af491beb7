"""Two swampd daemons and the real swamp on one S3 bucket (moto server) and one PostgreSQL schema.

    .venv/bin/python benchmarks/bench_remote_interop.py [--quick]

Both daemons run with the default config (`staleness` 1 s: the S3 index is polled every second;
PostgreSQL changes arrive by NOTIFY). Per backend:

- visibility: daemon A's `data.put` until daemon B serves it (B asks every 5 ms); A's `data.put`
  until the real swamp shows it (`datastore sync --pull`, then `data get`: two swamp processes); a
  real swamp method run until both daemons serve its version (from the moment swamp exits);
- hot reads: `swampd data get` (a whole process, through daemon A) against the real swamp's own read
  path (`swamp data get --json`, whose extension reads its local cache), paired runs; and daemon A's
  `data.get` over the socket (in process);
- writes: daemon A's `data.put` (objects + swamp's index under its lock, or one transaction with the
  `sync_state` stamp) against a real swamp method run that writes one version and pushes it, and
  the same method run on a filesystem datastore (what swamp's own sync adds to its write).
  benchmarks/results/remote.md has the index / trigger upkeep by itself.

Writes benchmarks/results/remote_interop.json and remote_interop.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "storage"))
os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1")

from servers import MotoServer, PostgresCluster

from benchmarks._common import ThrowawayDaemon, machine_info, percentiles, write_results
from benchmarks._front import load_note, paired, run_timed, table
from swampd.client import Client
from tests.conftest import REAL_SWAMP, RealSwamp
from tests.interop.remote import SHELL, swamp_json, swamp_repo_on

SWAMPD = str(Path(sys.executable).parent / "swampd")


def ms(values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)
    return {"p50_ms": round(statistics.median(ordered) * 1e3, 1), "max_ms": round(ordered[-1] * 1e3, 1),
            "min_ms": round(ordered[0] * 1e3, 1), "n": len(ordered)}


def wait_served(client: Client, at: dict[str, str], version: int, deadline_s: float = 120.0) -> float:
    """Ask every 5 ms until `latest` of `at` is `version`; the moment it is (perf_counter)."""
    deadline = time.perf_counter() + deadline_s
    while time.perf_counter() < deadline:
        try:
            if client.call("data.get", at)["version"] >= version:
                return time.perf_counter()
        except Exception:  # noqa: BLE001 - not there yet (not_found)
            pass
        time.sleep(0.005)
    raise RuntimeError(f"version {version} of {at['name']} never served")


class Backend:
    def __init__(self, label: str, swamp: RealSwamp, repo: Path, a: Client, b: Client) -> None:
        self.label = label
        self.swamp = swamp
        self.repo = repo
        self.a = a
        self.b = b
        self.at = {"repo": str(repo), "type": SHELL, "model": "hello"}

    def a_to_b(self, samples: int) -> dict[str, Any]:
        out = []
        at = {**self.at, "name": "seen-by-b"}
        for i in range(samples + 1):  # the first one only makes B hold the name (a pointer to invalidate)
            put = self.a.call("data.put", {**at, "content": f"v{i}", "content_type": "text/plain"})
            done = time.perf_counter()
            seen = wait_served(self.b, at, put["version"]) - done
            if i:
                out.append(seen)
        return ms(out)

    def a_to_swamp(self, samples: int) -> dict[str, Any]:
        out = []
        for i in range(samples):
            text = f"for-swamp-{i}"
            self.a.call("data.put", {**self.at, "name": "seen-by-swamp", "content": text, "content_type": "text/plain"})
            done = time.perf_counter()
            swamp_json(self.swamp, "datastore", "sync", "--pull", cwd=self.repo)
            got = swamp_json(self.swamp, "data", "get", "hello", "seen-by-swamp", "--version",
                             str(i + 1), cwd=self.repo)
            assert got["content"] == text, got
            out.append(time.perf_counter() - done)
        return ms(out)

    def swamp_to_daemons(self, samples: int) -> dict[str, Any]:
        out_a, out_b = [], []
        at = {**self.at, "name": "result"}
        for _ in range(samples):
            for client in (self.a, self.b):  # both hold the current latest (what the run must invalidate)
                try:
                    client.call("data.get", at)
                except Exception:  # noqa: BLE001 - no result yet
                    pass
            run = swamp_json(self.swamp, "model", "method", "run", "hello", "execute", cwd=self.repo)
            done = time.perf_counter()
            version = int(next(a for a in run["dataArtifacts"] if a["name"] == "result")["path"].rsplit("/", 1)[1])
            out_a.append(wait_served(self.a, at, version) - done)
            out_b.append(wait_served(self.b, at, version) - done)
        return {"daemon_a": ms(out_a), "daemon_b": ms(out_b)}

    def hot_reads(self, runs: int, env: dict[str, str]) -> dict[str, Any]:
        self.a.call("data.put", {**self.at, "name": "hot", "content": "hot-content", "content_type": "text/plain"})
        swamp_json(self.swamp, "datastore", "sync", "--pull", cwd=self.repo)
        assert swamp_json(self.swamp, "data", "get", "hello", "hot", cwd=self.repo)["content"] == "hot-content"
        ours = [SWAMPD, "data", "get", "--repo", str(self.repo), SHELL, "hello", "hot"]
        theirs = [str(REAL_SWAMP), "data", "get", "hello", "hot", "--json"]
        pair = paired(ours, theirs, runs=runs, env=env, cwd=str(self.repo), warmup=1)
        rpc = []
        params = {**self.at, "name": "hot"}
        for _ in range(300):
            start = time.perf_counter()
            self.a.call("data.get", params)
            rpc.append(time.perf_counter() - start)
        return {"swampd_data_get_vs_swamp_data_get": pair, "rpc_data_get_hot": percentiles(rpc)}

    def writes(self, samples: int, swamp_runs: int, fs_repo: Path) -> dict[str, Any]:
        puts = []
        for i in range(samples):
            start = time.perf_counter()
            self.a.call("data.put", {**self.at, "name": "write-cost", "content": f"w{i}", "content_type": "text/plain"})
            puts.append(time.perf_counter() - start)
        env = self.swamp.env()
        cmd = [str(REAL_SWAMP), "model", "method", "run", "hello", "execute", "--json"]
        pairs = [(run_timed(cmd, env, str(self.repo))[0], run_timed(cmd, env, str(fs_repo))[0])
                 for _ in range(swamp_runs)]  # A, B, A, B: drift hits both alike
        return {"rpc_data_put": ms(puts), "swamp_method_run": ms([r for r, _ in pairs]),
                "swamp_method_run_filesystem": ms([f for _, f in pairs]),
                "swamp_sync_share_ms": round(statistics.median(r - f for r, f in pairs) * 1e3, 1)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    opts = parser.parse_args()
    if not REAL_SWAMP.exists():
        raise SystemExit(f"the real swamp is not installed at {REAL_SWAMP}: run scripts/setup --test")
    n_b, n_swamp, n_pair = (5, 2, 3) if opts.quick else (12, 5, 5)
    root = Path(tempfile.mkdtemp(prefix="sbri-", dir="/tmp"))
    moto, pg = MotoServer(), PostgresCluster(tcp=True)
    results: dict[str, Any] = {}
    try:
        moto.start()
        pg.start()
        (root / "home").mkdir()
        swamp = RealSwamp(REAL_SWAMP, root / "home")
        bucket = f"interop-{uuid.uuid4().hex[:8]}"
        moto.client().create_bucket(Bucket=bucket)
        blocks = {
            "s3": {"type": "@swamp/s3-datastore",
                   "config": {"bucket": bucket, "prefix": "team", "region": "us-east-1", "endpoint": moto.endpoint,
                              "forcePathStyle": True}},
            "postgres": {"type": "@webframp/postgres-datastore",
                         "config": {"connectionString": pg.url, "schema": "interop", "ssl": "disable"}},
        }
        fs_repo = swamp.init_repo(root / "fs-repo")
        swamp.json("model", "create", SHELL, "hello", cwd=fs_repo)
        definition = fs_repo / "models" / "command" / "shell" / "hello.yaml"
        definition.write_text(definition.read_text().replace(
            "methods: {}", "methods:\n  execute:\n    arguments:\n      run: echo hi\n"))
        env = swamp.env()
        with ThrowawayDaemon(env) as a, ThrowawayDaemon(env) as b:
            client_a, client_b = Client(a.socket, timeout=60), Client(b.socket, timeout=60)
            for label, block in blocks.items():
                repo = swamp_repo_on(swamp, root / f"repo-{label}", block, run="cat /proc/sys/kernel/random/uuid")
                at = {"repo": str(repo), "type": SHELL, "model": "hello", "name": "first"}
                client_a.call("data.put", {**at, "content": "x"})  # PostgreSQL: swampd makes the locks table
                swamp_json(swamp, "model", "method", "run", "hello", "execute", cwd=repo)  # an index, a pushed version
                be = Backend(label, swamp, repo, client_a, client_b)
                daemon_env = {**a.env, **swamp.env()}
                daemon_env["SWAMPD_HOME"] = str(a.home)
                steps = {"a_to_b": partial(be.a_to_b, n_b),
                         "swamp_to_daemons": partial(be.swamp_to_daemons, n_swamp),
                         "a_to_swamp": partial(be.a_to_swamp, n_swamp),
                         "hot_reads": partial(be.hot_reads, n_pair, daemon_env),
                         "writes": partial(be.writes, n_b, n_swamp, fs_repo)}
                results[label] = {}
                for step, run in steps.items():
                    started = time.perf_counter()
                    results[label][step] = run()
                    print(f"{label} {step}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
            client_a.close()
            client_b.close()
    finally:
        moto.stop()
        pg.destroy()
        shutil.rmtree(root, ignore_errors=True)
    out = {"machine": {**machine_info(), "quick": opts.quick, "load": load_note()},
           "config": "daemon defaults: [cache] staleness = 1.0 (S3 index poll interval), signal_staleness = 60",
           "results": results}
    write_results("remote_interop", out, markdown(out))
    return 0


def rewrite_markdown() -> None:
    """benchmarks/results/remote_interop.md again from the .json (after a change to the wording)."""
    import json

    from benchmarks._common import RESULTS

    out = json.loads((RESULTS / "remote_interop.json").read_text())
    (RESULTS / "remote_interop.md").write_text(markdown(out))


def markdown(out: dict[str, Any]) -> str:
    m = out["machine"]
    lines = [
        "# Two swampd daemons and the real swamp on one bucket and one database (benchmarks/bench_remote_interop.py)",
        "",
        f"{m['date']}, {m['cpu']}, {m['cpus']} CPUs, {m['load']}, Python {m['python']}"
        f"{' (quick)' if m['quick'] else ''}. moto server and PostgreSQL 15 on loopback; {out['config']}. The real "
        "swamp runs from source (~1.3 s a process here): its times are dominated by its start-up.", "",
        "## Visibility (from the writer's acknowledgement until the other side serves the write)", "",
    ]
    rows: list[tuple[str, ...]] = [("backend", "path", "p50", "min", "max", "n")]
    for label, r in out["results"].items():
        for path, v in (("daemon A data.put → daemon B data.get", r["a_to_b"]),
                        ("real swamp method run → daemon A", r["swamp_to_daemons"]["daemon_a"]),
                        ("real swamp method run → daemon B", r["swamp_to_daemons"]["daemon_b"]),
                        ("daemon A data.put → real swamp (sync --pull + data get, 2 processes)", r["a_to_swamp"])):
            rows.append((label, path, f"{v['p50_ms']} ms", f"{v['min_ms']} ms", f"{v['max_ms']} ms", str(v["n"])))
    lines.append(table(rows))
    lines.append("\nA real swamp run is timed from its process's exit: swamp pushes before it exits, so part of the "
                 "propagation happens before the clock starts. Daemon B is asked after daemon A has served the "
                 "version (its time includes A's).\n")
    lines += ["## Hot reads", ""]
    rows = [("backend", "swampd data get (process)", "swamp data get --json (process)", "ratio (median of pairs)",
             "data.get over the socket p50 / p99")]
    for label, r in out["results"].items():
        p = r["hot_reads"]["swampd_data_get_vs_swamp_data_get"]
        rpc = r["hot_reads"]["rpc_data_get_hot"]
        rows.append((label, f"{p['a_wall_s'] * 1000:.1f} ms", f"{p['b_wall_s'] * 1000:.0f} ms",
                     f"{p['ratio_wall']} ({round(1 / p['ratio_wall'], 1)}x faster)",
                     f"{rpc['p50_us'] / 1000:.2f} / {rpc['p99_us'] / 1000:.2f} ms"))
    lines.append(table(rows))
    lines += ["## Writes", ""]
    rows = [("backend", "swampd data.put p50", "real swamp method run p50", "same run, filesystem datastore p50",
             "swamp's sync share of its run")]
    for label, r in out["results"].items():
        w = r["writes"]
        rows.append((label, f"{w['rpc_data_put']['p50_ms']} ms", f"{w['swamp_method_run']['p50_ms']} ms",
                     f"{w['swamp_method_run_filesystem']['p50_ms']} ms",
                     f"{w['swamp_sync_share_ms']:.0f} ms (median of paired differences)"))
    lines.append(table(rows))
    lines.append("\nswampd's index upkeep (S3) and NOTIFY trigger (PostgreSQL) by themselves: benchmarks/results/remote.md.\n")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
