"""Which swamp commands the front answers through the daemon (the rest go to the real swamp).

Only names here: a route's code is imported when its command runs. `SWAMPD_FRONT=off` (or `0`)
in the environment turns every route off for that call.
"""

from __future__ import annotations

import os
from collections.abc import Callable

ROUTES: dict[tuple[str, ...], str] = {}
"""Command path -> module in cli/ that answers it (`run(argv) -> int | None`, None = pass)."""


def runner_for(path: list[str]) -> Callable[[list[str]], int | None] | None:
    if os.environ.get("SWAMPD_FRONT", "").strip().lower() in ("0", "off", "false", "no"):
        return None
    for length in (3, 2):
        module = ROUTES.get(tuple(path[:length]))
        if module is not None:
            import importlib

            return importlib.import_module(module).run  # type: ignore[no-any-return]
    return None
