"""`swamp --help` and `swamp help`: swamp's own help, then one short section for swampd's additions.

The text help is swamp's, printed by swamp straight to the terminal; the section follows in
swamp's (Cliffy's) style, coloured when swamp colours. `swamp help` prints swamp's CLI schema as
JSON for agents: the section becomes one more top-level key, `swampd`, so the output stays JSON.
"""

from __future__ import annotations

import os
import sys

from swampd.front.argv import GLOBAL_FLAGS, GLOBAL_VALUE_OPTIONS

TEXT = "text"
SCHEMA = "schema"


def _only_globals(args: list[str]) -> bool:
    i = 0
    while i < len(args):
        if args[i] in GLOBAL_FLAGS or args[i].startswith("--log-level="):
            i += 1
        elif args[i] in GLOBAL_VALUE_OPTIONS:
            i += 2
        else:
            return False
    return True


def help_kind(argv: list[str], path: list[str]) -> str | None:
    """TEXT for `swamp`, `swamp --help`, `swamp -h`; SCHEMA for `swamp help`; else None."""
    if not argv:
        return TEXT
    if not path:
        rest = [a for a in argv if a not in ("-h", "--help")]
        if len(rest) < len(argv) and "--json" not in rest and _only_globals(rest):
            return TEXT
        return None
    if path == ["help"]:
        rest = list(argv)
        rest.remove("help")
        return SCHEMA if _only_globals(rest) else None
    return None


def additions() -> list[tuple[str, str]]:
    from cli.native import commands_for

    rows = [("rpc", "call a swampd daemon method (JSON on stdout); rpc --list lists them")]
    rows += [(name, mod.HELP) for name, mod in sorted(commands_for("swamp").items())]
    return rows


def _colour(argv: list[str]) -> bool:
    return "--no-color" not in argv and "NO_COLOR" not in os.environ


def section_text(colour: bool) -> str:
    def paint(code: str, text: str, reset: str) -> str:
        return f"\x1b[{code}m{text}\x1b[{reset}m" if colour else text

    rows = additions()
    width = max(len(name) for name, _ in rows) + 2
    lines = [paint("1", "swampd additions:", "22") + " (answered by swampd, not by swamp)", ""]
    dash = paint("31", paint("1", "-", "22"), "39")
    for name, text in rows:
        lines.append(f"  {paint('94', name, '39')}{' ' * (width - len(name))}{dash} {text}")
    lines += ["", "  swampd's own data, vault, config, repo, run, version and ext commands: swampd --help", ""]
    return "\n".join(lines) + "\n"


def run_help(argv: list[str], kind: str) -> int:
    import subprocess

    from cli.passthrough import count, real_swamp

    executable = real_swamp()
    count(b"p")
    if kind == TEXT:
        code = subprocess.call([executable, *argv])
        if code == 0:
            sys.stdout.write(section_text(_colour(argv)))
        return code
    done = subprocess.run([executable, *argv], stdout=subprocess.PIPE)
    out = done.stdout
    if done.returncode == 0:
        import json

        try:
            schema = json.loads(out)
        except ValueError:
            schema = None
        if isinstance(schema, dict):
            schema["swampd"] = {
                "description": "swampd's additions to swamp (answered by swampd, not by swamp); "
                               "`swampd --help` lists swampd's own variants of data, vault, config, repo, "
                               "run, version and ext",
                "commands": [{"name": name, "description": text} for name, text in additions()],
            }
            out = (json.dumps(schema, indent=2, ensure_ascii=False) + "\n").encode()
    sys.stdout.buffer.write(out)
    sys.stdout.flush()
    return done.returncode
