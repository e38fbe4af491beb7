"""Change signals for an S3 datastore, read from swamp's index.

Every client of `@swamp/s3-datastore` (swamp and swampd) publishes its writes and deletes to the
index, and `commitSeq` (v2) or the monolith's ETag (v1) changes with every publish. A thread polls
those with conditional GETs (a 304 when nothing changed) while the store is in use, and on a
change diffs the entries it holds against the new ones: every path added, changed or removed is
reported, so pointers are re-read and deleted versions leave the hot tier. While the index
answers, the signal is live and pointers need no per-key revalidation in between.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from swampd.storage import s3_index
from swampd.storage.base import StoreDown

log = logging.getLogger(__name__)
MIN_INTERVAL = 0.2
IDLE_AFTER = 300.0
"""Seconds without any read of the store after which polling pauses (and the signal is not live)."""
MAX_PATHS = 1000
"""More changed paths than this in one poll are reported as one `*`."""


class IndexWatcher:
    def __init__(self, store: Any, emit: Callable[[str], None], interval: float,
                 last_used: Callable[[], float]) -> None:
        self.store = store
        self.emit = emit
        self.interval = max(MIN_INTERVAL, interval)
        self.last_used = last_used
        self.live = False
        self._entries: dict[str, s3_index.Entry] | None = None
        self._etags: dict[str, str] = {}
        self._docs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="swampd-s3-index", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)  # a poll in flight ends by its request timeout; the thread is a daemon

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):  # a short-lived (in-process CLI) store never polls
            if time.monotonic() - self.last_used() <= IDLE_AFTER:
                self.poll()
            elif self.live:
                self.live = False  # not polling: pointers go back to per-key revalidation

    def poll(self) -> None:
        try:
            entries = s3_index.snapshot(self.store, self._etags, self._docs)
        except StoreDown:
            self._etags.pop(s3_index.META, None)  # read it all again next time: this read stopped halfway
            self._etags.pop(s3_index.MONOLITH, None)
            if self.live:
                self.live = False
                self.emit("*")
            return
        except Exception:  # a malformed index must not kill the watcher
            log.exception("reading the s3 datastore index failed")
            self._etags.clear()
            self.live = False
            return
        if entries is s3_index.UNCHANGED:
            self.live = True
            return
        assert entries is None or isinstance(entries, dict)
        with self._lock:
            previous, self._entries = self._entries, entries
        self.live = entries is not None
        if entries is None:
            return
        if previous is None:
            self.emit("*")  # the first look (or after no index): anything may have changed
            return
        changed = [rel for rel in entries.keys() | previous.keys()
                   if _fingerprint(entries.get(rel)) != _fingerprint(previous.get(rel))]
        if len(changed) > MAX_PATHS:
            self.emit("*")
            return
        for rel in sorted(changed):
            self.emit(rel)

    def published(self, entries: dict[str, s3_index.Entry]) -> None:
        """This daemon's own publish: known already, so the next poll does not report it."""
        with self._lock:
            if self._entries is not None:
                self._entries.update(entries)


def _fingerprint(entry: s3_index.Entry | None) -> tuple[Any, ...] | None:
    if entry is None:
        return None
    return entry.get("size"), entry.get("sha256"), entry.get("lastModified")
