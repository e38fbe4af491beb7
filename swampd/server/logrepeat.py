"""Repeated log records are rate-limited, and what was held back is counted, never lost silently.

Out of file descriptors, the daemon once wrote ~10,000 tracebacks in a few seconds and the
rotating log threw its whole history away. A record whose (logger, level, message template,
exception type) was already written `burst` times within `window` seconds is held back; the
next record of that kind after the window, or `flush()` (called by the daemon every window),
writes one line saying how many were held back.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

Key = tuple[str, int, str, str]


class RepeatFilter(logging.Filter):
    def __init__(self, *, burst: int = 5, window: float = 10.0, clock: Any = time.monotonic) -> None:
        super().__init__()
        self.burst = burst
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[Key, list[float | int]] = {}
        """key -> [window start, records written in it, records held back in it]."""
        self.suppressed_total = 0

    @staticmethod
    def _key(record: logging.LogRecord) -> Key:
        exc = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        return (record.name, record.levelno, str(record.msg), exc)

    def filter(self, record: logging.LogRecord) -> bool:
        decided = record.__dict__.get("_repeat_decision")
        if decided is not None:  # another handler with this filter saw the record already
            return bool(decided)
        keep = self._decide(record)
        record.__dict__["_repeat_decision"] = keep
        return keep

    def _decide(self, record: logging.LogRecord) -> bool:
        if getattr(record, "repeat_summary", False):
            return True
        key = self._key(record)
        now = self._clock()
        with self._lock:
            entry = self._seen.get(key)
            if entry is None or now - entry[0] >= self.window:
                held = int(entry[2]) if entry is not None else 0
                self._seen[key] = [now, 1, 0]
                if held:
                    record.msg = f"{record.msg} [{held} more like this were not logged in the last " \
                                 f"{self.window:g}s]"
                return True
            if entry[1] < self.burst:
                entry[1] = int(entry[1]) + 1
                return True
            entry[2] = int(entry[2]) + 1
            self.suppressed_total += 1
            return False

    def flush(self) -> None:
        """Write one summary line per kind of record held back in a window that is over."""
        now = self._clock()
        summaries = []
        with self._lock:
            for key, entry in list(self._seen.items()):
                if now - entry[0] < self.window:
                    continue
                if entry[2]:
                    summaries.append((key, int(entry[2])))
                del self._seen[key]
        for (name, level, msg, exc), held in summaries:
            logging.getLogger(name).log(
                level, "%d more records like this were not logged in %gs: %s%s", held, self.window, msg,
                f" ({exc})" if exc else "", extra={"repeat_summary": True})
