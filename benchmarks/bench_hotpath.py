"""The hot path, change by change: daemons of several versions and settings side by side with redis-py.

    .venv/bin/python benchmarks/bench_hotpath.py --base REF [--pin] [--rounds N]

Starts, in one run, a daemon from git revision REF (its tree exported to a temporary directory), one from
this working tree, the same under uvloop when it is installed (anyio's `use_uvloop`; neither a swampd
option nor a dependency: the event loop patched in at start, assertions off because swampd checks for asyncio's own transport class), the same
with the in-memory tier off (`[cache] memory_limit = 0`), and a redis-server. One client calls each in
turn, round after round (`daemon.hello` and a hot 1 KiB `data.get` on each daemon, GET 1 KiB on
redis-py; this tree's daemon also through base's client, to tell a client change apart), so a busy machine weighs on all of them alike; ratios to redis-py GET come from the same
rounds. `--pin` puts every thread of every process on CPU 0 (the software cost). Daemon CPU per request
is read from /proc around each daemon's own phase (the calls of the other daemons excluded), the client's
from its thread's CPU clock over the same phase.
Writes benchmarks/results/hotpath[.pinned].json|md.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import ThrowawayDaemon, machine_info, pin_threads, process_cpu, write_results
from benchmarks.bench_rpc import start_redis

MODEL = "b0b0b0b0-1111-4222-8333-444455556666"
PARAMS = {"repo": "bench", "type": "bench", "model": MODEL, "name": "1KiB"}
BASE_CLIENT = "now_with_base_client"
UVLOOP_MAIN = ("import functools, anyio; anyio.run = functools.partial(anyio.run, backend_options={'use_uvloop': True}); "
               "from swampd.server.main import main; raise SystemExit(main())")


class Variant(ThrowawayDaemon):
    def __init__(self, name: str, cwd: str, *, argv: list[str] | None = None, config: str = "") -> None:
        super().__init__(cwd=cwd, argv=argv)
        self.name = name
        if config:
            path = self.home / "config.toml"
            path.write_text(config)
            self.env["SWAMPD_CONFIG"] = str(path)


def export_tree(ref: str, into: str) -> str:
    commit = subprocess.run(["git", "rev-parse", ref], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return commit


def base_client_class(tree: str) -> Any:
    """`Client` from `tree`'s swampd/client.py (its own imports resolve to this tree's package)."""
    spec = importlib.util.spec_from_file_location("swampd_base_client", os.path.join(tree, "swampd", "client.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Client


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True, help="git revision of the 'before' daemon")
    parser.add_argument("--pin", action="store_true")
    parser.add_argument("--rounds", type=int, default=3000)
    opts = parser.parse_args()
    import redis

    from swampd.client import Client

    tmp = tempfile.mkdtemp(prefix="sdhot-", dir="/tmp")
    base_tree = os.path.join(tmp, "base")
    os.mkdir(base_tree)
    base_commit = export_tree(opts.base, base_tree)
    load_before = [round(x, 2) for x in os.getloadavg()]
    redis_proc, redis_path = start_redis(tmp)
    now = Variant("now", str(ROOT))
    variants = [Variant("base", base_tree), now]
    if importlib.util.find_spec("uvloop") is not None:  # not a dependency: `pip install uvloop` to compare
        variants.append(Variant("now_uvloop", str(ROOT), argv=[sys.executable, "-O", "-c", UVLOOP_MAIN]))
    variants.append(Variant("now_no_memory_tier", str(ROOT), config="[cache]\nmemory_limit = 0\n"))
    started: list[Variant] = []
    try:
        for v in variants:
            started.append(v)  # its home is removed on the way out even if it fails to start
            v.__enter__()
        clients: dict[str, Any] = {}
        daemon_pid: dict[str, int] = {}
        for v in variants:
            repo = v.home / "repo"
            (repo / ".swamp").mkdir(parents=True)
            (repo / ".swamp.yaml").write_text('repoId: "bench"\n')
            c = clients[v.name] = Client(v.socket, timeout=60)
            c.call("repos.register", {"path": str(repo), "name": "bench"})
            c.call("data.put", {**PARAMS, "content": "a" * 1024, "content_type": "text/plain"})
            assert v.proc is not None
            daemon_pid[v.name] = v.proc.pid
        # This tree's daemon called by the base tree's client: what the client change alone does.
        clients[BASE_CLIENT] = base_client_class(base_tree)(now.socket, timeout=60)
        daemon_pid[BASE_CLIENT] = daemon_pid["now"]
        r = redis.Redis(unix_socket_path=redis_path)
        r.set("k1KiB", b"a" * 1024)
        every_cpu = os.sched_getaffinity(0)
        pids = [os.getpid(), redis_proc.pid, *(v.proc.pid for v in variants if v.proc)]
        if opts.pin:
            pin_threads(pids, {0})
        # Each call follows a call to another process: on a busy machine a process that has just run
        # answers its next request sooner, which would favour a daemon's second call in a row.
        calls: dict[str, Any] = {"redis_get_1KiB": lambda: r.get("k1KiB")}
        for name, c in clients.items():
            calls[f"{name}:hello"] = lambda c=c: c.call("daemon.hello")
        for name, c in clients.items():
            calls[f"{name}:get_1KiB"] = lambda c=c: c.call("data.get", PARAMS)
        for _ in range(200):
            for call in calls.values():
                call()
        samples: dict[str, list[float]] = {k: [] for k in calls}
        clock = time.perf_counter
        for _ in range(opts.rounds):
            for name, call in calls.items():
                t = clock()
                call()
                samples[name].append(clock() - t)
        cpu: dict[str, float] = {}
        client_cpu: dict[str, float] = {}
        for name, pid in daemon_pid.items():  # CPU per request, measured over a phase of each pair alone
            for op in ("hello", "get_1KiB"):
                fn = calls[f"{name}:{op}"]
                before, client_before = process_cpu(pid), time.thread_time()
                for _ in range(opts.rounds):
                    fn()
                client_cpu[f"{name}:{op}"] = round((time.thread_time() - client_before) / opts.rounds * 1e6, 1)
                cpu[f"{name}:{op}"] = round((process_cpu(pid) - before) / opts.rounds * 1e6, 1)
        tiers = clients["now"].call("cache.stats").get("tiers")
        if opts.pin:
            pin_threads(pids, every_cpu)
        for c in clients.values():
            c.close()
    finally:
        for v in started:
            v.__exit__(None, None, None)
        redis_proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)

    p50 = {k: round(statistics.median(v) * 1e6, 1) for k, v in samples.items()}
    redis_p50 = p50["redis_get_1KiB"]
    rows = {}
    for name in daemon_pid:
        rows[name] = {
            "hello_p50_us": p50[f"{name}:hello"], "get_1KiB_p50_us": p50[f"{name}:get_1KiB"],
            "hello_x_redis": round(p50[f"{name}:hello"] / redis_p50, 2),
            "get_1KiB_x_redis": round(p50[f"{name}:get_1KiB"] / redis_p50, 2),
            "daemon_cpu_us_hello": cpu[f"{name}:hello"], "daemon_cpu_us_get_1KiB": cpu[f"{name}:get_1KiB"],
            "client_cpu_us_get_1KiB": client_cpu[f"{name}:get_1KiB"],
        }
    machine = machine_info()
    machine.update(load_average_before=load_before, load_average_after=[round(x, 2) for x in os.getloadavg()])
    results = {"machine": machine, "pinned": opts.pin, "base": {"ref": opts.base, "commit": base_commit},
               "rounds": opts.rounds, "redis_get_1KiB_p50_us": redis_p50, "variants": rows,
               "memory_tier_of_now": tiers}
    lines = [
        "# Hot path, version by version (`benchmarks/bench_hotpath.py`)", "",
        f"{machine['date']} · Python {machine['python']} · {machine['cpus']} CPUs ({machine['cpu']}) · "
        f"{'pinned: every thread of every process on CPU 0' if opts.pin else 'unpinned'} · {opts.rounds} rounds · "
        f"load average (1, 5, 15 min) before {load_before}, after {machine['load_average_after']}", "",
        f"base = `{opts.base}` ({base_commit[:10]}); now = this tree. One client calls every row in turn, round after "
        f"round; redis-py GET 1 KiB p50 in the same rounds: {redis_p50} µs.", "",
        f"`{BASE_CLIENT}`: this tree's daemon called by base's `swampd/client.py`.", "",
        "| daemon | hello p50 µs | × redis GET | data.get 1 KiB p50 µs | × redis GET | daemon CPU µs/hello | "
        "daemon CPU µs/get | client CPU µs/get |", "|---|---|---|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        lines.append(f"| {name} | {row['hello_p50_us']} | {row['hello_x_redis']} | {row['get_1KiB_p50_us']} | "
                     f"{row['get_1KiB_x_redis']} | {row['daemon_cpu_us_hello']} | {row['daemon_cpu_us_get_1KiB']} | "
                     f"{row['client_cpu_us_get_1KiB']} |")
    lines += ["", "Daemon CPU per request comes from /proc (10 ms ticks) over a phase of that daemon alone; on a "
              "loaded machine it includes the cost of being descheduled (cache refills), so compare rows, not runs."]
    write_results("hotpath.pinned" if opts.pin else "hotpath", results, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
