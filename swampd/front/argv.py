"""Reading a swamp command line the way swamp's CLI (Cliffy) reads it, without argparse.

Standard library only: the `swamp` front end classifies every call with `command_path`, and
the daemon parses accelerated commands with `parse`. Anything this reader does not know for
certain (an unknown option, a repeated one, a combined short flag) makes `parse` return None,
and the caller hands the command line to the real swamp unchanged.
"""

from __future__ import annotations

GLOBAL_FLAGS = frozenset({"--json", "--log", "-q", "--quiet", "-v", "--verbose", "--no-telemetry",
                          "--show-properties", "--no-color"})
"""swamp's global boolean options (src/cli/mod.ts): valid anywhere on the line."""
GLOBAL_VALUE_OPTIONS = frozenset({"--log-level"})
"""swamp's global options that take a value (`--log-level debug` or `--log-level=debug`)."""
SWAMPD_FLAGS = frozenset({"--no-daemon"})
"""swampd's own global flag: it only means something to swampd's own commands."""


def command_path(argv: list[str]) -> list[str]:
    """The leading words of the command line (global options skipped), up to the first other option.

    `swamp --json data get m n --version 2` -> ["data", "get", "m", "n"].
    """
    words: list[str] = []
    i = 0
    n = len(argv)
    while i < n:
        arg = argv[i]
        if arg in GLOBAL_FLAGS or arg in SWAMPD_FLAGS:
            i += 1
        elif arg in GLOBAL_VALUE_OPTIONS:
            i += 2
        elif arg.startswith("--log-level="):
            i += 1
        elif arg.startswith("-"):
            break
        else:
            words.append(arg)
            i += 1
    return words


class Parsed:
    """An accelerated command's line: its global options, own options and positionals."""

    __slots__ = ("collected", "globals", "options", "positionals")

    def __init__(self) -> None:
        self.globals: dict[str, str | bool] = {}
        self.options: dict[str, str | bool] = {}
        self.collected: dict[str, list[str]] = {}
        self.positionals: list[str] = []

    @property
    def json(self) -> bool:
        return bool(self.globals.get("--json"))


def parse(argv: list[str], path: tuple[str, ...], value_options: frozenset[str] = frozenset(),
          flag_options: frozenset[str] = frozenset(), collect_options: frozenset[str] = frozenset()
          ) -> Parsed | None:
    """Parse `argv` as the command `path` with the given options; None when not certain.

    Options may come before, between or after positionals (Cliffy's rule); `--name=value` and
    `--name value` both work; `--` ends the options. `collect_options` may repeat (their value
    is a list). An option given twice, an unknown option, `-h`/`--help`, or a missing value
    yields None.
    """
    parsed = Parsed()
    expect = list(path)
    i = 0
    n = len(argv)
    only_positionals = False
    while i < n:
        arg = argv[i]
        if only_positionals or not arg.startswith("-") or arg == "-":
            if expect:
                if arg != expect[0]:
                    return None
                expect.pop(0)
            else:
                parsed.positionals.append(arg)
            i += 1
            continue
        if arg == "--":
            if expect:
                return None
            only_positionals = True
            i += 1
            continue
        name, eq, inline = arg.partition("=")
        if name in GLOBAL_FLAGS and not eq:
            key = {"-q": "--quiet", "-v": "--verbose"}.get(name, name)
            if key in parsed.globals:
                return None
            parsed.globals[key] = True
            i += 1
        elif name in GLOBAL_VALUE_OPTIONS or (name in value_options | collect_options and not expect):
            target = parsed.globals if name in GLOBAL_VALUE_OPTIONS else parsed.options
            if name in target and name not in collect_options:
                return None
            if eq:
                value = inline
                i += 1
            elif i + 1 < n:
                value = argv[i + 1]
                i += 2
            else:
                return None
            if name in collect_options:
                parsed.collected.setdefault(name, []).append(value)
                target[name] = True
            else:
                target[name] = value
        elif name in flag_options and not eq and not expect:
            if name in parsed.options:
                return None
            parsed.options[name] = True
            i += 1
        else:
            return None
    if expect:
        return None
    return parsed
