"""The daemon's wire cost: `daemon.hello` round trips and throughput, against the floor and a peer.

In one run:
  - swampd `daemon.hello`, one client: p50/p99; 16 client processes: requests/s;
  - a minimal asyncio NDJSON echo server (the floor for a Python server on this machine);
  - Redis PING and GET of 1 KiB through redis-py over a Unix socket (the peer a user would reach for);
  - `swamp rpc daemon.hello` as a whole process vs `python -I -S -c pass`, and its imports.

Run: .venv/bin/python benchmarks/bench_rpc.py [--pin]   (needs Debian's redis-server; scripts/setup --test
installs it). --pin runs the one-client latency phases with every process on CPU 0 (the software
cost without the VM's cross-CPU wake-ups, see ../shared/reference/performance.md) and writes
rpc.pinned.json|md; throughput always runs unpinned. The one-client phases interleave the five
exchanges call by call (a busy machine weighs on all alike); the load average is recorded.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import ThrowawayDaemon, machine_info, percentiles, write_results

ROUND_TRIPS = 5000
THROUGHPUT_SECONDS = 3.0
CLIENTS = 16
HELLO = b'{"jsonrpc":"2.0","method":"daemon.hello","id":1}\n'


# -- the three servers' one-client latency ----------------------------------------------------------


WARMUP = 200


def interleaved(calls: dict[str, Any]) -> dict[str, list[float]]:
    """Round-trip times of each call, one of each in turn, after a warm-up."""
    for _ in range(WARMUP):
        for call in calls.values():
            call()
    samples: dict[str, list[float]] = {name: [] for name in calls}
    clock = time.perf_counter
    for _ in range(ROUND_TRIPS):
        for name, call in calls.items():
            t = clock()
            call()
            samples[name].append(clock() - t)
    return samples


def raw_exchange(socket_path: str, line: bytes) -> Any:
    import _socket

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    sock.connect(socket_path)

    def exchange() -> None:
        sock.sendall(line)
        data = b""
        while not data.endswith(b"\n"):
            data += sock.recv(65536)

    return exchange


def one_client_latencies(swampd_socket: str, echo_socket: str, redis_socket: str) -> dict[str, dict[str, float]]:
    import redis

    from swampd.client import Client

    r = redis.Redis(unix_socket_path=redis_socket)
    r.set("k1k", b"x" * 1024)
    with Client(swampd_socket) as client:
        # Each call follows a call to another server: on a busy machine a process that has just run
        # answers its next request sooner, which would favour whichever exchange comes second.
        samples = interleaved({
            "swampd_hello_1client": lambda: client.call("daemon.hello"),
            "redis_get_1k_1client": lambda: r.get("k1k"),
            "swampd_hello_raw_1client": raw_exchange(swampd_socket, HELLO),
            "redis_ping_1client": r.ping,
            "echo_floor_1client": raw_exchange(echo_socket, HELLO),
        })
    return {name: percentiles(values) for name, values in samples.items()}


# -- throughput from 16 processes -----------------------------------------------------------------


def _swampd_worker(socket_path: str, seconds: float, out: Any) -> None:
    from swampd.client import Client

    with Client(socket_path) as client:
        n = 0
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            client.call("daemon.hello")
            n += 1
    out.put(n)


def _raw_worker(socket_path: str, seconds: float, out: Any) -> None:
    import _socket

    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    sock.connect(socket_path)
    n = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        sock.sendall(HELLO)
        data = b""
        while not data.endswith(b"\n"):
            data += sock.recv(65536)
        n += 1
    out.put(n)


def _redis_worker(socket_path: str, seconds: float, out: Any) -> None:
    import redis

    r = redis.Redis(unix_socket_path=socket_path)
    n = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        r.get("k1k")
        n += 1
    out.put(n)


def throughput(worker: Any, socket_path: str) -> float:
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(socket_path, THROUGHPUT_SECONDS, out)) for _ in range(CLIENTS)]
    for p in procs:
        p.start()
    total = sum(out.get(timeout=60) for _ in procs)
    for p in procs:
        p.join()
    return round(total / THROUGHPUT_SECONDS)


# -- the floor: a minimal asyncio NDJSON echo server ------------------------------------------------


ECHO_SERVER = """
import asyncio, sys
class Echo(asyncio.Protocol):
    def connection_made(self, t): self.t = t; self.buf = b""
    def data_received(self, d):
        self.buf += d
        *lines, self.buf = self.buf.split(b"\\n")
        for line in lines: self.t.write(line + b"\\n")
async def main():
    server = await asyncio.get_running_loop().create_unix_server(Echo, sys.argv[1])
    print("ready", flush=True)
    await server.serve_forever()
asyncio.run(main())
"""


def start_echo(path: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", ECHO_SERVER, path], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def start_redis(directory: str) -> tuple[subprocess.Popen[bytes], str]:
    server = shutil.which("redis-server")
    if server is None:
        raise SystemExit("redis-server not found: run scripts/setup --test (Debian package redis-server)")
    path = os.path.join(directory, "redis.sock")
    proc = subprocess.Popen([server, "--port", "0", "--unixsocket", path, "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.02)
    return proc, path


# -- the CLI as a whole process ---------------------------------------------------------------------


def process_times(argv: list[str], env: dict[str, str], runs: int = 40) -> dict[str, float]:
    samples = []
    for _ in range(runs + 3):
        t = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        samples.append(time.perf_counter() - t)
    samples = sorted(samples[3:])
    return {"p50_ms": round(samples[len(samples) // 2] * 1e3, 2), "min_ms": round(samples[0] * 1e3, 2)}


def cli_imports(swamp: str, env: dict[str, str]) -> dict[str, Any]:
    result = subprocess.run([sys.executable, "-X", "importtime", swamp, "rpc", "daemon.hello"], env=env,
                            capture_output=True, text=True, check=True)
    modules = []
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            parts = [p.strip() for p in line[len("import time:"):].split("|")]
            if parts[0].isdigit():
                modules.append((parts[2].strip(), int(parts[1])))
    names = [m for m, _ in modules]
    heavy = [m for m in names if m.split(".")[0] in ("textual", "boto3", "botocore", "psycopg", "jsonschema",
                                                     "anyio", "jsonrpcserver", "keyring", "diskcache")]
    return {
        "modules": len(names),
        "total_cumulative_us": sum(us for m, us in modules if "." not in m and not m.startswith(" ")),
        "heavy_modules": heavy,
        "slowest": sorted(modules, key=lambda x: -x[1])[:12],
    }


def pin(pids: list[int], cpus: set[int]) -> None:
    for pid in pids:
        os.sched_setaffinity(pid, cpus)


def main() -> None:
    pinned = "--pin" in sys.argv[1:]
    tmp = tempfile.mkdtemp(prefix="sdbench-", dir="/tmp")
    results: dict[str, Any] = {"machine": machine_info(), "pinned_latency": pinned}
    results["machine"]["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
    echo = start_echo(os.path.join(tmp, "echo.sock"))
    redis_proc, redis_path = start_redis(tmp)
    every_cpu = os.sched_getaffinity(0)
    try:
        with ThrowawayDaemon() as daemon:
            servers = [os.getpid(), echo.pid, redis_proc.pid, daemon.proc.pid]
            if pinned:
                pin(servers, {0})
            results.update(one_client_latencies(daemon.socket, os.path.join(tmp, "echo.sock"), redis_path))
            if pinned:
                pin(servers, every_cpu)  # 16 clients need every CPU
            results["swampd_hello_16proc_rps"] = throughput(_swampd_worker, daemon.socket)
            results["echo_floor_16proc_rps"] = throughput(_raw_worker, os.path.join(tmp, "echo.sock"))
            results["redis_get_1k_16proc_rps"] = throughput(_redis_worker, redis_path)

            swamp = str(Path(sys.executable).parent / "swamp")
            results["cli_swamp_rpc_hello"] = process_times([swamp, "rpc", "daemon.hello"], daemon.env)
            results["cli_python_I_S_pass"] = process_times([sys.executable, "-I", "-S", "-c", "pass"], daemon.env)
            results["cli_imports"] = cli_imports(swamp, daemon.env)
    finally:
        echo.kill()
        redis_proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)

    results["machine"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    r = results
    ratio_latency = r["swampd_hello_1client"]["p50_us"] / r["redis_get_1k_1client"]["p50_us"]
    ratio_cli = r["cli_swamp_rpc_hello"]["p50_ms"] / r["cli_python_I_S_pass"]["p50_ms"]
    r["ratios"] = {
        "hello_p50_vs_redis_get_p50": round(ratio_latency, 2),
        "cli_vs_bare_python": round(ratio_cli, 2),
        "rps_vs_target_15000": round(r["swampd_hello_16proc_rps"] / 15000, 2),
    }
    m = r["machine"]
    md = f"""# RPC benchmark (`benchmarks/bench_rpc.py`)

{m['date']} · Python {m['python']} · {m['cpus']} CPUs ({m['cpu']}) · {m['memory_gib']} GiB ·
one-client latency {'pinned (every process on CPU 0)' if pinned else 'unpinned'}, the five exchanges interleaved call by
call; throughput unpinned · load average (1, 5, 15 min) before {m['load_average_before']}, after {m['load_average_after']}

| one client, round trip | p50 µs | p99 µs |
|---|---|---|
| swampd `daemon.hello` (stdlib client) | {r['swampd_hello_1client']['p50_us']} | {r['swampd_hello_1client']['p99_us']} |
| swampd `daemon.hello` (raw socket, no client parsing) | {r['swampd_hello_raw_1client']['p50_us']} | {r['swampd_hello_raw_1client']['p99_us']} |
| asyncio NDJSON echo (floor) | {r['echo_floor_1client']['p50_us']} | {r['echo_floor_1client']['p99_us']} |
| redis-py PING | {r['redis_ping_1client']['p50_us']} | {r['redis_ping_1client']['p99_us']} |
| redis-py GET 1 KiB | {r['redis_get_1k_1client']['p50_us']} | {r['redis_get_1k_1client']['p99_us']} |

| 16 client processes | requests/s |
|---|---|
| swampd `daemon.hello` | {r['swampd_hello_16proc_rps']} |
| asyncio NDJSON echo (floor) | {r['echo_floor_16proc_rps']} |
| redis-py GET 1 KiB | {r['redis_get_1k_16proc_rps']} |

| whole process | p50 ms | min ms |
|---|---|---|
| `swamp rpc daemon.hello` | {r['cli_swamp_rpc_hello']['p50_ms']} | {r['cli_swamp_rpc_hello']['min_ms']} |
| `python -I -S -c pass` | {r['cli_python_I_S_pass']['p50_ms']} | {r['cli_python_I_S_pass']['min_ms']} |

Ratios: hello p50 / redis GET p50 = **{r['ratios']['hello_p50_vs_redis_get_p50']}** (issue 16: ≤ 1.2; earlier target ≤ 1);
16-process rate / 15,000 = **{r['ratios']['rps_vs_target_15000']}** (target ≥ 1);
CLI / bare python = **{r['ratios']['cli_vs_bare_python']}** (target ≤ 2.5).

`swamp rpc daemon.hello` imports {r['cli_imports']['modules']} modules; heavy ones on its path:
{', '.join(r['cli_imports']['heavy_modules']) or 'none'}.
"""
    write_results("rpc.pinned" if pinned else "rpc", results, md)


if __name__ == "__main__":
    main()
