"""`swampd version`: swampd's version and protocol (swamp's own `swamp version` is swamp's)."""

from __future__ import annotations

import argparse

from cli.context import CliContext

NAME = "version"
HELP = "swampd's version and protocol"


def configure(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from swampd import __version__
    from swampd.protocol import PROTOCOL_VERSION

    ctx.output({"version": __version__, "protocol": PROTOCOL_VERSION},
               lambda r: f"swampd {r['version']}, protocol {r['protocol']}")
    return 0
