"""`swamp top`: flights and their waiters, running jobs, the cache hit rate and the busiest peers.

Plain ANSI for any terminal (ssh included), no Textual: the console (`swamp dash`) is the full view.
Each frame is written in one piece over the previous one (cursor home, every line cleared to its
end, the rest of the screen cleared), on the alternate screen, so it redraws without flicker.
`--once` prints one frame; `--json` one snapshot (`-n N` for N of them, one a line). With stdout
not a terminal, frames follow each other as plain text (like `top -b`).
"""

from __future__ import annotations

import os
import sys
import time

from cli import exit_codes

TYPE_CHECKING = False
if TYPE_CHECKING:  # `swamp top --once` imports neither argparse nor typing (docs/events.md)
    import argparse
    from types import SimpleNamespace
    from typing import Any

    from cli.context import CliContext
    from swampd.client import Client

NAME = "top"
HELP = "a compact live view: flights and waiters, running jobs, cache hit rate, busiest peers"
UNDER_SWAMP = True
"""Also `swamp top`: swamp has no command of this name (src/cli/mod.ts)."""

BOLD, REVERSE, DIM, RESET = "\x1b[1m", "\x1b[7m", "\x1b[2m", "\x1b[0m"
ENTER = "\x1b[?1049h\x1b[?25l"  # alternate screen, cursor hidden
LEAVE = "\x1b[?25h\x1b[?1049l"
HOME, CLEAR_LINE, CLEAR_BELOW = "\x1b[H", "\x1b[K", "\x1b[J"


OPTIONS = {"-n": "iterations", "--iterations": "iterations", "-d": "interval", "--interval": "interval",
           "--peers": "peers"}


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--once", action="store_true", help="print one frame and exit")
    parser.add_argument("-n", "--iterations", type=int, default=None, metavar="N",
                        help="stop after N frames (--json: N snapshots; default 1 with --json)")
    parser.add_argument("-d", "--interval", type=float, default=1.0, metavar="SECONDS",
                        help="seconds between refreshes (default 1)")
    parser.add_argument("--peers", type=int, default=10, metavar="N", help="how many peers to show (default 10)")


def parse_quick(words: list[str]) -> SimpleNamespace | None:
    """The options above without argparse (what `configure` gives, for the same words); None for
    anything else (help, a bad value, an unknown word), which the runner then leaves to argparse."""
    from types import SimpleNamespace

    values: dict[str, Any] = {"once": False, "iterations": None, "interval": 1.0, "peers": 10}
    convert = {"iterations": int, "interval": float, "peers": int}
    rest = list(words)
    while rest:
        word = rest.pop(0)
        if word == "--once":
            values["once"] = True
            continue
        name, sep, value = word.partition("=") if word.startswith("--") else (word, "", "")
        if name not in OPTIONS or (not sep and not rest):
            return None
        if not sep:
            value = rest.pop(0)
        try:
            values[OPTIONS[name]] = convert[OPTIONS[name]](value)
        except ValueError:
            return None
    return SimpleNamespace(**values)


# -- rendering (pure: a snapshot and a size in, lines out) ------------------------------------------


def _duration(seconds: Any) -> str:
    from tui.format import duration

    return duration(seconds)


def _number(value: Any) -> str:
    from tui.format import number

    return number(value)


class Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, code: str, text: str) -> str:
        return f"{code}{text}{RESET}" if self.color and text else text


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def _table(title: str, header: str, rows: list[str], budget: int, width: int, style: Style,
           empty: str) -> list[str]:
    """A section: its title, and within `budget` lines its header and as many rows as fit."""
    lines = [style(BOLD, _fit(title, width))]
    if not rows:
        return [*lines, style(DIM, _fit(f"  {empty}", width))]
    room = max(1, budget - 2)
    shown = rows if len(rows) <= room else rows[: max(0, room - 1)]
    lines.append(style(REVERSE, _fit(header, width).ljust(width)))
    lines += [_fit(r, width) for r in shown]
    if len(shown) < len(rows):
        lines.append(style(DIM, _fit(f"  … {len(rows) - len(shown)} more", width)))
    return lines


def short_command(cmdline: str) -> str:
    """A command line without its interpreter and directories: `swamp rpc jobs.submit {...}`."""
    words = cmdline.split(" ")
    if len(words) > 1 and os.path.basename(words[0]).startswith(("python", "deno", "node")):
        words = words[1:]
        while len(words) > 1 and words[0].startswith("-"):  # python -m x, -X importtime x, ...
            words = words[2:] if words[0] in ("-X", "-W") and len(words) > 2 else words[1:]
    if words:
        words[0] = os.path.basename(words[0])
    return " ".join(words)


def _flight_rows(flights: list[dict[str, Any]]) -> list[str]:
    rows = []
    for f in flights:
        peers = [p for p in f.get("peers") or [] if p]
        if peers:
            who = " ".join(str(p["pid"]) for p in peers) + f"  ({short_command(peers[0].get('cmdline') or '')})"
        else:
            who = "(held by the daemon)" if f.get("held") else "-"
        rows.append(f"{f['key'][:12]:<12}  {f['method'][:18]:<18}  {(f.get('model') or '-')[:14]:<14}  "
                    f"{_duration(f['age']):>7}  {f['waiters']:>7}  {who}")
    return rows


def _job_rows(jobs: list[dict[str, Any]]) -> list[str]:
    return [f"{j['id'][:12]:<12}  {j['kind'] or '-':<7}  {j['state'] or '-':<8}  {_duration(j['age']):>7}  "
            f"{j.get('waiters') or 0:>7}  {j.get('what') or '-'}" for j in jobs]


def _peer_rows(peers: list[dict[str, Any]]) -> list[str]:
    return [f"{p['pid']:>7}  {_number(p['requests_recent']):>8}  {_number(p['requests_total']):>9}  "
            f"{p['in_flight']:>8}  {p['waiting']:>7}  {p['connections']:>5}  {short_command(p.get('cmdline') or '-')}"
            for p in peers]


def render(snap: dict[str, Any], width: int = 100, height: int = 40, *, color: bool = False) -> list[str]:
    """The frame for one snapshot: at most `height` lines, none wider than `width` characters."""
    style = Style(color)
    d = snap["daemon"]
    calls = snap["calls"]
    stats = calls["stats"]
    jobs = snap["jobs"]
    cache = snap.get("cache")
    running = sum(1 for j in jobs if j["state"] == "running")
    per = "/min" if snap.get("window", 60) == 60 else f"/{_duration(snap.get('window'))}"
    if cache and cache.get("reads"):
        hit = f"cache hit {cache['hit_ratio'] * 100:.1f}% of {_number(cache['reads'])} reads{per}"
    else:
        hit = f"cache hit -% (0 reads{per})"
    head = [
        style(BOLD, _fit(f"swampd {d['version']}  pid {d['pid']}  up {_duration(d['uptime'])}  "
                         f"{time.strftime('%H:%M:%S', time.localtime(snap['time']))}"
                         + ("  DRAINING" if d.get("draining") else ""), width)),
        _fit(f"connections {d['connections']}  requests {_number(d['requests_recent'])}{per}  "
             f"in flight {d['requests_in_flight']}  {hit}", width),
        _fit(f"flights {stats['flights']}  waiters {stats['waiters']}  executions saved "
             f"{_number(stats['executions_saved'])}  ·  jobs {running} running, {len(jobs) - running} queued", width),
    ]
    flights = _flight_rows(calls["flights"])
    job_rows = _job_rows(jobs)
    peer_rows = _peer_rows(snap["peers"])
    # Three sections share what the header leaves: each gets at least its title and one line,
    # then rows go to whichever needs them, flights first.
    room = max(0, height - len(head) - 3)  # a blank line before each section
    budgets = [2, 2, 2]
    wants = [len(r) + 2 if r else 2 for r in (flights, job_rows, peer_rows)]  # title, header, rows
    spare = room - sum(budgets)
    for i in range(3):
        extra = max(0, min(spare, wants[i] - budgets[i]))
        budgets[i] += extra
        spare -= extra
    peer_title = f"PEERS  busiest {len(snap['peers'])} of {snap.get('peers_total', len(snap['peers']))} " \
                 f"by requests{per}"
    body = [
        "",
        *_table(f"FLIGHTS  {stats['flights']}", f"{'KEY':<12}  {'METHOD':<18}  {'MODEL':<14}  {'AGE':>7}  "
                f"{'WAITERS':>7}  PEERS (pids, command)", flights, budgets[0], width, style, "no calls in flight"),
        "",
        *_table(f"JOBS  {running} running, {len(jobs) - running} queued",
                f"{'ID':<12}  {'KIND':<7}  {'STATE':<8}  {'AGE':>7}  {'WAITERS':>7}  WHAT",
                job_rows, budgets[1], width, style, "no jobs running or queued"),
        "",
        *_table(peer_title, f"{'PID':>7}  {'REQ' + per.upper():>8}  {'REQUESTS':>9}  "
                f"{'INFLIGHT':>8}  {'WAITING':>7}  {'CONNS':>5}  COMMAND", peer_rows, budgets[2], width, style,
                "no other clients connected"),
    ]
    return (head + body)[:height]


def frame(lines: list[str]) -> str:
    """The bytes that paint `lines` over the previous frame without clearing the screen first."""
    return HOME + "".join(line + CLEAR_LINE + "\r\n" for line in lines[:-1]) + (lines[-1] if lines else "") + \
        CLEAR_LINE + CLEAR_BELOW


# -- running --------------------------------------------------------------------------------------


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    if ctx.no_daemon:
        return ctx.fail("top watches the daemon (drop --no-daemon)", kind="invalid_params", code=exit_codes.USAGE)
    if args.interval <= 0 or (args.iterations is not None and args.iterations < 1) or args.peers < 0:
        return ctx.fail("--interval must be > 0, -n at least 1 and --peers at least 0", kind="invalid_params",
                        code=exit_codes.USAGE)
    iterations = 1 if args.once else args.iterations
    params = {"peers": args.peers}
    if ctx.json:
        return _json_lines(ctx, params, iterations or 1, args.interval)
    if iterations == 1 or not sys.stdout.isatty():
        return _plain(ctx, params, iterations, args.interval)
    return _live(ctx, params, iterations, args.interval)


def _json_lines(ctx: CliContext, params: dict[str, Any], iterations: int, interval: float) -> int:
    from swampd.client import dumps

    for i in range(iterations):
        if i:
            time.sleep(interval)
        sys.stdout.write(dumps(ctx.call("daemon.top", params)) + "\n")
        sys.stdout.flush()
    return exit_codes.OK


def _size() -> tuple[int, int]:
    try:
        size = os.get_terminal_size(sys.stdout.fileno())
        return size.columns, size.lines
    except OSError:
        return 100, 1000


def _plain(ctx: CliContext, params: dict[str, Any], iterations: int | None, interval: float) -> int:
    """One frame (or batch mode into a pipe): plain lines, colour only on a terminal."""
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    count = 0
    try:
        while True:
            width, height = _size() if sys.stdout.isatty() else (200, 1000)
            lines = render(ctx.call("daemon.top", params), width, height if iterations == 1 else 1000, color=color)
            sys.stdout.write(("\n" if count else "") + "\n".join(lines) + "\n")
            sys.stdout.flush()
            count += 1
            if iterations is not None and count >= iterations:
                return exit_codes.OK
            time.sleep(interval)
    except KeyboardInterrupt:
        return exit_codes.OK
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return exit_codes.OK


def _live(ctx: CliContext, params: dict[str, Any], iterations: int | None, interval: float) -> int:
    """Refresh in place until q, Ctrl-C or -n frames; keys: q quit, space/r refresh now."""
    import select
    import signal
    import termios
    import tty

    from swampd.client import DaemonUnavailable, RpcError, connect

    stdin = sys.stdin.fileno() if sys.stdin.isatty() else None
    saved = termios.tcgetattr(stdin) if stdin is not None else None
    color = not os.environ.get("NO_COLOR")
    out = sys.stdout
    wake_r, wake_w = os.pipe()  # SIGWINCH writes here: the wait ends and the frame is redrawn at the new size
    os.set_blocking(wake_w, False)
    previous = signal.signal(signal.SIGWINCH, lambda *_: os.write(wake_w, b"w"))
    watched = [wake_r] if stdin is None else [wake_r, stdin]
    client: Client | None = ctx.client()
    count = 0
    try:
        if stdin is not None:
            tty.setcbreak(stdin)
        out.write(ENTER)
        while True:
            width, height = _size()
            try:
                if client is None:
                    client = connect(ctx.paths, autostart=False)
                lines = render(client.call("daemon.top", params), width, height, color=color)
            except (DaemonUnavailable, OSError, RpcError) as exc:
                client = None
                lines = [_fit(f"swampd is not answering: {exc}", width), "", "retrying; q to quit"]
            out.write(frame(lines))
            out.flush()
            count += 1
            if iterations is not None and count >= iterations:
                return exit_codes.OK
            deadline = time.monotonic() + interval
            while (left := deadline - time.monotonic()) > 0:
                ready, _, _ = select.select(watched, [], [], left)
                if wake_r in ready:
                    os.read(wake_r, 64)
                    break
                if ready:
                    key = os.read(stdin, 32)  # type: ignore[arg-type]
                    if key[:1] in (b"q", b"Q", b"\x1b"):
                        return exit_codes.OK
                    if key[:1] in (b" ", b"r"):
                        break
    except KeyboardInterrupt:
        return exit_codes.OK
    finally:
        signal.signal(signal.SIGWINCH, previous)
        os.close(wake_r)
        os.close(wake_w)
        out.write(LEAVE)
        out.flush()
        if stdin is not None and saved is not None:
            termios.tcsetattr(stdin, termios.TCSADRAIN, saved)
