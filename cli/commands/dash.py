"""`swamp dash`: the operator console (a Textual app; imported only when it runs)."""

from __future__ import annotations

import argparse

from cli import exit_codes
from cli.context import CliContext

NAME = "dash"
HELP = "the operator console: cache, in-flight calls, jobs, vault, extensions, live"
UNDER_SWAMP = True
"""Also `swamp dash`: swamp has no command of this name."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--read-only", action="store_true",
                        help="turn off evict, prefetch, rotate and cancel (look, don't touch)")
    parser.add_argument("--theme", default=None, metavar="NAME",
                        help="swamp-dark (dark), swamp-light (light) or swamp-high-contrast (high-contrast); "
                             "the choice is kept under [dash] in the host config")
    parser.add_argument("--refresh", type=float, default=None, metavar="SECONDS",
                        help="snapshot poll interval for counters (>= 1; events carry the rest; default 2)")


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    import sys

    if ctx.no_daemon:
        return ctx.fail("the console needs the daemon (drop --no-daemon)", kind="usage", code=exit_codes.USAGE)
    if not sys.stdout.isatty():
        return ctx.fail("the console needs a terminal", kind="usage", code=exit_codes.USAGE)
    from swampd.client import DaemonUnavailable

    try:
        ctx.client()  # starts the daemon when allowed, like every command
    except DaemonUnavailable:
        pass  # autostart is off: the console opens and says "daemon not running — press s to start"
    ctx.close()

    from tui.app import DashApp
    from tui.datasource import LiveSource
    from tui.settings import DashSettings

    settings = DashSettings.load(ctx.paths.config_file)
    refresh = args.refresh if args.refresh is not None else settings.refresh
    if refresh < 1:
        return ctx.fail("--refresh must be at least 1 second", kind="usage", code=exit_codes.USAGE)
    app = DashApp(LiveSource(ctx.paths), read_only=args.read_only, theme=args.theme, refresh=refresh,
                  config_file=ctx.paths.config_file)
    app.run()
    # Textual restores the terminal on any exception and sets return_code 1: say so to the shell.
    return app.return_code or exit_codes.OK
