"""The front's daemon side: answers accelerated swamp commands and counts what the front did."""

from __future__ import annotations

from typing import Any

from swampd.front.counters import FrontCounters
from swampd.front.settings import FrontSettings


class FrontService:
    def __init__(self, settings: FrontSettings, *, runtime_dir: str, in_process: bool) -> None:
        self.settings = settings
        self.counters = FrontCounters(runtime_dir)
        self._in_process = in_process

    async def start(self) -> None:
        if not self._in_process:
            self.counters.reset_file()

    def status(self) -> dict[str, Any]:
        return {"accelerate": self.settings.accelerate, "dedupe_runs": self.settings.dedupe_runs,
                **self.counters.snapshot()}
