"""`swamp`: the real swamp CLI, answered through swampd where that is exact.

Three rooms (docs/front.md):
- swampd's own commands, under names swamp does not have (`dash`, `daemon`, `rpc`, ...);
- swamp's accelerated commands, answered through the daemon byte for byte as swamp prints them;
- everything else: the real swamp binary, `exec`ed with the same argv, stdio, env and cwd.

The hot path imports no argparse and no command table.
"""

from __future__ import annotations

import sys

SWAMPD_COMMANDS = frozenset({"rpc", "dash", "daemon", "cache", "calls", "jobs", "fleet", "ctx", "events", "top"})
"""swampd's commands under `swamp`: names real swamp does not have. The rest are `swampd CMD`.
Kept in step with the `UNDER_SWAMP = True` modules of cli/commands (a test checks)."""


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except Exception as exc:
        problem = settings_problem(exc)
        if problem is None:
            raise
        sys.stderr.write(f"swamp: {problem}\n")
        return 2


def settings_problem(exc: BaseException) -> str | None:
    """The one line to print for a refused setting (environment, config file) or another error a
    command let through; None for anything else (a bug: its traceback is worth seeing)."""
    from swampd.envvars import ConfigError
    from swampd.errors import SwampdError

    if isinstance(exc, ConfigError):
        return str(exc)
    if isinstance(exc, SwampdError):
        return f"{exc.message} ({exc.kind})"
    return None


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from swampd.front.argv import command_path

    path = command_path(argv)
    if path and path[0] in SWAMPD_COMMANDS:
        from cli.native import run_native

        return run_native("swamp", argv)
    if not argv or path[:1] == ["help"] or "-h" in argv or "--help" in argv:
        from cli.front_help import help_kind, run_help

        kind = help_kind(argv, path)
        if kind is not None:
            return run_help(argv, kind)
    outcome = b"p"
    if len(path) >= 2:  # every accelerated command has a two-word path at least
        from cli.accelerated import runner_for

        runner = runner_for(path)
        if runner is not None:
            code = runner(argv)
            if code is not None:
                return code
            outcome = b"f"
    from cli.passthrough import exec_swamp

    return exec_swamp(argv, outcome)


if __name__ == "__main__":
    raise SystemExit(main())
