"""`swamp`: the front end. `swamp rpc` is the scripted hot path and avoids argparse."""

from __future__ import annotations

import sys

GLOBAL_FLAGS = ("--json", "--no-daemon")

USAGE = """usage: swamp [--json] [--no-daemon] COMMAND ...

  rpc METHOD [PARAMS_JSON|-]   call a daemon method (result JSON on stdout)
  rpc --list                   list every method
{commands}
Global options: --json (machine-readable output), --no-daemon (run in this process).
Run `swamp COMMAND --help` for a command's options.
"""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    json_mode = "--json" in argv
    no_daemon = "--no-daemon" in argv
    words = [a for a in argv if a not in GLOBAL_FLAGS]
    if words and words[0] == "rpc":
        from cli.rpc import run_rpc

        return run_rpc(words[1:], json_mode=json_mode, no_daemon=no_daemon)
    return _run_command(words, json_mode=json_mode, no_daemon=no_daemon)


def _run_command(words: list[str], *, json_mode: bool, no_daemon: bool) -> int:
    from cli import exit_codes
    from cli.commands import load_commands

    commands = load_commands()
    if not words or words[0] in ("-h", "--help", "help"):
        lines = "".join(f"  {name:<28} {mod.HELP}\n" for name, mod in sorted(commands.items()))
        sys.stdout.write(USAGE.format(commands=lines))
        return exit_codes.OK if words else exit_codes.USAGE
    if words[0] in ("--version", "version"):
        from swampd import __version__
        from swampd.protocol import PROTOCOL_VERSION

        sys.stdout.write(f"swamp (swampd) {__version__}, protocol {PROTOCOL_VERSION}\n")
        return exit_codes.OK
    module = commands.get(words[0])
    if module is None:
        sys.stderr.write(f"swamp: unknown command {words[0]!r}; run `swamp --help`\n")
        return exit_codes.USAGE

    import argparse

    from cli.context import CliContext
    from swampd.client import DaemonUnavailable, RpcError

    parser = argparse.ArgumentParser(prog=f"swamp {module.NAME}", description=module.HELP)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument("--no-daemon", action="store_true", help="run the handlers in this process")
    module.configure(parser)
    args = parser.parse_args(words[1:])
    ctx = CliContext(json_mode=json_mode, no_daemon=no_daemon)
    try:
        return int(module.run(args, ctx) or 0)
    except RpcError as exc:
        return report_error(exc, json_mode)
    except DaemonUnavailable as exc:
        return ctx.fail(str(exc), kind="daemon_unavailable", code=exit_codes.DAEMON_UNAVAILABLE)
    except KeyboardInterrupt:
        return 130
    finally:
        ctx.close()


def report_error(exc: object, json_mode: bool) -> int:
    """Print a JSON-RPC error (JSON on stderr with --json) and return the exit code."""
    from cli import exit_codes
    from swampd.client import dumps

    error = exc.to_error()  # type: ignore[attr-defined]
    if json_mode:
        sys.stderr.write(dumps(error) + "\n")
    else:
        sys.stderr.write(f"swamp: {error['message']} ({error['data']['kind']})\n")
    return exit_codes.LOCK_TIMEOUT if error["data"]["kind"] == "lock_timeout" else exit_codes.RPC_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
