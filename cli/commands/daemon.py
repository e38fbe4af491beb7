"""`swamp daemon start|stop|status|restart|logs|clean|install-service|install-front|uninstall-front`."""

from __future__ import annotations

import os
import sys
import time

from cli import exit_codes

TYPE_CHECKING = False
if TYPE_CHECKING:  # argparse and typing only when the full parser runs (see parse_quick())
    import argparse
    from types import SimpleNamespace
    from typing import Any

    from cli.context import CliContext

NAME = "daemon"
HELP = "start, stop and inspect the swampd daemon"
UNDER_SWAMP = True
"""Also `swamp daemon`: swamp has no command of this name."""

UNIT_TEMPLATE = """[Unit]
Description=swampd, the swamp host daemon
Documentation=swamp daemon --help

[Service]
Type=simple
ExecStart={exec_start}
Environment=PYTHONUNBUFFERED=1
Restart=on-failure
RestartSec=2
TimeoutStopSec={stop_timeout}
KillMode=mixed

[Install]
WantedBy=default.target
"""


def parse_quick(words: list[str]) -> SimpleNamespace | None:
    """`daemon status` without argparse (its common call); None leaves the line to argparse."""
    from types import SimpleNamespace

    return SimpleNamespace(action="status") if words == ["status"] else None


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("start", help="start the daemon if it is not running")
    stop = sub.add_parser("stop", help="drain and stop the daemon")
    stop.add_argument("--timeout", type=float, default=30.0)
    sub.add_parser("status", help="pid, version, uptime, socket, connections")
    sub.add_parser("restart", help="stop, then start")
    logs = sub.add_parser("logs", help="print the daemon log")
    logs.add_argument("-n", "--lines", type=int, default=50)
    logs.add_argument("-f", "--follow", action="store_true")
    sub.add_parser("clean", help="remove a stale socket, pidfile and locks left by a dead daemon")
    service = sub.add_parser("install-service", help="write a systemd user unit for swampd")
    service.add_argument("--dry-run", action="store_true", help="print the unit instead of writing it")
    front = sub.add_parser("install-front", help="put swampd's `swamp` in front of the real swamp on PATH")
    front.add_argument("--bin-dir", help="where to write the `swamp` launcher (default: the first writable "
                                         "PATH directory before the real swamp's)")
    front.add_argument("--dry-run", action="store_true", help="say what would be written")
    unfront = sub.add_parser("uninstall-front", help="remove the launcher install-front wrote")
    unfront.add_argument("--bin-dir", help="where it was written (default: found on PATH)")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    return ACTIONS[args.action](args, ctx)


def _status(args: argparse.Namespace, ctx: CliContext) -> int:
    from cli.front_status import front_facts, human_front
    from swampd.client import DaemonUnavailable

    front = front_facts(ctx.paths)
    try:
        status = ctx.client(autostart=False).call("daemon.status")
    except DaemonUnavailable:
        result = {"running": False, "socket": ctx.paths.socket, "front": front}
        ctx.output(result, lambda r: f"swampd is not running (socket {r['socket']})\n" + human_front(r["front"]))
        return exit_codes.DAEMON_UNAVAILABLE
    status["running"] = True
    status["front"] = {**front, **status.get("front", {})}
    ctx.output(status, lambda s: _human_status(s) + "\n" + human_front(s["front"]))
    return exit_codes.OK


def _human_status(s: dict[str, Any]) -> str:
    return "\n".join([
        f"swampd {s['version']} running (pid {s['pid']}, protocol {s['protocol']})",
        f"  uptime       {_duration(s['uptime'])}",
        f"  socket       {s['socket']}",
        f"  connections  {s['connections']} open, {s['connections_total']} total",
        f"  requests     {s['requests_total']} total, {s['requests_in_flight']} in flight",
        f"  idle exit    {_idle(s['config']['daemon']['idle_timeout'])}"
        + (f" (held by: {', '.join(s['busy'])})" if s["busy"] else ""),
        f"  log          {s['config']['paths']['state_dir']}/swampd.log",
    ])


def _idle(seconds: float) -> str:
    return "never" if not seconds else f"after {_duration(seconds)} idle"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


def _start(args: argparse.Namespace, ctx: CliContext) -> int:
    from swampd.client import _can_connect, start_daemon

    already = _can_connect(ctx.paths.socket)
    if not already:
        start_daemon(ctx.paths)
    hello = ctx.client(autostart=False).call("daemon.hello")
    result = {"started": not already, "pid": hello["pid"], "version": hello["version"], "socket": ctx.paths.socket}
    ctx.output(result, lambda r: f"swampd {'started' if r['started'] else 'already running'} "
                                 f"(pid {r['pid']}) on {r['socket']}")
    return exit_codes.OK


def _stop(args: argparse.Namespace, ctx: CliContext) -> int:
    from swampd.client import stop_daemon

    stopped = stop_daemon(ctx.paths, timeout=args.timeout)
    result = {"stopped": stopped}
    ctx.output(result, lambda r: "swampd stopped" if r["stopped"] else "swampd was not running")
    return exit_codes.OK


def _restart(args: argparse.Namespace, ctx: CliContext) -> int:
    from swampd.client import start_daemon, stop_daemon

    stop_daemon(ctx.paths)
    start_daemon(ctx.paths)
    hello = ctx.client(autostart=False).call("daemon.hello")
    ctx.output({"restarted": True, "pid": hello["pid"]}, lambda r: f"swampd restarted (pid {r['pid']})")
    return exit_codes.OK


def _logs(args: argparse.Namespace, ctx: CliContext) -> int:
    from swampd.config import load_config

    path = load_config().paths.log_file
    try:
        with open(path, errors="replace") as fh:
            lines = fh.readlines()
            sys.stdout.write("".join(lines[-args.lines:]) if args.lines > 0 else "")
            sys.stdout.flush()
            while args.follow:
                line = fh.readline()
                if line:
                    sys.stdout.write(line)
                    sys.stdout.flush()
                else:
                    time.sleep(0.2)
    except FileNotFoundError:
        return ctx.fail(f"no log yet at {path}", kind="not_found")
    return exit_codes.OK


def _clean(args: argparse.Namespace, ctx: CliContext) -> int:
    from swampd.client import lock_held

    paths = ctx.paths
    if lock_held(paths.lockfile):
        return ctx.fail(f"a daemon is running (lock {paths.lockfile} held); stop it first with `swamp daemon stop`",
                        kind="conflict")
    removed = []
    for path in (paths.socket, paths.pidfile, paths.lockfile, os.path.join(paths.runtime_dir, "spawn.lock")):
        try:
            os.unlink(path)
            removed.append(path)
        except FileNotFoundError:
            pass
    ctx.output({"removed": removed}, lambda r: "\n".join(f"removed {p}" for p in r["removed"]) or "nothing to clean")
    return exit_codes.OK


def unit_text(python: str | None = None) -> str:
    exec_start = f"{python or sys.executable} -m swampd"
    return UNIT_TEMPLATE.format(exec_start=exec_start, stop_timeout=40)


def _install_service(args: argparse.Namespace, ctx: CliContext) -> int:
    text = unit_text()
    config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    path = os.path.join(config_home, "systemd", "user", "swampd.service")
    if args.dry_run:
        ctx.output({"path": path, "unit": text, "written": False}, lambda r: f"# {r['path']}\n{r['unit']}")
        return exit_codes.OK
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
        fh.write(text)
    os.replace(tmp, path)
    ctx.output(
        {"path": path, "unit": text, "written": True},
        lambda r: f"wrote {r['path']}\n"
        "enable it with: systemctl --user daemon-reload && systemctl --user enable --now swampd",
    )
    return exit_codes.OK


def _install_front(args: argparse.Namespace, ctx: CliContext) -> int:
    from cli.front_install import InstallError, install

    try:
        result = install(args.bin_dir, dry_run=args.dry_run)
    except InstallError as exc:
        return ctx.fail(str(exc), kind="conflict")

    def human(r: dict[str, Any]) -> str:
        verb = "wrote" if r["written"] else "would write"
        lines = [f"{verb} {r['path']} (real swamp: {r['real_swamp'] or 'not found on PATH'})"]
        if not r["on_path_first"]:
            lines.append(f"put {os.path.dirname(r['path'])} before the real swamp's directory on PATH "
                         "(e.g. in your shell profile) to use it")
        return "\n".join(lines)

    ctx.output({k: v for k, v in result.items() if k != "launcher"}, human)
    return exit_codes.OK


def _uninstall_front(args: argparse.Namespace, ctx: CliContext) -> int:
    from cli.front_install import uninstall

    result = uninstall(args.bin_dir)
    ctx.output(result, lambda r: f"removed {r['removed']}" if r["removed"] else "no installed front found")
    return exit_codes.OK


ACTIONS = {
    "start": _start,
    "stop": _stop,
    "status": _status,
    "restart": _restart,
    "logs": _logs,
    "clean": _clean,
    "install-service": _install_service,
    "install-front": _install_front,
    "uninstall-front": _uninstall_front,
}
