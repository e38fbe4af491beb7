"""The front's daemon side: answers accelerated swamp commands and counts what the front did."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

from swampd import workers
from swampd.front.argv import command_path, parse
from swampd.front.call import Call, Pass
from swampd.front.context import FrontContext
from swampd.front.counters import FrontCounters
from swampd.front.definitions import DefinitionIndex
from swampd.front.repo import Markers
from swampd.front.settings import FrontSettings, caller_opted_out
from swampd.front.store import SwampStore
from swampd.front.typefacts import TypeFacts

log = logging.getLogger(__name__)

COMMANDS: dict[tuple[str, ...], str] = {
    ("data", "get"): "swampd.front.data_get",
    ("data", "list"): "swampd.front.data_list",
    ("data", "versions"): "swampd.front.data_versions",
    ("model", "get"): "swampd.front.model_get",
    ("data", "query"): "swampd.front.data_query",
    ("vault", "list-keys"): "swampd.front.vault_list_keys",
    ("vault", "read-secret"): "swampd.front.vault_read_secret",
}
"""Command path -> the module that answers it (PATH, VALUE_OPTIONS, FLAG_OPTIONS, answer)."""


class FrontService:
    def __init__(self, settings: FrontSettings, *, runtime_dir: str, config_file: str, in_process: bool,
                 reveal: Callable[[str, str, str, str], Awaitable[str]] | None = None) -> None:
        self.settings = settings
        self.counters = FrontCounters(runtime_dir)
        self._in_process = in_process
        self.context = FrontContext(definitions=DefinitionIndex(), store=SwampStore(),
                                    types=TypeFacts(config_file), markers=Markers(), reveal=reveal)

    async def start(self) -> None:
        if not self._in_process:
            self.counters.reset_file()

    def status(self) -> dict[str, Any]:
        return {"accelerate": self.settings.accelerate, "dedupe_runs": self.settings.dedupe_runs,
                **self.counters.snapshot()}

    @staticmethod
    def module_for(argv: list[str]) -> ModuleType | None:
        path = command_path(argv)
        for length in (3, 2):
            name = COMMANDS.get(tuple(path[:length]))
            if name is not None:
                return importlib.import_module(name)
        return None

    async def answer(self, argv: list[str], cwd: str, env: dict[str, str], ttys: list[bool]) -> dict[str, Any]:
        """swamp's exact output for this command line, or `{"pass": reason}` for the real swamp."""
        if not self.settings.accelerate:
            return self._pass("off")
        module = self.module_for(argv)
        if module is None:
            return self._pass("not_accelerated")
        parsed = parse(argv, module.PATH, module.VALUE_OPTIONS, module.FLAG_OPTIONS)
        if parsed is None:
            return self._pass("argv")
        try:
            call = Call(parsed, cwd, env, ttys)
            if getattr(module, "ASYNC", False):
                result = await module.answer(call, self.context)
            else:
                result = await workers.run_sync(module.answer, call, self.context)
        except Pass as exc:
            return self._pass(exc.reason)
        except Exception:
            log.exception("front: %s failed; passing to swamp", " ".join(module.PATH))
            return self._pass("internal_error")
        self.counters.answered(" ".join(module.PATH))
        return result.to_wire()  # type: ignore[no-any-return]

    def plan_run(self, argv: list[str], cwd: str, env: dict[str, str], ttys: list[bool],
                 config_file: str) -> dict[str, Any]:
        """The job spec of a coalesced `model method run`, or {"pass": reason}."""
        from swampd.front import method_run

        if not (self.settings.accelerate and self.settings.dedupe_runs) or caller_opted_out(
                "SWAMPD_FRONT_DEDUPE", env):
            return self._pass("off")
        try:
            return {"spec": method_run.plan(argv, cwd, env, ttys, config_file)}
        except Pass as exc:
            return self._pass(exc.reason)

    def passed_back(self, reason: str) -> dict[str, Any]:
        """Count one command handed back to the real swamp, and say so."""
        self.counters.passed_back(reason)
        return {"pass": reason}

    _pass = passed_back
