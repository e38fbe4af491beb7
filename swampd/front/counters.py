"""How many `swamp` calls the front answered and how many it handed to the real swamp.

Accelerated calls are counted by the daemon as it answers them. A passed-through call never
talks to the daemon (it `exec`s swamp at once): the front appends one byte to a file in the
runtime dir instead (`p` plain, `f` a fallback from an accelerated command). The daemon
creates that file empty at start, so the counts run from the daemon's start.
"""

from __future__ import annotations

import os

COUNTER_FILE = "front.calls"


class FrontCounters:
    def __init__(self, runtime_dir: str) -> None:
        self.path = os.path.join(runtime_dir, COUNTER_FILE)
        self.accelerated: dict[str, int] = {}
        self.fallbacks: dict[str, int] = {}
        """Accelerated commands the daemon handed back (reason -> count)."""

    def reset_file(self) -> None:
        """Start counting passed-through calls from now (called once by a starting daemon)."""
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        os.close(fd)

    def answered(self, command: str) -> None:
        self.accelerated[command] = self.accelerated.get(command, 0) + 1

    def passed_back(self, reason: str) -> None:
        self.fallbacks[reason] = self.fallbacks.get(reason, 0) + 1

    def snapshot(self) -> dict[str, object]:
        try:
            with open(self.path, "rb") as fh:
                marks = fh.read()
        except OSError:
            marks = b""
        return {
            "accelerated": sum(self.accelerated.values()),
            "passed_through": len(marks),
            "fallbacks": marks.count(b"f"),
            "accelerated_by_command": dict(sorted(self.accelerated.items())),
            "fallback_reasons": dict(sorted(self.fallbacks.items())),
        }
