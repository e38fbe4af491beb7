"""What `swamp daemon status` says about the front: is it in front of swamp, which swamp, counts."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from swampd.paths import Paths


def first_on_path(name: str = "swamp", path_env: str | None = None) -> str | None:
    search = os.environ.get("PATH", "") if path_env is None else path_env
    for directory in search.split(os.pathsep):
        candidate = os.path.join(directory, name) if directory else ""
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return os.path.abspath(candidate)
    return None


def front_facts(paths: Paths, path_env: str | None = None) -> dict[str, Any]:
    """`in_front`: the first `swamp` on PATH is swampd's front end; `real_swamp`: what it runs."""
    from swampd.swamp_binary import SwampBinaryError, configured_name, find_real_swamp, is_own_front

    first = first_on_path("swamp", path_env)
    facts: dict[str, Any] = {"swamp_on_path": first, "in_front": bool(first and is_own_front(first))}
    try:
        facts["real_swamp"] = find_real_swamp(configured_name(config_file=paths.config_file), path_env)
    except SwampBinaryError as exc:
        facts["real_swamp"] = None
        facts["real_swamp_error"] = exc.message
    return facts


def human_front(front: dict[str, Any]) -> str:
    if front["in_front"]:
        where = f"in front of swamp ({front['swamp_on_path']})"
    elif front["swamp_on_path"]:
        where = f"not in front: `swamp` on PATH is {front['swamp_on_path']} (swamp daemon install-front)"
    else:
        where = "not on PATH (swamp daemon install-front)"
    lines = [f"  front        {where}",
             f"  real swamp   {front['real_swamp'] or front.get('real_swamp_error')}"]
    if "accelerated" in front:
        state = "" if front.get("accelerate", True) else " (acceleration off: [front] accelerate)"
        lines.append(f"  calls        {front['accelerated']} accelerated, {front['passed_through']} passed through "
                     f"({front['fallbacks']} fallbacks) since start{state}")
    return "\n".join(lines)
