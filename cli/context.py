"""What every command gets: a way to call the daemon and a way to print results."""

from __future__ import annotations

import os
import sys

from swampd.client import Client, DaemonUnavailable, RpcError, connect, dumps
from swampd.paths import Paths, resolve_paths

TYPE_CHECKING = False
if TYPE_CHECKING:  # `typing` costs milliseconds to import: the CLI's hot path leaves it to type checkers
    from collections.abc import Callable
    from typing import Any


class CliContext:
    def __init__(self, *, json_mode: bool = False, no_daemon: bool = False, paths: Paths | None = None,
                 prog: str = "swamp") -> None:
        self.prog = prog
        """The program the user ran (`swamp` or `swampd`): the prefix of its messages."""
        self.json = json_mode
        self.no_daemon = no_daemon
        self.paths = paths or resolve_paths()
        self._client: Client | None = None
        self._runner: Any = None

    # -- calling -----------------------------------------------------------------------------

    def client(self, *, autostart: bool | None = None) -> Client:
        """A connected daemon client (starting the daemon unless autostart is off)."""
        if self._client is None:
            self._client = connect(self.paths, autostart=autostart)
        return self._client

    def call(self, method: str, params: Any = None) -> Any:
        """Call through the daemon, or in-process with `--no-daemon` or when no daemon can be had."""
        if not self.no_daemon and self._runner is None:
            try:
                return self.client().call(method, params)
            except DaemonUnavailable as exc:
                sys.stderr.write(f"{self.prog}: {exc}; running in-process\n")
                self.no_daemon = True
        return self._call_in_process(method, params)

    def _call_in_process(self, method: str, params: Any) -> Any:
        if self._runner is None:
            from swampd.inprocess import InProcessRunner

            self._runner = InProcessRunner()
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": 1}
        if params is not None:
            message["params"] = params
        reply = self._runner.handle(message)
        if "error" in reply:
            err = reply["error"]
            raise RpcError(err["code"], err["message"], err.get("data"))
        return reply.get("result")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- printing ----------------------------------------------------------------------------

    def output(self, result: Any, human: Callable[[Any], str] | None = None) -> None:
        """JSON with --json (or when no human form is given), else the human form."""
        if self.json or human is None:
            sys.stdout.write(dumps(result) + "\n")
        else:
            text = human(result)
            if text:
                sys.stdout.write(text if text.endswith("\n") else text + "\n")

    def fail(self, message: str, *, kind: str = "error", code: int = 1) -> int:
        if self.json:
            sys.stderr.write(dumps({"error": message, "code": kind}) + "\n")
        else:
            sys.stderr.write(f"{self.prog}: {message}\n")
        return code


def getenv_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
