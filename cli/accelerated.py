"""Which swamp commands the front answers through the daemon (the rest go to the real swamp).

Only names here: a route's code is imported when its command runs. `SWAMPD_FRONT=off` (or `0`)
in the environment turns every route off for that call.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:  # `collections.abc` and `typing` are not free on the hot path
    from collections.abc import Callable

READS = frozenset({("data", "get"), ("data", "list"), ("data", "versions"), ("data", "query"), ("model", "get"),
                   ("vault", "list-keys"), ("vault", "read-secret")})
"""Answered by one `front.answer` call (cli/front_answer.py)."""
METHOD_RUN = ("model", "method", "run")
"""Run through the daemon's coalescer (cli/front_run.py)."""


def runner_for(path: list[str]) -> Callable[[list[str]], int | None] | None:
    """The function answering this command path, or None for the real swamp."""
    from swampd.envvars import parse_flag

    if parse_flag("SWAMPD_FRONT", os.environ.get("SWAMPD_FRONT")) is False:  # a word that is not yes/no: refused
        return None
    if tuple(path[:2]) in READS:
        from cli.front_answer import run

        return run
    if tuple(path[:3]) == METHOD_RUN:
        from cli.front_run import run as run_method

        return run_method
    return None
