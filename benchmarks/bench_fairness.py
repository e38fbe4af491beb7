"""Fairness: one client's flood must not stall another client's `daemon.hello`.

In one run, against one daemon: a probe client calls `daemon.hello` back to back for
PROBE_SECONDS while a flooding client (its own process) does, in turn:
  - nothing (the baseline),
  - sends maximal batches (`max_batch` x `rpc.echo`) back to back, reading each reply,
  - sends `rpc.echo` notifications as fast as the socket takes them,
  - sends a 100,000-member batch (refused: over `max_batch`) again and again,
  - subscribes to every topic as often as the connection allows, with events flowing.
The probe's p50/p99/max latency per phase go to benchmarks/results/fairness.{json,md}.
With --before REV the same phases run first against a daemon built from that git revision
(exported with `git archive` into a temp dir), so the before/after ratios come from one run.

Run: .venv/bin/python benchmarks/bench_fairness.py [--before REV]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import ThrowawayDaemon, machine_info, percentiles, write_results

PROBE_SECONDS = 4.0
HUGE_BATCH = 100_000


def _echo(i: int, with_id: bool) -> bytes:
    if with_id:
        return b'{"jsonrpc":"2.0","method":"rpc.echo","params":[%d],"id":%d}' % (i, i)
    return b'{"jsonrpc":"2.0","method":"rpc.echo","params":[%d]}' % i


def flood(socket_path: str, kind: str, max_batch: int, stop: Any, ready: Any) -> None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(socket_path)
    reader = sock.makefile("rb")
    if kind == "batch":
        frame = b"[" + b",".join(_echo(i, True) for i in range(max_batch)) + b"]\n"
    elif kind == "huge_batch":
        frame = b"[" + b",".join(_echo(i, True) for i in range(HUGE_BATCH)) + b"]\n"
    elif kind == "notifications":
        frame = b"\n".join(_echo(i, False) for i in range(10_000)) + b"\n"
    elif kind == "subscriptions":
        frame = b'{"jsonrpc":"2.0","method":"events.subscribe","params":{"topics":["*"]},"id":1}\n' * 1000
    else:
        frame = b""
    ready.set()
    while not stop.is_set() and frame:
        sock.sendall(frame)
        if kind in ("batch", "huge_batch"):
            reader.readline()
        elif kind == "subscriptions":
            for _ in range(1000):
                reader.readline()
    sock.close()


def probe(socket_path: str, seconds: float) -> list[float]:
    from swampd.client import Client

    samples = []
    with Client(socket_path, timeout=60) as client:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            t = time.perf_counter()
            client.call("daemon.hello")
            samples.append(time.perf_counter() - t)
    return samples


def publisher(socket_path: str, stop: Any) -> None:
    """Keeps events flowing (each `repos.list`... is silent; `cache.evict` publishes on `cache`)."""
    from swampd.client import Client

    with Client(socket_path, timeout=60) as client:
        while not stop.is_set():
            client.call("cache.evict", {"prefix": "nothing-here/"})
            time.sleep(0.01)


def phase(socket_path: str, kind: str, max_batch: int) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    stop, ready = ctx.Event(), ctx.Event()
    procs = [ctx.Process(target=flood, args=(socket_path, kind, max_batch, stop, ready))]
    if kind == "subscriptions":
        procs.append(ctx.Process(target=publisher, args=(socket_path, stop)))
    for p in procs:
        p.start()
    ready.wait(60)
    time.sleep(0.5)  # let the flood get going
    samples = probe(socket_path, PROBE_SECONDS)
    stop.set()
    for p in procs:
        p.join(30)
        if p.is_alive():
            p.kill()
    result = percentiles(samples)
    result["max_us"] = round(max(samples) * 1e6, 1)
    return result


PHASES = ["idle", "batch", "notifications", "huge_batch", "subscriptions"]


def run_phases(source: str | None, max_batch: int, label: str) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with ThrowawayDaemon({"PYTHONPATH": source} if source else None, cwd=source) as daemon:
        for kind in PHASES:
            results[kind] = phase(daemon.socket, kind, max_batch)
            print(label, kind, results[kind], flush=True)
    return results


def export_revision(rev: str) -> tuple[str, str]:
    """The source tree of `rev` in a temp dir, and its full commit id."""
    repo = Path(__file__).resolve().parent.parent
    commit = subprocess.run(["git", "rev-parse", rev], cwd=repo, capture_output=True, text=True,
                            check=True).stdout.strip()
    target = tempfile.mkdtemp(prefix="sd-before-")
    archive = subprocess.run(["git", "archive", commit], cwd=repo, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", target], input=archive, check=True)
    return target, commit


def main() -> None:
    from swampd.protocol import MAX_BATCH

    parser = argparse.ArgumentParser()
    parser.add_argument("--before", help="also measure a daemon built from this git revision")
    args = parser.parse_args()
    before: dict[str, Any] | None = None
    before_commit = None
    if args.before:
        source, before_commit = export_revision(args.before)
        try:
            before = run_phases(source, MAX_BATCH, "before")
        finally:
            shutil.rmtree(source, ignore_errors=True)
    results = run_phases(None, MAX_BATCH, "after")
    data = {"machine": machine_info(), "probe_seconds": PROBE_SECONDS, "max_batch": MAX_BATCH,
            "phases": results, "before": {"commit": before_commit, "phases": before} if before else None}
    lines = [
        "# Fairness: `daemon.hello` latency of one client while another floods",
        "",
        f"Machine: {data['machine']['cpu']} ({data['machine']['cpus']} CPUs), Python {data['machine']['python']}, "
        f"{data['machine']['date']}. Probe: back-to-back `daemon.hello` for {PROBE_SECONDS:g} s per phase; "
        f"the flood runs in its own process. max_batch = {MAX_BATCH}.",
        "",
        "| flood | hellos | p50 | p99 | max |" + (" p99 before | max before |" if before else ""),
        "|---|---|---|---|---|" + ("---|---|" if before else ""),
    ]
    names = {"idle": "none", "batch": f"batches of {MAX_BATCH} rpc.echo",
             "notifications": "rpc.echo notifications", "huge_batch": f"{HUGE_BATCH:,}-member batches (refused)",
             "subscriptions": "events.subscribe x1000 per write, events flowing"}
    for kind in PHASES:
        r = results[kind]
        row = (f"| {names[kind]} | {r['n']} | {r['p50_us'] / 1000:.2f} ms | {r['p99_us'] / 1000:.2f} ms "
               f"| {r['max_us'] / 1000:.2f} ms |")
        if before:
            b = before[kind]
            row += f" {b['p99_us'] / 1000:.2f} ms | {b['max_us'] / 1000:.2f} ms |"
        lines.append(row)
    if before:
        lines += ["", f"Before: commit {before_commit} (no batch cap, no per-turn line quota, no subscription cap), "
                      "measured in the same run on the same machine."]
    write_results("fairness", data, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
