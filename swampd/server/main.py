"""`swampd`: run the daemon (in the foreground of this process), or proxy stdio to it."""

from __future__ import annotations

import argparse
import os
import sys

from swampd import __version__
from swampd.protocol import PROTOCOL_VERSION


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="swampd", description="The swamp host daemon.")
    parser.add_argument("--foreground", action="store_true", help="log to stderr as well (debugging)")
    parser.add_argument("--stdio", action="store_true",
                        help="speak the protocol on stdin/stdout for one client (for `ssh HOST swampd --stdio`)")
    parser.add_argument("--ready-fd", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--idle-timeout", type=float, default=None, help="seconds idle before exit; 0 = never")
    parser.add_argument("--version", action="version", version=f"swampd {__version__} (protocol {PROTOCOL_VERSION})")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.stdio:
        from swampd.server.stdio import run_stdio

        return run_stdio()
    from swampd.config import load_config
    from swampd.envvars import ConfigError
    from swampd.errors import SwampdError
    from swampd.server.lifecycle import StartupError, setup_logging

    env = dict(os.environ)
    if args.idle_timeout is not None:
        env["SWAMPD_IDLE_TIMEOUT"] = str(args.idle_timeout)
    try:
        config = load_config(env=env)
        config.check_tables()  # a bad value in any table: refuse to start, naming it
        log_repeats = setup_logging(config, foreground=args.foreground)
        from swampd.server.daemon import run_daemon

        return run_daemon(config, ready_fd=args.ready_fd, log_repeats=log_repeats)
    except (StartupError, SwampdError, ConfigError) as exc:
        print(f"swampd: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
