"""Small, pure formatting helpers for cells (so tables and tests agree on the text)."""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # `typing` costs milliseconds to import: the CLI's hot path leaves it to type checkers
    from typing import Any


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = max(0.0, float(seconds))
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"
    return f"{int(seconds // 86400)}d{int(seconds % 86400 // 3600):02d}h"


def size(n: Any) -> str:
    if not isinstance(n, int | float) or isinstance(n, bool):
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover


def ratio(value: Any) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "-"
    return f"{value * 100:.1f}%"


def stamp(value: Any) -> str:
    """An epoch or ISO time as a short UTC stamp (tests see the same text on any host)."""
    if isinstance(value, str):
        return value.replace("T", " ")[:19]
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(value))


def short(text: Any, width: int) -> str:
    s = "-" if text is None else str(text)
    return s if len(s) <= width else s[: max(1, width - 1)] + "…"


def number(value: Any) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "-"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"
