"""Hot data.get through the daemon vs redis-py, warm boto3, psycopg over TCP and a cold boto3 process.

    .venv/bin/python benchmarks/bench_data.py [--quick] [--pin]

The latency phases interleave the paths (one call of each in turn, round after round), so that a
busy machine weighs on swampd and redis-py alike and their ratios hold within one run; the load
average is recorded beside the results. 16-process throughput alternates swampd and redis-py twice.

Starts everything it needs (a private swampd, redis-server on a Unix socket, moto server, a
throwaway PostgreSQL cluster listening on 127.0.0.1) and writes benchmarks/results/data.json and
data.md. Needs postgresql (Debian: /usr/lib/postgresql/15/bin) and redis-server installed.
"""

from __future__ import annotations

import argparse
import base64
import json
import multiprocessing as mp
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "storage"))

from servers import MotoServer, PostgresCluster, RedisServer

from benchmarks._common import last_cpu, pin_threads, process_cpu
from swampd.client import Client

MODEL = "b0b0b0b0-1111-4222-8333-444455556666"
PG_QUERY = "SELECT v FROM blobs WHERE k = %s"
SIZES = {"1KiB": 1024, "64KiB": 64 * 1024, "1MiB": 1024 * 1024}


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1)))]


def summary(samples: list[float]) -> dict[str, float]:
    return {"p50_us": round(pct(samples, 0.5) * 1e6, 1), "p95_us": round(pct(samples, 0.95) * 1e6, 1),
            "mean_us": round(statistics.fmean(samples) * 1e6, 1), "n": len(samples)}


def timed(fn: Any, n: int, warmup: int = 50) -> dict[str, float]:
    return interleaved({"_": fn}, n, warmup)["_"]


def interleaved(fns: dict[str, Any], n: int, warmup: int = 50,
                servers: dict[str, int] | None = None) -> dict[str, dict[str, float]]:
    """Time each of `fns` n times, one call of each in turn, so that they share the machine's moods.

    `servers` (name -> the pid answering that path): every 8th round, untimed, note whether each server
    last ran on the CPU this client is on; the share of such rounds is `same_cpu_pct`. Unpinned, the
    kernel decides it, and a server woken on the client's own CPU answers sooner than one woken on
    the other (an inter-processor wake-up, costly in a VM)."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    same_cpu: dict[str, list[bool]] = {name: [] for name in servers or {}}
    clock = time.perf_counter
    for i in range(n):
        for name, fn in fns.items():
            start = clock()
            fn()
            samples[name].append(clock() - start)
        if servers and i % 8 == 0:
            here = last_cpu(os.getpid())
            for name, pid in servers.items():
                same_cpu[name].append(last_cpu(pid) == here)
    out = {name: summary(values) for name, values in samples.items()}
    for name, flags in same_cpu.items():
        if flags:
            out[name]["same_cpu_pct"] = round(100 * sum(flags) / len(flags), 1)
    return out


class Daemon:
    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="sdb-", dir="/tmp"))
        self.env = {**os.environ, "SWAMPD_HOME": str(self.home), "SWAMPD_IDLE_TIMEOUT": "0"}
        self.proc = subprocess.Popen([sys.executable, "-m", "swampd"], env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.socket = str(self.home / "run" / "swampd.sock")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with Client(self.socket, timeout=5) as c:
                    c.call("daemon.hello")
                    return
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.05)
        raise RuntimeError("swampd did not start")

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.home, ignore_errors=True)


def _daemon_worker(sock: str, params: dict[str, Any], seconds: float, queue: Any) -> None:
    with Client(sock, timeout=30) as c:
        c.call("data.get", params)
        count, end = 0, time.perf_counter() + seconds
        while time.perf_counter() < end:
            c.call("data.get", params)
            count += 1
    queue.put(count)


def _redis_worker(sock: str, key: str, seconds: float, queue: Any) -> None:
    import redis

    r = redis.Redis(unix_socket_path=sock)
    r.get(key)
    count, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        r.get(key)
        count += 1
    queue.put(count)


def throughput_with_cpu(target: Any, args: tuple[Any, ...], procs: int, seconds: float, server_pid: int
                        ) -> dict[str, float]:
    """`throughput`, and the CPU per operation of the server and of the clients (all of them)."""
    children_before = os.times()
    server_before = process_cpu(server_pid)
    ops_s = throughput(target, args, procs, seconds)
    server = process_cpu(server_pid) - server_before
    children_after = os.times()
    clients = (children_after.children_user + children_after.children_system
               - children_before.children_user - children_before.children_system)
    ops = ops_s * seconds
    return {"ops_s": ops_s, "server_cpu_us_per_op": round(1e6 * server / ops, 1),
            "client_cpu_us_per_op": round(1e6 * clients / ops, 1)}


def throughput(target: Any, args: tuple[Any, ...], procs: int, seconds: float) -> float:
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    workers = [ctx.Process(target=target, args=(*args, seconds, queue)) for _ in range(procs)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    total = sum(queue.get(timeout=seconds + 60) for _ in workers)
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    return round(total / max(seconds, elapsed - 0.0) if elapsed < seconds * 1.5 else total / seconds, 1)


def _start_floor(home: Path, result: Any) -> subprocess.Popen[str]:
    """benchmarks/_asyncio_floor.py answering with `result` (swampd's own reply) on home/floor.sock."""
    result_file = home / "floor-result.json"
    result_file.write_text(json.dumps(result))
    proc = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "_asyncio_floor.py"),
                             str(home / "floor.sock"), str(result_file)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        raise RuntimeError("the asyncio floor server did not start")
    return proc


COLD_SCRIPT = """
import boto3
c = boto3.client("s3", endpoint_url="{endpoint}", region_name="us-east-1",
                 aws_access_key_id="test", aws_secret_access_key="test")
c.get_object(Bucket="bench", Key="k1KiB")["Body"].read()
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    parser.add_argument("--pin", action="store_true",
                        help="latency phases with every process on CPU 0 (writes data.pinned.json|md)")
    opts = parser.parse_args()
    n = 500 if opts.quick else 3000
    load_before = os.getloadavg()
    seconds = 2.0 if opts.quick else 5.0
    payloads = {name: (b"a" * size if name == "1KiB" else os.urandom(size)) for name, size in SIZES.items()}

    redis_server, moto, pg, daemon = RedisServer(), MotoServer(), PostgresCluster(tcp=True), None
    results: dict[str, Any] = {}
    try:
        redis_server.start()
        moto.start()
        pg.start()
        daemon = Daemon()
        repo = Path(daemon.home) / "repo"
        (repo / ".swamp").mkdir(parents=True)
        (repo / ".swamp.yaml").write_text('repoId: "bench"\n')

        import boto3
        import psycopg
        import redis

        s3 = boto3.client("s3", endpoint_url=moto.endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
        s3.create_bucket(Bucket="bench")
        r = redis.Redis(unix_socket_path=str(redis_server.sock))
        pgconn = psycopg.connect(pg.tcp_dsn, autocommit=True)
        pgconn.execute("CREATE TABLE blobs (k text PRIMARY KEY, v bytea)")
        pids = [os.getpid(), daemon.proc.pid, redis_server.proc.pid, moto.proc.pid, pg.postmaster_pid(),
                pgconn.info.backend_pid]
        everything = os.sched_getaffinity(0)
        if opts.pin:
            pin_threads(pids, {0})
        client = Client(daemon.socket, timeout=60)
        client.call("repos.register", {"path": str(repo), "name": "bench"})
        for name, data in payloads.items():
            r.set(f"k{name}", data)
            s3.put_object(Bucket="bench", Key=f"k{name}", Body=data)
            pgconn.execute("INSERT INTO blobs VALUES (%s, %s)", (f"k{name}", data))
            put: dict[str, Any] = {"repo": "bench", "type": "bench", "model": MODEL, "name": name}
            if name == "1KiB":
                put.update(content=data.decode(), content_type="text/plain")
            else:
                put.update(content_base64=base64.b64encode(data).decode())
            client.call("data.put", put)

        for name in SIZES:
            params = {"repo": "bench", "type": "bench", "model": MODEL, "name": name}
            # The compared calls each follow a call to another server (on a busy machine a process that
            # has just run answers sooner); only the informational as_path row follows swampd itself.
            fns: dict[str, Any] = {
                "redis_py_unix": lambda k=f"k{name}": r.get(k),
                "swampd_inline": lambda p=params: client.call("data.get", p),
                "psycopg_tcp": lambda k=f"k{name}": pgconn.execute(PG_QUERY, (k,), prepare=True).fetchone(),
            }
            if name != "1KiB":
                path_params = {**params, "as_path": True}
                fns["swampd_as_path_and_read"] = \
                    lambda p=path_params: Path(client.call("data.get", p)["path"]).read_bytes()
                fns["swampd_as_path"] = lambda p=path_params: client.call("data.get", p)
            timed_rows = interleaved(fns, n if name != "1MiB" else max(200, n // 5), servers={
                "swampd_inline": daemon.proc.pid, "redis_py_unix": redis_server.proc.pid,
                "psycopg_tcp": pgconn.info.backend_pid})
            order = ["swampd_inline", "swampd_as_path", "swampd_as_path_and_read", "redis_py_unix", "psycopg_tcp"]
            row: dict[str, Any] = {k: timed_rows[k] for k in order if k in timed_rows}
            row["boto3_warm"] = timed(lambda k=f"k{name}": s3.get_object(Bucket="bench", Key=k)["Body"].read(),
                                      max(100, n // 10), warmup=10)
            results[name] = row

        cold = []
        script = COLD_SCRIPT.format(endpoint=moto.endpoint)
        for _ in range(3 if opts.quick else 7):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", script], check=True)
            cold.append(time.perf_counter() - start)
        results["cold_boto3_process_1KiB"] = {"p50_us": round(statistics.median(cold) * 1e6, 1), "n": len(cold)}

        if opts.pin:
            pin_threads(pids, everything)  # throughput runs unpinned: 16 clients need every CPU
        params = {"repo": "bench", "type": "bench", "model": MODEL, "name": "1KiB"}
        floor = _start_floor(daemon.home, client.call("data.get", params))
        servers = {"swampd": (_daemon_worker, (daemon.socket, params), daemon.proc.pid),
                   "redis_py": (_redis_worker, (str(redis_server.sock), "k1KiB"), redis_server.proc.pid),
                   "asyncio_floor": (_daemon_worker, (str(daemon.home / "floor.sock"), params), floor.pid)}
        measured: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
        try:
            for _ in range(2):  # alternated: a change in the machine's load falls on each
                for name, (target, args, pid) in servers.items():
                    measured[name].append(throughput_with_cpu(target, args, 16, seconds, pid))
        finally:
            floor.kill()
            floor.wait()
        tp_result: dict[str, Any] = {}
        for name, runs in measured.items():
            tp_result[f"{name}_ops_s"] = round(statistics.fmean(r["ops_s"] for r in runs), 1)
            for field in ("server_cpu_us_per_op", "client_cpu_us_per_op"):
                tp_result[f"{name}_{field}"] = round(statistics.fmean(r[field] for r in runs), 1)
        tp_result["rounds"] = measured
        results["throughput_16_procs_1KiB"] = tp_result
        results["cache_stats"] = client.call("cache.stats")["overall"]
        client.close()
        pgconn.close()
    finally:
        if daemon is not None:
            daemon.stop()
        for server in (moto, redis_server):
            server.stop()
        pg.destroy()

    small = results["1KiB"]
    hot = small["swampd_inline"]["p50_us"]
    tp = results["throughput_16_procs_1KiB"]
    mid, large = results["64KiB"], results["1MiB"]
    ratios = {
        "hot_1KiB_p50_x_redis": round(hot / small["redis_py_unix"]["p50_us"], 2),
        "hot_64KiB_p50_x_redis": round(min(mid["swampd_inline"]["p50_us"], mid["swampd_as_path_and_read"]["p50_us"])
                                       / mid["redis_py_unix"]["p50_us"], 2),
        "hot_1MiB_read_p50_x_redis": round(large["swampd_as_path_and_read"]["p50_us"]
                                           / large["redis_py_unix"]["p50_us"], 2),
        "hot_1KiB_vs_redis_p50": round(small["redis_py_unix"]["p50_us"] / hot, 3),
        "hot_1KiB_speedup_vs_boto3_warm": round(small["boto3_warm"]["p50_us"] / hot, 1),
        "hot_1KiB_speedup_vs_psycopg_tcp": round(small["psycopg_tcp"]["p50_us"] / hot, 2),
        "hot_1KiB_speedup_vs_cold_process": round(results["cold_boto3_process_1KiB"]["p50_us"] / hot, 1),
        "throughput_16_vs_redis": round(tp["swampd_ops_s"] / tp["redis_py_ops_s"], 3),
        "throughput_16_asyncio_floor_vs_redis": round(tp["asyncio_floor_ops_s"] / tp["redis_py_ops_s"], 3),
        "hot_1MiB_as_path_vs_redis_p50": round(results["1MiB"]["redis_py_unix"]["p50_us"]
                                               / results["1MiB"]["swampd_as_path"]["p50_us"], 3),
    }
    targets = {
        "hot 1KiB p50 <= 1.5x redis-py (issue 16)": ratios["hot_1KiB_p50_x_redis"] <= 1.5,
        "16 procs >= 0.75x redis-py (issue 16)": ratios["throughput_16_vs_redis"] >= 0.75,
        "64KiB p50 <= 2x redis-py, best of inline and path+read (issue 16)": ratios["hot_64KiB_p50_x_redis"] <= 2,
        "1MiB path+read p50 <= 1.5x redis-py (issue 16)": ratios["hot_1MiB_read_p50_x_redis"] <= 1.5,
        "hot 1KiB p50 <= redis-py": ratios["hot_1KiB_vs_redis_p50"] >= 1.0,
        ">= 20x faster than warm boto3": ratios["hot_1KiB_speedup_vs_boto3_warm"] >= 20,
        ">= 500x faster than a cold process": ratios["hot_1KiB_speedup_vs_cold_process"] >= 500,
        "16 procs >= half of redis-py": ratios["throughput_16_vs_redis"] >= 0.5,
    }
    machine = {
        "platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "packages": {p: _version(p) for p in ("anyio", "orjson", "diskcache", "boto3", "moto", "psycopg", "redis")},
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "quick": opts.quick, "pinned": opts.pin,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    out = {"machine": machine, "results": results, "ratios": ratios, "targets_met": targets}
    results_dir = ROOT / "benchmarks" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    stem = "data.pinned" if opts.pin else "data"
    (results_dir / f"{stem}.json").write_text(json.dumps(out, indent=2) + "\n")
    (results_dir / f"{stem}.md").write_text(_markdown(out))
    print(_markdown(out))
    return 0


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


def _markdown(out: dict[str, Any]) -> str:
    m = out["machine"]
    lines = [
        "# data.get benchmark (benchmarks/bench_data.py)", "",
        f"{m['platform']}, Python {m['python']}, {m['cpus']} CPUs, {m['date']}"
        + (" (quick run)" if m["quick"] else ""),
        "packages: " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()),
        f"load average (1, 5, 15 min) before {m.get('load_average_before')}, after {m.get('load_average_after')}", "",
        ("Pinned: latency phases with client, daemon and servers on CPU 0 (the software cost); "
         "throughput unpinned." if m["pinned"] else
         "Unpinned (client and server free to run on any CPU)."),
        "Latencies in microseconds; swampd, redis-py and psycopg interleaved call by call (boto3 after them).", "",
        "The last column: the share of rounds (one in 8, sampled) in which the server had last run on the",
        "client's own CPU (pinned: all of them).", "",
        "| size | path | p50 µs | p95 µs | server on the client's CPU |", "|---|---|---|---|---|",
    ]
    for size in SIZES:
        for name, row in out["results"][size].items():
            same = f"{row['same_cpu_pct']}%" if "same_cpu_pct" in row else "-"
            lines.append(f"| {size} | {name} | {row['p50_us']} | {row['p95_us']} | {same} |")
    cold = out["results"]["cold_boto3_process_1KiB"]["p50_us"]
    tp = out["results"]["throughput_16_procs_1KiB"]
    lines += ["", f"Cold process (import boto3, build a client, one GET): p50 {cold / 1000:.1f} ms", "",
              "16 client processes, 1 KiB, each calling in a loop; CPU per operation from /proc (server) and the",
              "clients' rusage, user + system. `asyncio_floor` is benchmarks/_asyncio_floor.py: asyncio and orjson",
              "answering swampd's own reply, nothing else (the least a Python asyncio daemon pays); swampd's",
              "clients are swampd.client.Client for both.", "",
              "| server | ops/s | server CPU µs/op | client CPU µs/op |", "|---|---|---|---|"]
    for name in ("swampd", "asyncio_floor", "redis_py"):
        if f"{name}_ops_s" in tp:
            lines.append(f"| {name} | {tp[f'{name}_ops_s']:.0f} | {tp.get(f'{name}_server_cpu_us_per_op', '-')} | "
                         f"{tp.get(f'{name}_client_cpu_us_per_op', '-')} |")
    lines += ["", "| ratio | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in out["ratios"].items()]
    lines += ["", "| target | met |", "|---|---|"]
    lines += [f"| {k} | {'yes' if v else 'NO'} |" for k, v in out["targets_met"].items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
