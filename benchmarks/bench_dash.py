"""`swamp dash` under load: CPU of the console process and key-press-to-screen latency.

Two runs in one go, each against its own throwaway daemon:
  idle  - an empty daemon, no events;
  busy  - 1,000 jobs, 10,000 cached keys and a stream of ~50 events/s (short `true` jobs:
          each makes call.started, job.state x3, call.ended).
The console runs headless (App.run_test, 160x48) in a child process so its CPU is its own:
a passive phase on the Jobs pane (events and polls arrive, nobody types), then timed key
presses (pane switches and a filter keystroke), each measured from the press until Pilot
reports the screen settled, and from the key to the first frame that shows its effect.

    .venv/bin/python benchmarks/bench_dash.py [--seconds 20] [--jobs 1000] [--keys 10000] [--rate 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import ThrowawayDaemon, machine_info, percentiles, process_cpu, write_results

EVENTS_PER_JOB = 5


# -- the console side (child process) ---------------------------------------------------------


async def _measure(seconds: float, rounds: int) -> dict[str, Any]:
    from textual.widgets import TabbedContent

    from swampd.paths import resolve_paths
    from tui.app import DashApp
    from tui.datasource import LiveSource
    from tui.widgets.table import LiveTable

    app = DashApp(LiveSource(resolve_paths()), refresh=1.0)
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(5000):
            await pilot.pause(0.01)
            if app.fetches >= 1 and app.connected:
                break
        for key in ("2", "3", "4"):  # load every list once
            await pilot.press(key)
            for _ in range(5000):
                await pilot.pause(0.01)
                if app.active_pane().NAME in app.loaded:
                    break
        jobs_rows = app.query_one("#jobs-table", LiveTable).row_count
        key_rows = app.query_one("#cache-keys", LiveTable).row_count
        events_before = app.events_applied
        daemon_pid = int(app._status.get("pid") or 0)
        daemon0 = _cpu_seconds(daemon_pid)
        cpu0, wall0 = time.process_time(), time.monotonic()
        await asyncio.sleep(seconds)
        cpu_passive = time.process_time() - cpu0
        wall_passive = time.monotonic() - wall0
        daemon_cpu = _cpu_seconds(daemon_pid) - daemon0
        events = app.events_applied - events_before
        frames = FrameClock(app)
        noop: list[float] = []
        for _ in range(rounds):  # Pilot's own cost: a key nothing is bound to
            t0 = time.perf_counter()
            await pilot.press("z")
            await pilot.pause()
            noop.append(time.perf_counter() - t0)
        switch: list[float] = []
        for i in range(rounds):
            key = "3" if i % 2 else "4"
            t0 = time.perf_counter()
            await pilot.press(key)
            await pilot.pause()
            switch.append(time.perf_counter() - t0)
        tabs = app.query_one(TabbedContent)
        switch_frame: list[float] = []
        for i in range(rounds):
            key, tab = ("3", "tab-inflight") if i % 2 else ("4", "tab-jobs")
            switch_frame.append(await frames.key_to_frame(key, lambda tab=tab: tabs.active == tab))
            await pilot.pause()
        await pilot.press("4")
        await pilot.pause()
        filt: list[float] = []
        filt_frame: list[float] = []
        table = app.query_one("#jobs-table", LiveTable)
        await pilot.press("slash")
        for i in range(rounds):
            t0 = time.perf_counter()
            await pilot.press("t" if i % 2 == 0 else "backspace")
            await pilot.pause()
            filt.append(time.perf_counter() - t0)
        for i in range(rounds):
            key, wanted = ("t", "t") if i % 2 == 0 else ("backspace", "")
            filt_frame.append(await frames.key_to_frame(key, lambda wanted=wanted: table.filter_text == wanted))
            await pilot.pause()
        assert table.row_count >= 0
    return {"cpu_percent_passive": round(100 * cpu_passive / wall_passive, 1), "passive_seconds": round(wall_passive, 1),
            "daemon_cpu_percent_passive": round(100 * daemon_cpu / wall_passive, 1),
            "events_applied": events, "events_per_second_seen": round(events / wall_passive, 1),
            "jobs_rows": jobs_rows, "cache_key_rows_on_page": key_rows,
            "noop_key": percentiles(noop), "pane_switch": percentiles(switch), "filter_keystroke": percentiles(filt),
            "pane_switch_to_frame": percentiles(switch_frame), "filter_keystroke_to_frame": percentiles(filt_frame)}


class FrameClock:
    """When each frame was composed, and whether a condition held in it.

    A key is sent the way Pilot sends it (an `events.Key` to the driver) but not followed by
    Pilot's settling, which waits for the whole process's CPU to go idle (textual/_wait.py, up to
    1 s per wait, three waits per press) and so measures every event and poll the console is busy
    with, not the key. The latency is from sending the key to the first composed frame in which
    the key's effect shows: what the operator sees on a terminal, where each frame is written.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.condition: Callable[[], bool] | None = None
        self.shown_at: float | None = None
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            if renderable is not None and not app._batch_count and self.condition is not None \
                    and self.shown_at is None and self.condition():
                self.shown_at = time.perf_counter()
            original(screen, renderable)

        app._display = display

    async def key_to_frame(self, key: str, shown: Callable[[], bool], timeout: float = 60.0) -> float:
        from textual import events

        self.condition, self.shown_at = shown, None
        t0 = time.perf_counter()
        self.app._driver.send_message(events.Key(key, key if len(key) == 1 else None))
        while self.shown_at is None:
            if time.perf_counter() - t0 > timeout:
                raise RuntimeError(f"key {key!r}: no frame showed its effect within {timeout} s")
            await asyncio.sleep(0.001)
        self.condition = None
        return self.shown_at - t0


def _cpu_seconds(pid: int) -> float:
    """The daemon's CPU seconds while the console watches it (0 without a pid)."""
    return process_cpu(pid) if pid else 0.0


def child_main(seconds: float, rounds: int) -> None:
    result = asyncio.run(_measure(seconds, rounds))
    sys.stdout.write(json.dumps(result) + "\n")


def run_console(daemon: ThrowawayDaemon, seconds: float, rounds: int) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", "--seconds", str(seconds), "--rounds", str(rounds)],
                         env={**daemon.env, "TEXTUAL_ANIMATIONS": "none"}, capture_output=True, text=True,
                         timeout=seconds + 600, cwd=str(Path(__file__).resolve().parent.parent))
    if out.returncode != 0:
        raise RuntimeError(f"console run failed: {out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- the load side --------------------------------------------------------------------------------


def seed(daemon: ThrowawayDaemon, jobs: int, keys: int) -> dict[str, Any]:
    from swampd.client import Client

    repo = daemon.home / "repo"
    (repo / ".swamp").mkdir(parents=True)
    (repo / ".swamp.yaml").write_text("swampVersion: 0.1.0\n")
    with Client(daemon.socket, timeout=120) as c:
        c.call("repos.register", {"path": str(repo), "name": "bench"})
    started = time.monotonic()
    puts = (keys + 2) // 3  # each put caches raw, metadata and the latest pointer

    def writer(offset: int, step: int) -> None:
        with Client(daemon.socket, timeout=120) as c:
            for i in range(offset, puts, step):
                c.call("data.put", {"repo": "bench", "type": "bench/seed",
                                    "model": f"9a7c0e11-2222-4333-8444-{i % 50:012d}", "name": f"item{i}",
                                    "content": "x" * 256})

    threads = [threading.Thread(target=writer, args=(n, 4)) for n in range(4)]
    for t in threads:
        t.start()
    with Client(daemon.socket, timeout=120) as c:
        for _ in range(jobs):
            c.call("jobs.submit", {"kind": "command", "argv": ["true"], "wait": False, "dedupe": False})
    for t in threads:
        t.join()
    with Client(daemon.socket, timeout=120) as c:
        while any(j["state"] in ("queued", "running") for j in c.call("jobs.list", {"limit": jobs})["jobs"]):
            time.sleep(0.2)
        cached = c.call("cache.keys", {"limit": 1})["total"]
        listed = len(c.call("jobs.list", {"limit": 100000})["jobs"])
    return {"jobs": listed, "cache_keys": cached, "seed_seconds": round(time.monotonic() - started, 1)}


class EventStream:
    """Short `true` jobs at rate/EVENTS_PER_JOB per second: ~rate events/s on jobs and calls."""

    def __init__(self, daemon: ThrowawayDaemon, rate: float) -> None:
        self.daemon = daemon
        self.interval = EVENTS_PER_JOB / rate
        self.stop = threading.Event()
        self.submitted = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from swampd.client import Client

        with Client(self.daemon.socket, timeout=60) as c:
            next_at = time.monotonic()
            while not self.stop.is_set():
                c.call("jobs.submit", {"kind": "command", "argv": ["true"], "wait": False, "dedupe": False})
                self.submitted += 1
                next_at += self.interval
                self.stop.wait(max(0.0, next_at - time.monotonic()))

    def __enter__(self) -> EventStream:
        self.started = time.monotonic()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        self.seconds = time.monotonic() - self.started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="passive phase length")
    parser.add_argument("--rounds", type=int, default=40, help="timed key presses per kind")
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--keys", type=int, default=10000)
    parser.add_argument("--rate", type=float, default=50.0, help="events per second in the busy run")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child_main(args.seconds, args.rounds)
        return
    results: dict[str, Any] = {"machine": machine_info(), "params": vars(args) | {"child": None},
                               "load_average_at_start": [round(x, 1) for x in os.getloadavg()]}
    with ThrowawayDaemon() as daemon:
        results["idle"] = run_console(daemon, args.seconds, args.rounds)
    with ThrowawayDaemon({"SWAMPD_JOBS_MAX_CONCURRENT": "16"}) as daemon:
        results["seeded"] = seed(daemon, args.jobs, args.keys)
        with EventStream(daemon, args.rate) as stream:
            results["busy"] = run_console(daemon, args.seconds, args.rounds)
        results["busy"]["stream_events_per_second"] = round(stream.submitted * EVENTS_PER_JOB / stream.seconds, 1)
    write_results("dash", results, markdown(results))


def markdown(r: dict[str, Any]) -> str:
    m, idle, busy, seeded = r["machine"], r["idle"], r["busy"], r["seeded"]

    def row(name: str, key: str, sub: str, target: str = "") -> str:
        return f"| {name} | {idle[key][sub] / 1000:.1f} | {busy[key][sub] / 1000:.1f} | {target} |"

    def net(name: str, key: str) -> str:
        """p50 minus Pilot's own floor (the unbound key) measured in the same run."""
        i = (idle[key]["p50_us"] - idle["noop_key"]["p50_us"]) / 1000
        b = (busy[key]["p50_us"] - busy["noop_key"]["p50_us"]) / 1000
        return f"| {name} | {i:.1f} | {b:.1f} | <= 100 |"

    return "\n".join([
        "# swamp dash under load",
        "",
        f"{m['date']} · Python {m['python']} · {m['cpu']} ({m['cpus']} CPUs, {m['memory_gib']} GiB) · {m['platform']}"
        f" · load average at start {r.get('load_average_at_start', '?')}",
        "",
        f"Busy daemon: {seeded['jobs']} jobs, {seeded['cache_keys']} cached keys (seeded in {seeded['seed_seconds']} s), "
        f"a stream of ~{busy['stream_events_per_second']} events/s (short `true` jobs) during the console's run. "
        "Idle daemon: empty, no stream. The console runs headless (Pilot, 160x48) in its own process, "
        "refresh 1 s, on the Jobs pane during the passive phase.",
        "",
        "| | idle | busy | target |",
        "|---|---|---|---|",
        f"| console CPU, passive ({idle['passive_seconds']} s), % of one core | {idle['cpu_percent_passive']} | "
        f"{busy['cpu_percent_passive']} | <= the daemon's |",
        f"| daemon CPU meanwhile, % of one core | {idle.get('daemon_cpu_percent_passive', '-')} | "
        f"{busy.get('daemon_cpu_percent_passive', '-')} | |",
        f"| events applied by the console per second | {idle['events_per_second_seen']} | "
        f"{busy['events_per_second_seen']} | |",
        f"| rows in the Jobs table | {idle['jobs_rows']} | {busy['jobs_rows']} | |",
        row("unbound key (Pilot's own press+settle cost), p50 ms", "noop_key", "p50_us"),
        row("pane switch (In-flight <-> Jobs), key to settled screen, p50 ms", "pane_switch", "p50_us"),
        net("pane switch p50 minus Pilot's floor, ms", "pane_switch"),
        row("pane switch, p99 ms", "pane_switch", "p99_us"),
        row("filter keystroke on the Jobs table, p50 ms", "filter_keystroke", "p50_us"),
        net("filter keystroke p50 minus Pilot's floor, ms", "filter_keystroke"),
        row("filter keystroke, p99 ms", "filter_keystroke", "p99_us"),
        row("pane switch, key to the first frame showing the pane, p50 ms", "pane_switch_to_frame", "p50_us",
            "<= 100"),
        row("pane switch, key to frame, p99 ms", "pane_switch_to_frame", "p99_us"),
        row("filter keystroke, key to the first frame showing the filtered table, p50 ms",
            "filter_keystroke_to_frame", "p50_us", "<= 100"),
        row("filter keystroke, key to frame, p99 ms", "filter_keystroke_to_frame", "p99_us"),
        "",
        "Latencies are wall time from `pilot.press(key)` until `pilot.pause()` returns (the screen settled), so they "
        "include Pilot's own cost: the unbound-key row is that floor. Pilot settles by waiting until the whole "
        "process's CPU goes idle (up to 1 s per wait, three waits per key), so on a busy daemon these rows time "
        "the event stream the console is applying, not the key. The key-to-frame rows send the same key event "
        "without Pilot's waits and stop at the first composed frame in which its effect shows (the new pane "
        "active; the table filtered): what an operator sees on a terminal.",
        "",
        "Command: `.venv/bin/python benchmarks/bench_dash.py` (defaults: --seconds 20 --rounds 40 --jobs 1000 "
        "--keys 10000 --rate 50).",
        "",
    ])


if __name__ == "__main__":
    main()
