"""A private tmux server (-L) with one session running a command, read the way a person would."""

from __future__ import annotations

import shlex
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path


class Tmux:
    """`command` runs in session `session` with the SWAMPD_* and PATH of `env`; when it exits the
    shell prints `EXIT=<code> <exit_marker>` and keeps the pane. With `log`, everything the command
    writes is also appended there raw (to check what was drawn, not only the last screen)."""

    def __init__(self, command: list[str], env: dict[str, str], *, session: str, exit_marker: str,
                 width: int, height: int, log: Path | None = None, term: str | None = None) -> None:
        self.server = f"swampd-{session}-{uuid.uuid4().hex[:8]}"
        self.session = session
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items() if k.startswith(("SWAMPD_", "PATH")))
        if term:
            exports += f" TERM={term}"
        line = f"env {exports} {shlex.join(command)}; echo EXIT=$? {exit_marker}; sleep 600"
        self.tmux("new-session", "-d", "-s", session, "-x", str(width), "-y", str(height), line)
        if log is not None:
            self.tmux("pipe-pane", "-o", "-t", session, f"cat >> {shlex.quote(str(log))}")

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.server, *args], check=True, capture_output=True, text=True,
                              timeout=30).stdout

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.session, *keys)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def wait(self, predicate: Callable[[str], bool], what: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.screen()
            if predicate(text):
                return text
            time.sleep(0.1)
        raise AssertionError(f"never saw {what}; the screen was:\n{text}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.server, "kill-server"], capture_output=True, timeout=30)
