"""swampd's own commands (cli/commands/*): argparse, the command table, error reporting.

Both programs use this runner: `swampd` offers every command; `swamp` only those whose module
says `UNDER_SWAMP = True` (names the real swamp does not have), so a swampd command never
shadows one of swamp's.
"""

from __future__ import annotations

import sys
from types import ModuleType

NATIVE_FLAGS = ("--json", "--no-daemon")

USAGE = """usage: {prog} [--json] [--no-daemon] COMMAND ...

{intro}
{rpc}{commands}
Global options: --json (machine-readable output), --no-daemon (run in this process).
Run `{prog} COMMAND --help` for a command's options.
"""

RPC_LINES = """  rpc METHOD [PARAMS_JSON|-]   call a daemon method (result JSON on stdout)
  rpc --list                   list every method
"""


def commands_for(program: str) -> dict[str, ModuleType]:
    from cli.commands import load_commands

    commands = load_commands()
    if program == "swampd":
        return commands
    return {name: mod for name, mod in commands.items() if getattr(mod, "UNDER_SWAMP", False)}


def command_for(program: str, name: str) -> ModuleType | None:
    """The module of command `name`, imported alone: running one command never pays for importing
    the others (each module is named after its command; a test checks)."""
    if not name.isidentifier() or name.startswith("_"):
        return None
    qualified = f"cli.commands.{name}"
    try:
        __import__(qualified)  # the import statement's path (what `python -X importtime` shows)
    except ModuleNotFoundError as exc:
        if exc.name == qualified:
            return None
        raise
    module = sys.modules[qualified]
    if program != "swampd" and not getattr(module, "UNDER_SWAMP", False):
        return None
    return module


def command_lines(program: str) -> str:
    return "".join(f"  {name:<28} {mod.HELP}\n" for name, mod in sorted(commands_for(program).items()))


def run_native(program: str, argv: list[str]) -> int:
    """Run `program COMMAND ...` for one of swampd's own commands (argv without the program)."""
    json_mode = "--json" in argv
    no_daemon = "--no-daemon" in argv
    words = [a for a in argv if a not in NATIVE_FLAGS]
    if words and words[0] == "rpc":
        from cli.rpc import run_rpc

        return run_rpc(words[1:], json_mode=json_mode, no_daemon=no_daemon, prog=program)
    return _run_command(program, words, json_mode=json_mode, no_daemon=no_daemon)


def print_usage(program: str, intro: str) -> None:
    sys.stdout.write(USAGE.format(prog=program, intro=intro, rpc=RPC_LINES, commands=command_lines(program)))


def _run_command(program: str, words: list[str], *, json_mode: bool, no_daemon: bool) -> int:
    from cli import exit_codes

    module = command_for(program, words[0]) if words else None
    if module is None:
        sys.stderr.write(f"{program}: unknown command {words[0] if words else ''!r}; run `{program} --help`\n")
        return exit_codes.USAGE

    from cli.context import CliContext
    from swampd.client import DaemonUnavailable, RpcError

    # A command may read its simplest command lines itself (`swamp top --once`), sparing argparse's
    # imports; anything else it hands back (None) to argparse, which prints help and usage errors.
    quick = getattr(module, "parse_quick", None)
    args = quick(words[1:]) if quick is not None else None
    if args is None:
        import argparse

        parser = argparse.ArgumentParser(prog=f"{program} {module.NAME}", description=module.HELP)
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        parser.add_argument("--no-daemon", action="store_true", help="run the handlers in this process")
        module.configure(parser)
        args = parser.parse_args(words[1:])
    ctx = CliContext(json_mode=json_mode, no_daemon=no_daemon, prog=program)
    try:
        return int(module.run(args, ctx) or 0)
    except RpcError as exc:
        return report_error(exc, json_mode, program)
    except DaemonUnavailable as exc:
        return ctx.fail(str(exc), kind="daemon_unavailable", code=exit_codes.DAEMON_UNAVAILABLE)
    except KeyboardInterrupt:
        return 130
    finally:
        ctx.close()


def report_error(exc: object, json_mode: bool, program: str = "swampd") -> int:
    """Print a JSON-RPC error (JSON on stderr with --json) and return the exit code."""
    from cli import exit_codes
    from swampd.client import dumps

    error = exc.to_error()  # type: ignore[attr-defined]
    if json_mode:
        sys.stderr.write(dumps(error) + "\n")
    else:
        sys.stderr.write(f"{program}: {error['message']} ({error['data']['kind']})\n")
    return exit_codes.LOCK_TIMEOUT if error["data"]["kind"] == "lock_timeout" else exit_codes.RPC_ERROR
