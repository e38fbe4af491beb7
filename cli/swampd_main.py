"""`swampd`: the daemon (no command, `--foreground`, `--stdio`), or one of swampd's own commands.

`swampd COMMAND ...` offers every swampd command, including the ones whose names belong to swamp
under `swamp` (`swampd data get ...`, `swampd vault ls`, `swampd run MODEL METHOD`, ...).
"""

from __future__ import annotations

import sys

from cli.native import NATIVE_FLAGS


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except Exception as exc:
        from cli.main import settings_problem

        problem = settings_problem(exc)
        if problem is None:
            raise
        sys.stderr.write(f"swampd: {problem}\n")
        return 2


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    words = [a for a in argv if a not in NATIVE_FLAGS]
    if words and not words[0].startswith("-"):
        from cli.native import run_native

        return run_native("swampd", argv)
    if words and words[0] in ("-h", "--help"):
        from cli.native import command_lines
        from swampd.server.main import build_parser

        sys.stdout.write(build_parser().format_help())
        sys.stdout.write("\ncommands (swampd COMMAND --help for each):\n")
        sys.stdout.write("  rpc METHOD [PARAMS_JSON|-]   call a daemon method (result JSON on stdout)\n")
        sys.stdout.write(command_lines("swampd"))
        return 0
    from swampd.server.main import main as run_daemon

    return run_daemon(argv)


if __name__ == "__main__":
    raise SystemExit(main())
