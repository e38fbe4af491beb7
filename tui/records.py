"""Tolerant readers of daemon replies: any JSON shape in, the shape the console expects out.

The daemon is another program (maybe older or newer than the console); a `null` where a dict
was expected must never take the console down, so panes read replies only through these.
"""

from __future__ import annotations

from typing import Any


def mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def dicts(value: Any) -> list[dict[str, Any]]:
    """The dicts of a list (anything else in it, `null` included, is left out)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def integer(value: Any, default: int = 0) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def text(value: Any, default: str = "") -> str:
    if value is None or isinstance(value, dict | list):
        return default
    return str(value)
