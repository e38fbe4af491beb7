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


def age(seconds: float | None) -> str:
    """An age as kubectl and k9s print one ("45s", "4m5s", "37m", "5h12m", "3d"): coarser as it
    grows, so a list of old things does not change every second."""
    if seconds is None:
        return "-"
    s = int(max(0.0, float(seconds)))
    m, h, d = s // 60, s // 3600, s // 86400
    if s < 120:
        return f"{s}s"
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    if d < 8:
        return f"{d}d{h % 24}h" if h % 24 else f"{d}d"
    if d < 730:
        return f"{d}d"
    return f"{d // 365}y{d % 365}d" if d < 2920 and d % 365 else f"{d // 365}y"


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
    when = epoch(value)
    if when is None:
        return "-" if not isinstance(value, str) or not value else value.replace("T", " ")[:19]
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(when))


def short(text: Any, width: int) -> str:
    s = "-" if text is None else str(text)
    return s if len(s) <= width else s[: max(1, width - 1)] + "…"


def number(value: Any) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "-"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"


def ago(value: Any, now: float) -> str:
    """How long ago an epoch or ISO time was ("3m04s"); "-" when unknown."""
    when = epoch(value)
    return "-" if when is None else duration(max(0.0, now - when))


def until(value: Any, now: float) -> str:
    """"in 3h02m", "now" or "3m04s overdue" for an epoch or ISO time; "-" when unknown."""
    when = epoch(value)
    if when is None:
        return "-"
    if when <= now:
        return "due now" if now - when < 1 else f"{duration(now - when)} overdue"
    return f"in {duration(when - now)}"


def epoch(value: Any) -> float | None:
    """An epoch float from an epoch number or an ISO-8601 string (`Z` allowed)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value:
        from datetime import UTC, datetime

        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    return None


def pairs(value: Any) -> str:
    """A mapping as `k=v, k2=v2` (not a Python dict repr); lists joined by spaces."""
    if isinstance(value, dict):
        return ", ".join(f"{k}={pairs(v) if isinstance(v, dict | list) else v}" for k, v in value.items()) or "-"
    if isinstance(value, list):
        return " ".join(map(str, value)) or "-"
    return "-" if value is None or value == "" else str(value)


JOB_TONES = {"running": "active", "queued": "info", "succeeded": "ok", "failed": "bad", "cancelled": "off",
             "lost": "bad"}
"""Job state -> cell tone (tui.widgets.table.TONES: the theme picks the colour)."""
