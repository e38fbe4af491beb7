"""Events and `swamp top`: what publishing costs, and how fast `swamp top --once` answers a busy daemon.

1. Publish cost, in process: one `EventBus.publish` with 0, 1 and 10 subscribers (whose
   connections accept the notification and drop it), now and at the revision before (its bus
   imported from git), interleaved; and one calls event (`call.joined`, with the peer's pid and
   command line) as the coalescer emits it with a `--topic calls` follower and a filtered one
   subscribed. This is what the hot path pays per event.
2. `swamp top --once` against a busy daemon, as a whole process (interpreter start, imports,
   connect, `daemon.top`, render): a flight with 20 waiting client processes, 4 running jobs,
   50 more idle connections, and 2 clients (threads of this process) making calls back to back.
   Interleaved in the same run: `swamp rpc daemon.hello` (the CLI's fastest command) and a bare
   `python -c pass` (the interpreter's floor). Target: `swamp top --once` within 200 ms.
3. Context expiry: 100 keys with TTLs spread over 1-3 s, followed with `context.watch`; how long after
   its deadline each key's `context.expired` event was published (its `ts` minus its `expires_at`).
   Target: within a second.

Run: .venv/bin/python benchmarks/bench_events.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
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
BIN = Path(sys.executable).parent
TOP_RUNS = 30
TARGET_MS = 200.0


class NullConnection:
    """A subscriber whose transport takes the notification and drops it (the bus's own cost only)."""

    def __init__(self) -> None:
        from swampd.api._context import Peer

        self.peer = Peer(pid=os.getpid(), uid=os.getuid(), gid=os.getgid())
        self.sent = 0

    def notify(self, method: str, params: dict[str, Any]) -> bool:
        self.sent += 1
        return True

    def on_close(self, callback: Any) -> None:
        pass


BEFORE = "a037f62"
"""The revision before events got timestamps, history, filters and detail: its bus is the yardstick."""
ROUNDS = 30
BATCH = 20_000


def bus_before() -> Any:
    """The event bus as it was at BEFORE, imported from `git show` under another name."""
    import importlib.util

    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{BEFORE}:swampd/server/events.py"],
                            capture_output=True, text=True, check=True).stdout
    folder = Path(tempfile.mkdtemp(prefix="bus-before-"))
    (folder / "bus_before.py").write_text(source)
    sys.path.insert(0, str(folder))
    spec = importlib.util.find_spec("bus_before")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bus_before"] = module
    spec.loader.exec_module(module)
    return module


def per_event_ns(fn: Any) -> float:
    start = time.perf_counter_ns()
    for _ in range(BATCH):
        fn()
    return (time.perf_counter_ns() - start) / BATCH


def publish_costs() -> dict[str, Any]:
    import anyio

    return anyio.run(_publish_costs)  # a Flight holds anyio primitives: it needs a running loop


async def _publish_costs() -> dict[str, Any]:
    """Before and now interleaved, round by round; the median of the per-round ratios."""
    from swampd.api._context import Peer
    from swampd.fanout import Coalescer, Flight
    from swampd.server.events import EventBus

    before = bus_before()
    out: dict[str, Any] = {}
    data = {"type": "job.state", "id": "abc", "state": "running"}
    for subscribers in (0, 1, 10):
        old, new = before.EventBus(), EventBus()
        for _ in range(subscribers):
            old.subscribe(NullConnection(), ["*"])
            new.subscribe(NullConnection(), ["*"])
        olds, news = [], []
        for _ in range(ROUNDS):
            olds.append(per_event_ns(lambda b=old: b.publish("jobs", data)))
            news.append(per_event_ns(lambda b=new: b.publish("jobs", data)))
        out[f"{subscribers}_subscribers"] = {
            "before_ns": round(statistics.median(olds)), "now_ns": round(statistics.median(news)),
            "ratio": round(statistics.median(n / o for n, o in zip(news, olds, strict=True)), 2)}
    bus = EventBus()
    bus.subscribe(NullConnection(), ["calls"])
    bus.subscribe(NullConnection(), ["calls"], where={"type": ["call.joined", "call.left"], "peer.pid": "1"})
    co = Coalescer(bus.publish)
    flight = Flight(key="k" * 64, method="jobs.swamp", model="m", started=time.time(),
                    started_monotonic=time.monotonic())
    peer = Peer(pid=os.getpid(), uid=os.getuid(), gid=os.getgid())
    _ = peer.cmdline  # read once per connection, as in the daemon
    out["calls_event_ns"] = round(statistics.median(
        per_event_ns(lambda: co._emit("call.joined", flight, peer=peer)) for _ in range(ROUNDS)))
    return out


def spawn(cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wall_ms(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {done.stderr.decode(errors='replace')}")
    return elapsed


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered), 1),
            "p90_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))], 1),
            "max_ms": round(ordered[-1], 1), "n": len(ordered)}


def hammer(socket: str, stop: threading.Event, counts: list[int], i: int) -> None:
    from swampd.client import Client

    with Client(socket, timeout=60) as client:
        while not stop.is_set():
            client.call("context.put", {"scope": "bench", "key": f"k{i}", "value": counts[i]})
            client.call("calls.stats")
            counts[i] += 2


def top_latency() -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="sdtop-", dir="/tmp"))
    repo = work / "repo"
    repo.mkdir()
    gate = work / "gate"
    with ThrowawayDaemon({"SWAMPD_SWAMP_EXECUTABLE": str(FAKE_SWAMP), "SWAMPD_JOBS_MAX_CONCURRENT": "8"}) as daemon:
        from swampd.client import Client

        env = daemon.env
        swamp = str(BIN / "swamp")
        params = json.dumps({"model": "m1", "method": "sync", "repo": str(repo), "inputs": {"gate": str(gate)}})
        waiters = [spawn([swamp, "rpc", "jobs.submit", params], env) for _ in range(20)]
        control = Client(daemon.socket, timeout=60)
        for _ in range(3):
            control.call("jobs.submit", {"kind": "command", "argv": ["sleep", "600"], "wait": False,
                                         "cwd": str(work)})
        idle = [Client(daemon.socket, timeout=60) for _ in range(50)]
        deadline = time.monotonic() + 120
        while control.call("calls.stats")["waiters"] < 20:
            if time.monotonic() > deadline:
                raise RuntimeError("the 20 waiters never arrived")
            time.sleep(0.05)
        stop = threading.Event()
        counts = [0, 0]
        hammers = [threading.Thread(target=hammer, args=(daemon.socket, stop, counts, i)) for i in range(2)]
        for t in hammers:
            t.start()
        top, hello, bare = [], [], []
        snap = control.call("daemon.top")
        started = time.perf_counter()
        try:
            for _ in range(TOP_RUNS):
                top.append(wall_ms([swamp, "top", "--once"], env))
                hello.append(wall_ms([swamp, "rpc", "daemon.hello"], env))
                bare.append(wall_ms([sys.executable, "-c", "pass"], env))
        finally:
            seconds = time.perf_counter() - started
            stop.set()
            for t in hammers:
                t.join()
            gate.touch()
            for w in waiters:
                w.wait(timeout=120)
            for c in idle:
                c.close()
            control.call("jobs.cancel", {"all": True})
            control.close()
        return {
            "busy": {"flight_waiters": snap["calls"]["stats"]["waiters"], "running_jobs": len(snap["jobs"]),
                     "connections": snap["daemon"]["connections"],
                     "background_requests_per_s": round(sum(counts) / seconds)},
            "top_once": summary(top), "rpc_hello": summary(hello), "python_pass": summary(bare),
        }


EXPIRING = 100


def expiry_lag() -> dict[str, Any]:
    from swampd.client import Client

    with ThrowawayDaemon() as daemon, Client(daemon.socket, timeout=60) as watcher, \
            Client(daemon.socket, timeout=60) as writer:
        watcher.call("context.watch", {"scope": "bench", "values": False})
        deadlines = {}
        for i in range(EXPIRING):
            put = writer.call("context.put", {"scope": "bench", "key": f"k{i}", "value": i,
                                              "ttl": 1.0 + 2.0 * i / EXPIRING})
            deadlines[put["key"]] = put["expires_at"]
        lags = []
        while len(lags) < EXPIRING:
            event = watcher.next_notification(timeout=60)["params"]
            if event["data"]["type"] == "context.expired":
                lags.append((event["ts"] - deadlines[event["data"]["key"]]) * 1000)
    ordered = sorted(lags)
    return {"keys": EXPIRING, "p50_ms": round(statistics.median(ordered), 1),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
            "max_ms": round(ordered[-1], 1), "min_ms": round(ordered[0], 1)}


def main() -> None:
    load_before = os.getloadavg()[0]
    costs = publish_costs()
    latency = top_latency()
    expiry = expiry_lag()
    data = {"machine": machine_info(), "load_before": load_before, "publish": costs, "top": latency,
            "expiry": expiry}
    data["load_after"] = os.getloadavg()[0]
    top, hello, bare = latency["top_once"], latency["rpc_hello"], latency["python_pass"]
    busy = latency["busy"]
    m = data["machine"]
    rows = "\n".join(f"| {n} | {costs[f'{n}_subscribers']['before_ns']} | {costs[f'{n}_subscribers']['now_ns']} | "
                     f"{costs[f'{n}_subscribers']['ratio']} |" for n in (0, 1, 10))
    met = "met" if top["p50_ms"] <= TARGET_MS else "NOT met"
    md = f"""# Events and `swamp top` benchmark

Machine: {m['cpu']} ({m['cpus']} CPUs), Python {m['python']}, {m['platform']}, {m['date']}; load average
before/after {data['load_before']:.2f}/{data['load_after']:.2f} (a shared machine).

## Publishing (in process; median of {ROUNDS} interleaved rounds of {BATCH:,} events)

The bus now stamps each event (`ts`, `seq`), keeps it in the history and checks filters; before
({BEFORE}) it did none of that. Subscribers' connections take the notification and drop it: this is
the bus's own cost, not the socket write.

| subscribers (`*`) | before (ns/event) | now (ns/event) | now / before |
|---:|---:|---:|---:|
{rows}

A `call.joined` event as the coalescer emits it (with the peer's pid and command line) to a `--topic calls`
follower and a filtered one: {costs['calls_event_ns']} ns.

## `swamp top --once` against a busy daemon

Busy: a flight with {busy['flight_waiters']} waiting client processes, {busy['running_jobs']} running jobs,
{busy['connections']} connections, and 2 clients making {busy['background_requests_per_s']:,} requests/s between them.
{top['n']} runs of each command, interleaved; wall time of the whole process.

| command | p50 (ms) | p90 (ms) | max (ms) |
|---|---:|---:|---:|
| `swamp top --once` | {top['p50_ms']} | {top['p90_ms']} | {top['max_ms']} |
| `swamp rpc daemon.hello` | {hello['p50_ms']} | {hello['p90_ms']} | {hello['max_ms']} |
| `python -c pass` | {bare['p50_ms']} | {bare['p90_ms']} | {bare['max_ms']} |

Target (`swamp top --once` within {TARGET_MS:.0f} ms): {met} (p50 {top['p50_ms']} ms,
{top['p50_ms'] / hello['p50_ms']:.2f}x `swamp rpc daemon.hello`).

## Context expiry

{expiry['keys']} keys with TTLs spread over 1-3 s: each `context.expired` event was published
{expiry['min_ms']} to {expiry['max_ms']} ms after the key's deadline (p50 {expiry['p50_ms']} ms, p99 {expiry['p99_ms']} ms).
Target (within a second): {"met" if expiry['max_ms'] <= 1000 else "NOT met"}. (A key reads as absent from its
deadline on, whether or not it was removed yet.)

Run: `.venv/bin/python benchmarks/bench_events.py`
"""
    write_results("events", data, md)


if __name__ == "__main__":
    main()
