"""A client connection and the process on its other end: facts below the services, which every layer
may import (the coalescer and the job manager record their waiters' peers, the event bus notifies
connections; the server and the in-process runner make them, handlers see them in their CallContext)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from swampd.rates import RollingCounter


@dataclass
class Peer:
    """The process on the other end of the socket (from SO_PEERCRED), or this process in-process."""

    pid: int | None
    uid: int | None
    gid: int | None
    _cmdline: str | None = field(default=None, repr=False)
    _ppid: int | None = field(default=None, repr=False)
    _parent_cmdline: str | None = field(default=None, repr=False)

    @property
    def cmdline(self) -> str:
        """The peer's command line from /proc (empty when unknown or gone)."""
        if self._cmdline is None:
            self._cmdline = read_cmdline(self.pid)
        return self._cmdline

    @property
    def ppid(self) -> int | None:
        """The peer's parent pid (the agent that ran it), from /proc; None when gone."""
        if self._ppid is None:
            self._ppid = read_ppid(self.pid)
        return self._ppid or None

    def describe(self) -> dict[str, Any]:
        """pid, uid, command line, and the parent process (pid and command line) that ran it."""
        ppid = self.ppid
        if self._parent_cmdline is None:
            self._parent_cmdline = read_cmdline(ppid) if ppid else ""
        return {"pid": self.pid, "uid": self.uid, "cmdline": self.cmdline, "ppid": ppid,
                "parent_cmdline": self._parent_cmdline}


def read_cmdline(pid: int | None) -> str:
    if not pid:
        return ""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            raw = fh.read(4096)
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode("utf-8", "replace").strip()


def read_ppid(pid: int | None) -> int:
    """The parent pid of `pid` from /proc/PID/stat (0 when unknown or gone)."""
    if not pid:
        return 0
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rpartition(b")")[2].split()
    except OSError:
        return 0
    try:
        return int(fields[1])
    except (IndexError, ValueError):
        return 0


class Connection:
    """The daemon side of one client connection, as handlers see it."""

    id: int
    peer: Peer
    read_only: bool = False
    opened_at: float = 0.0
    """time.time() when it connected."""
    requests_total: int = 0
    requests_recent: RollingCounter | None = None
    """Requests per second over the last minute (None where nobody counts: in-process)."""

    def notify(self, method: str, params: dict[str, Any]) -> bool:
        """Queue a notification for this client; False when the client is gone or too slow."""
        raise NotImplementedError

    def on_close(self, callback: Callable[[], None]) -> None:
        """Run `callback` when the connection ends (subscriptions, log follows)."""
        raise NotImplementedError
