"""Who may connect: connections per peer process and in total, and running out of descriptors.

- A process may hold `max_per_peer` connections; the next is answered `too_large` and closed.
- All connections together may hold `max_total` (by default the fd limit minus a reserve for
  files, the database and worker threads); the next is answered the same way.
- When accept() fails for want of descriptors (EMFILE, ENFILE) the condition is logged once,
  counted while it lasts and logged once more when connections are accepted again.
  `Listener` keeps asyncio from retrying the failing accept() once per backlog slot per turn
  (asyncio logs each failure with a traceback and schedules a retry for every one of them).
"""

from __future__ import annotations

import errno
import logging
import socket
import time
from collections import Counter
from typing import Any

log = logging.getLogger("swampd.connection")

FD_RESERVE_FRACTION = 8
"""One descriptor in eight (at least 32) is kept for what is not a connection."""
OUT_OF_FDS = (errno.EMFILE, errno.ENFILE)
ACCEPT_BACKOFF = 0.5
"""Seconds a `Listener` answers 'nothing to accept' after accept() ran out of descriptors."""


def default_max_total(fd_limit: int) -> int:
    return max(1, fd_limit - max(32, fd_limit // FD_RESERVE_FRACTION))


class Listener(socket.socket):
    """The listening socket. After an accept() that ran out of descriptors it reports an empty
    queue for ACCEPT_BACKOFF seconds, so asyncio backs off once instead of once per backlog slot."""

    on_exhausted: Any = None
    _backoff_until = 0.0

    def accept(self) -> tuple[socket.socket, Any]:
        if time.monotonic() < self._backoff_until:
            raise BlockingIOError(errno.EAGAIN, "backing off: out of file descriptors")
        try:
            return super().accept()
        except OSError as exc:
            if exc.errno in OUT_OF_FDS:
                self._backoff_until = time.monotonic() + ACCEPT_BACKOFF
                if self.on_exhausted is not None:
                    self.on_exhausted(exc.errno)
            raise


class Admission:
    def __init__(self, *, max_per_peer: int, max_total: int, fd_limit: int) -> None:
        self.max_per_peer = max_per_peer
        self.max_total = max_total
        self.fd_limit = fd_limit
        self.per_peer: Counter[int | None] = Counter()
        self.total = 0
        self.refused_total = 0
        self.accept_failures_total = 0
        self._exhausted_since: float | None = None
        self._exhausted_failures = 0

    def admit(self, pid: int | None) -> str | None:
        """None when the connection may stay, else why not (for its refusal)."""
        if self.per_peer[pid] >= self.max_per_peer:
            self.refused_total += 1
            log.warning("refused a connection from pid %s: it holds %d (max_connections_per_peer)", pid,
                        self.per_peer[pid])
            return (f"process {pid} already holds {self.per_peer[pid]} connections, the most one process may "
                    "hold (max_connections_per_peer); reuse or close some")
        if self.total >= self.max_total:
            self.refused_total += 1
            log.warning("refused a connection from pid %s: %d connections open (max_connections)", pid, self.total)
            return f"the daemon holds {self.total} connections, its limit (max_connections); retry later"
        return None

    def opened(self, pid: int | None) -> None:
        self.per_peer[pid] += 1
        self.total += 1
        if self._exhausted_since is not None:
            log.warning("file descriptors available again: %d accept() calls failed over %.1fs",
                        self._exhausted_failures, time.monotonic() - self._exhausted_since)
            self._exhausted_since = None

    def closed(self, pid: int | None) -> None:
        self.total -= 1
        self.per_peer[pid] -= 1
        if self.per_peer[pid] <= 0:
            del self.per_peer[pid]

    def accept_failed(self, code: int) -> None:
        self.accept_failures_total += 1
        if self._exhausted_since is None:
            self._exhausted_since = time.monotonic()
            self._exhausted_failures = 0
            busiest = self.per_peer.most_common(1)
            log.error("out of file descriptors (%s): limit %d, %d connections open%s; new connections wait "
                      "in the listen backlog until some close", errno.errorcode.get(code, code), self.fd_limit,
                      self.total, f", most from pid {busiest[0][0]} ({busiest[0][1]})" if busiest else "")
        self._exhausted_failures += 1

    def stats(self) -> dict[str, Any]:
        return {"connections": self.total, "max_connections": self.max_total,
                "max_connections_per_peer": self.max_per_peer, "refused_total": self.refused_total,
                "accept_failures_total": self.accept_failures_total, "fd_limit": self.fd_limit,
                "out_of_fds": self._exhausted_since is not None}
