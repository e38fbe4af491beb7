"""What swamp's presentation layer prints: colours, errors, sizes, sort order, as bytes.

Copied from swamp's src/presentation (renderers, output/error_output.ts) and @std/fmt/colors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cmp_to_key

from swampd.front import jsjson
from swampd.front.call import Call, Pass


@dataclass
class Answer:
    """What swamp would have written and its exit code."""

    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    exit: int = 0

    def log(self, text: str) -> None:
        """console.log(text) / writeOutput(text): the text and a newline on stdout."""
        self.stdout.append(text + "\n")

    def error(self, text: str) -> None:
        """console.error(text)."""
        self.stderr.append(text + "\n")

    def to_wire(self) -> dict[str, object]:
        return {"exit": self.exit, "stdout": "".join(self.stdout), "stderr": "".join(self.stderr)}


class Colours:
    """@std/fmt/colors: `open + text (inner closes re-opened) + close`, or the text alone when off."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def _run(self, text: str, open_code: int, close_code: int) -> str:
        if not self.enabled:
            return text
        opener, closer = f"\x1b[{open_code}m", f"\x1b[{close_code}m"
        return opener + text.replace(closer, opener) + closer

    def bold(self, text: str) -> str:
        return self._run(text, 1, 22)

    def dim(self, text: str) -> str:
        return self._run(text, 2, 22)

    def red(self, text: str) -> str:
        return self._run(text, 31, 39)

    def yellow(self, text: str) -> str:
        return self._run(text, 33, 39)

    def cyan(self, text: str) -> str:
        return self._run(text, 36, 39)

    def green(self, text: str) -> str:
        return self._run(text, 32, 39)


def user_error(call: Call, message: str, code: str | None = None) -> Answer:
    """A UserError thrown out of the command: main.ts renderError + exit code 1 (75 for lock_timeout)."""
    answer = Answer(exit=75 if code == "lock_timeout" else 1)
    if call.json:
        body: dict[str, object] = {"error": message}
        if code:
            body["code"] = code
        answer.error(jsjson.stringify(body))
    else:
        colours = Colours(call.colour)
        answer.error(f"\n{colours.red(colours.bold('Error:'))} {message}")
    return answer


def to_fixed(value: float, digits: int) -> str:
    """Number.prototype.toFixed (ties go up: toFixed picks the larger n)."""
    quantum = Decimal(1).scaleb(-digits)
    return str(Decimal(value).quantize(quantum, rounding=ROUND_HALF_UP))


def format_size(size: int | None, unknown: str) -> str:
    """The renderers' formatSize: B, KB (one decimal), MB (one decimal)."""
    if size is None:
        return unknown
    if size < 1024:
        return f"{size}B"
    if size < 1024 * 1024:
        return f"{to_fixed(size / 1024, 1)}KB"
    return f"{to_fixed(size / (1024 * 1024), 1)}MB"


PRIMARY_ORDER = " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789abcdefghijklmnopqrstuvwxyz"
"""ICU's root collation of printable ASCII (letters case-blind at this level), as localeCompare sorts."""
_PRIMARY = {c: i for i, c in enumerate(PRIMARY_ORDER)}
SAFE_LOCALES = ("", "C", "POSIX")


def _collation_key(text: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    if not all(32 <= ord(c) < 127 for c in text):
        raise Pass("collation")
    return tuple(_PRIMARY[c.lower()] for c in text), tuple(1 if c.isupper() else 0 for c in text)


def check_locale(call: Call) -> None:
    """localeCompare follows the process locale: only C and English ones are copied here."""
    for name in ("LC_ALL", "LC_COLLATE", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = call.env.get(name, "")
        base = value.split(".", 1)[0].split("@", 1)[0]
        if base not in SAFE_LOCALES and not base.startswith("en"):
            raise Pass("locale")


def locale_sorted(names: list[str]) -> list[str]:
    """`names.sort((a, b) => a.localeCompare(b))` for printable-ASCII names (Pass otherwise)."""
    keys = {n: _collation_key(n) for n in names}

    def compare(a: str, b: str) -> int:
        ka, kb = keys[a], keys[b]
        return (ka > kb) - (ka < kb)

    return sorted(names, key=cmp_to_key(compare))
