"""The `[front]` config table: what the `swamp` front end may answer through the daemon."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from swampd.config import settings_from_table
from swampd.envvars import ConfigError, parse_flag
from swampd.errors import InvalidInput


def _off(name: str, env: Mapping[str, str]) -> bool:
    try:
        return parse_flag(name, env.get(name)) is False
    except ConfigError as exc:
        raise InvalidInput(str(exc)) from None


def caller_opted_out(name: str, env: Mapping[str, str]) -> bool:
    """A caller's SWAMPD_FRONT / SWAMPD_FRONT_DEDUPE says no; a value that is not a yes/no word
    counts as no too (the real swamp answering is always safe)."""
    try:
        return parse_flag(name, env.get(name)) is False
    except ConfigError:
        return True


@dataclass(frozen=True)
class FrontSettings:
    accelerate: bool = True
    """Answer swamp's accelerated commands through the daemon; false hands every call to swamp."""
    dedupe_runs: bool = True
    """Identical concurrent `swamp model method run` calls execute once; false runs each one."""

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any], env: Mapping[str, str] | None = None) -> FrontSettings:
        env = os.environ if env is None else env
        values = dict(table)
        if _off("SWAMPD_FRONT", env):
            values["accelerate"] = False
        if _off("SWAMPD_FRONT_DEDUPE", env):
            values["dedupe_runs"] = False
        return settings_from_table(cls, values, "front")
