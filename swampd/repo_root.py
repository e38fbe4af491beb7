"""Finding the swamp repo a path belongs to (standard library only: the CLI uses it too)."""

from __future__ import annotations

import os

MARKER = ".swamp.yaml"
"""swamp's repo marker, written by `swamp repo init`."""


def find_repo_root(start: str, *, accept_data_dir: bool = False) -> str | None:
    """The nearest dir at or above `start` holding `.swamp.yaml` (None when there is none).

    With `accept_data_dir`, a bare `.swamp/` dir also marks a repo (a datastore with no marker,
    as tests and hand-made trees have).
    """
    current = os.path.realpath(start)
    while True:
        if os.path.isfile(os.path.join(current, MARKER)):
            return current
        if accept_data_dir and os.path.isdir(os.path.join(current, ".swamp")):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent
