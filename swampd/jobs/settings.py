"""The `[jobs]` config table."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from swampd.config import settings_from_table
from swampd.envvars import ConfigError, parse_int
from swampd.errors import InvalidInput


@dataclass(frozen=True)
class JobSettings:
    swamp_executable: str = "swamp"
    """The real swamp CLI (a name on PATH or a path). Never this package's own `swamp`."""
    max_concurrent: int = max(2, os.cpu_count() or 2)
    """Host-wide limit of running jobs; the rest wait in `queued`."""
    kill_grace: float = 10.0
    """Seconds between SIGTERM to a job's process group and SIGKILL."""
    retention: int = 1000
    """Terminal job records kept (oldest purged first)."""

    @classmethod
    def from_mapping(
        cls, table: Mapping[str, Any], env: Mapping[str, str] | None = None
    ) -> JobSettings:
        env = os.environ if env is None else env
        values = dict(table)
        if env.get("SWAMPD_SWAMP_EXECUTABLE"):
            values["swamp_executable"] = env["SWAMPD_SWAMP_EXECUTABLE"]
        try:
            max_concurrent = parse_int("SWAMPD_JOBS_MAX_CONCURRENT", env.get("SWAMPD_JOBS_MAX_CONCURRENT"), minimum=1)
        except ConfigError as exc:
            raise InvalidInput(str(exc)) from None
        if max_concurrent is not None:
            values["max_concurrent"] = max_concurrent
        settings = settings_from_table(cls, values, "jobs")
        if settings.max_concurrent < 1 or settings.kill_grace < 0 or settings.retention < 1:
            raise InvalidInput("[jobs] max_concurrent and retention must be >= 1, kill_grace >= 0")
        return settings
