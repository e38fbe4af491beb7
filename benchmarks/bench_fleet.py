"""The fleet: what the shared ssh session buys, and what dispatching to swamp serve costs.

1. Round trip of `daemon.hello` to a fleet host, measured by a client of the local daemon:
   - over the daemon's reused ssh session (`fleet.call`), the way every fleet call goes;
   - with a fresh `ssh HOST swampd --stdio` per call (what a client without swampd's session
     pays: ssh handshake, remote Python start-up, remote connect), same host, same sshd;
   - the local daemon's own `daemon.hello`, for the hop that the first one includes.
   The host is a real OpenSSH server on loopback with a second swampd behind it (tests/fleet/sshd.py),
   so the network part is nearly free: on a real network each fresh call also pays round trips for
   the TCP and SSH handshakes that the reused session does not.
2. A trivial model method run (a command/shell model that echoes two lines) through the daemon:
   - dispatched to a real `swamp serve` (with one real worker connected) as a job with that target;
   - run locally as a job (the daemon runs the real swamp CLI in the same repo);
   - for reference, the real CLI's own `swamp model method run ... --server URL --json`.
   Note: the real swamp here runs from source (~1.3 s per start, swamp-real/README.md), which the
   local run and the CLI reference pay once per run; a compiled release starts in 0.7-0.85 s.

Needs root (the sshd's remote account, made by scripts/setup --test) and the real swamp CLI.
Run: .venv/bin/python benchmarks/bench_fleet.py [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import ThrowawayDaemon, machine_info, write_results
from tests.fleet.serve_world import REAL_SWAMP, ServeWorld
from tests.fleet.sshd import RemoteHome, SshServer

HELLO = b'{"jsonrpc":"2.0","method":"daemon.hello","params":{"client_protocol":1},"id":1}\n'


def ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median_ms": round(statistics.median(ordered) * 1000, 3),
            "p90_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))] * 1000, 3),
            "min_ms": round(ordered[0] * 1000, 3), "n": len(ordered)}


def timed(fn: Any, n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=10, help="runs per dispatch variant")
    parser.add_argument("--hellos", type=int, default=200, help="hellos over the reused session")
    parser.add_argument("--fresh", type=int, default=30, help="fresh ssh calls")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("note: not root: the remote side is this user (tests/fleet/sshd.py)", file=sys.stderr)

    sshd = SshServer().start()
    remote = RemoteHome(sshd.account)
    world = ServeWorld().create().start().enroll_worker()
    config = sshd.client_config()
    command = remote.command()
    daemon = ThrowawayDaemon(extra_env={"SWAMPD_SWAMP_EXECUTABLE": str(REAL_SWAMP), "HOME": str(world.home),
                                        "SWAMP_HOME": str(world.home / ".swamp"), "NO_COLOR": "1"},
                             cwd=str(ROOT))
    (daemon.home / "config.toml").write_text(
        f'[fleet]\nssh_config = "{config}"\nping_interval = 0\n\n'
        f'[fleet.hosts."remote"]\ndestination = "fleet-remote"\ncommand = "{command}"\n\n'
        f'[fleet.serve."swamp"]\nurl = "{world.url}"\n')
    results: dict[str, Any] = {"machine": machine_info(), "load_before": os.getloadavg()}
    try:
        with daemon:
            from swampd.client import Client

            with Client(daemon.socket, timeout=600) as client:
                client.call("fleet.call", {"host": "remote", "method": "daemon.hello"})  # open the session
                for _ in range(20):  # warm up
                    client.call("fleet.call", {"host": "remote", "method": "daemon.hello"})
                reused = timed(lambda: client.call("fleet.call", {"host": "remote", "method": "daemon.hello"}),
                               args.hellos)
                local = timed(lambda: client.call("daemon.hello"), args.hellos)

                def fresh_call() -> None:
                    done = subprocess.run(["ssh", "-F", str(config), "-T", "-o", "BatchMode=yes", "fleet-remote",
                                           command], input=HELLO, capture_output=True, timeout=60)
                    if b'"protocol"' not in done.stdout:
                        raise RuntimeError(f"fresh ssh call failed: {done.stderr[-300:]!r}")

                fresh = timed(fresh_call, args.fresh)
                results["hello"] = {"reused_session": ms(reused), "fresh_ssh_per_call": ms(fresh),
                                    "local_daemon": ms(local)}
                results["hello"]["fresh_over_reused"] = round(
                    statistics.median(fresh) / statistics.median(reused), 1)

                repo = str(world.repo)
                serve_params = {"kind": "swamp", "target": "swamp", "model": "echoer", "method": "execute",
                                "dedupe": False}
                local_params = {"kind": "swamp", "model": "echoer", "method": "execute", "repo": repo,
                                "dedupe": False}
                for params in (serve_params, local_params):  # warm up both paths once
                    assert client.call("jobs.submit", params)["state"] == "succeeded"
                through_serve: list[float] = []
                run_locally: list[float] = []
                for _ in range(args.repeats):  # alternate, so load drifts hit both alike
                    through_serve += timed(lambda: _ok(client.call("jobs.submit", serve_params)), 1)
                    run_locally += timed(lambda: _ok(client.call("jobs.submit", local_params)), 1)
                cli = timed(lambda: world.swamp("model", "method", "run", "echoer", "execute", "--server", world.url),
                            max(3, args.repeats // 2))
                results["dispatch"] = {
                    "through_serve": ms(through_serve), "run_locally": ms(run_locally),
                    "real_cli_with_server_flag": ms(cli),
                    "serve_over_local": round(statistics.median(through_serve) / statistics.median(run_locally), 3),
                }
    finally:
        world.destroy()
        remote.destroy()
        sshd.destroy()
    results["load_after"] = os.getloadavg()
    write_results("fleet", results, markdown(results))


def _ok(record: dict[str, Any]) -> None:
    if record["state"] != "succeeded":
        raise RuntimeError(f"run failed: {record.get('error')}")


def markdown(r: dict[str, Any]) -> str:
    h, d, m = r["hello"], r["dispatch"], r["machine"]
    return f"""# Fleet benchmark

Machine: {m['cpu']} ({m['cpus']} CPUs, {m['memory_gib']} GiB), Python {m['python']}, {m['date']}.
Command: `.venv/bin/python benchmarks/bench_fleet.py` (sshd on loopback; a real swamp serve + worker).
Load average (1/5/15 min) before: {' / '.join(f'{x:.1f}' for x in r['load_before'])}; after:
{' / '.join(f'{x:.1f}' for x in r['load_after'])} (a shared 2-CPU machine: compare the ratios, measured in one run).

## daemon.hello to a fleet host

| path | median | p90 | n |
|---|---|---|---|
| over the daemon's reused ssh session (`fleet.call`) | {h['reused_session']['median_ms']} ms | {h['reused_session']['p90_ms']} ms | {h['reused_session']['n']} |
| fresh `ssh HOST swampd --stdio` per call | {h['fresh_ssh_per_call']['median_ms']} ms | {h['fresh_ssh_per_call']['p90_ms']} ms | {h['fresh_ssh_per_call']['n']} |
| the local daemon's own `daemon.hello` (the hop included above) | {h['local_daemon']['median_ms']} ms | {h['local_daemon']['p90_ms']} ms | {h['local_daemon']['n']} |

A fresh ssh call costs **{h['fresh_over_reused']}x** a call over the reused session (loopback: no
network latency in either; on a real network the fresh call also pays the TCP and SSH handshakes' round trips).

## A trivial model method run

| path | median | p90 | n |
|---|---|---|---|
| job dispatched to swamp serve (swampd speaks serve's WebSocket protocol) | {d['through_serve']['median_ms']} ms | {d['through_serve']['p90_ms']} ms | {d['through_serve']['n']} |
| job run locally (the daemon runs the real swamp CLI) | {d['run_locally']['median_ms']} ms | {d['run_locally']['p90_ms']} ms | {d['run_locally']['n']} |
| reference: `swamp model method run ... --server URL --json` (the real CLI) | {d['real_cli_with_server_flag']['median_ms']} ms | {d['real_cli_with_server_flag']['p90_ms']} ms | {d['real_cli_with_server_flag']['n']} |

Through serve / locally: **{d['serve_over_local']}x**. The dispatch pays a WebSocket connection and
serve's own run bookkeeping; the local run pays a swamp CLI start-up (about 1.3 s on a quiet machine
here, more under load: swamp runs from source, swamp-real/README.md) that serve, already running, does not.
"""


if __name__ == "__main__":
    main()
