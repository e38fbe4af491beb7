"""swamp's vault audit trail: append-only JSONL, one file per UTC date.

    <dir>/vault-audit-YYYY-MM-DD.jsonl   (legacy vault-reads-YYYY-MM-DD.jsonl is read too)
    {"action":"put","timestamp":"2026-11-25T01:02:03.456Z","vaultName":"prod",
     "vaultType":"local_encryption","secretKey":"API_KEY","callerContext":"swampd:vault.put"}

Repo vaults write to `<repo>/.swamp/audit/`, the host vault to `<state_dir>/audit/`.
Values are never logged. A failing audit write is logged and never fails the operation.
Blocking (file IO): call through a worker thread.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from swampd.errors import InvalidParams

log = logging.getLogger(__name__)

ACTIONS = ("get", "put", "delete", "annotate")
_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def iso_now(now: datetime | None = None) -> str:
    """`Date.prototype.toISOString()`: UTC, milliseconds, `Z`."""
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def parse_time(value: str | float | int | None, *, now: datetime, param: str) -> datetime | None:
    """An ISO timestamp, epoch seconds, or a duration back from now (`7d`, `12h`, `30m`)."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        m = _DURATION.match(value.strip())
        if m:
            return now - timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise InvalidParams(f"{param} must be an ISO time, epoch seconds or a duration like 7d")


@dataclass(frozen=True)
class AuditEntry:
    action: str
    timestamp: str
    vaultName: str
    vaultType: str
    secretKey: str
    callerContext: str

    def to_json(self) -> str:
        return json.dumps(
            {
                "action": self.action,
                "timestamp": self.timestamp,
                "vaultName": self.vaultName,
                "vaultType": self.vaultType,
                "secretKey": self.secretKey,
                "callerContext": self.callerContext,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )


class AuditTrail:
    """One audit directory (a repo's `.swamp/audit` or the host's); thread-safe.

    The day's file stays open (O_APPEND, so lines from swamp processes interleave whole)
    and is reopened when the date changes or the file was removed.
    """

    def __init__(self, directory: str, *, private: bool = False) -> None:
        self.directory = directory
        self._private = private
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._fd_path: str | None = None

    def _open(self, path: str) -> int:
        if self._fd is not None and self._fd_path == path:
            try:
                if os.fstat(self._fd).st_nlink > 0:
                    return self._fd
            except OSError:
                pass
        self._close()
        os.makedirs(self.directory, mode=0o700 if self._private else 0o777, exist_ok=True)
        mode = 0o600 if self._private else 0o666
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, mode)
        self._fd_path = path
        return self._fd

    def _close(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
        self._fd = None
        self._fd_path = None

    def close(self) -> None:
        with self._lock:
            self._close()

    def append(self, entry: AuditEntry) -> bool:
        """Append one line; False (and a log line without values) when it cannot be written."""
        path = os.path.join(self.directory, f"vault-audit-{entry.timestamp.split('T')[0]}.jsonl")
        line = (entry.to_json() + "\n").encode("utf-8")
        with self._lock:
            try:
                os.write(self._open(path), line)
            except OSError as exc:
                self._close()
                log.warning("vault audit: cannot append to %s (%s)", path, type(exc).__name__)
                return False
        return True

    def read(
        self,
        start: datetime,
        end: datetime,
        *,
        vault: str | None = None,
        key: str | None = None,
        action: str | None = None,
    ) -> list[dict[str, Any]]:
        """Entries in [start, end] matching the filters, oldest first."""
        out: list[dict[str, Any]] = []
        day = start.astimezone(UTC).date()
        last = end.astimezone(UTC).date()
        while day <= last:
            for prefix in ("vault-audit-", "vault-reads-"):
                out.extend(self._read_file(os.path.join(self.directory, f"{prefix}{day.isoformat()}.jsonl")))
            day += timedelta(days=1)
        selected = []
        for e in out:
            try:
                ts = datetime.fromisoformat(str(e["timestamp"]).replace("Z", "+00:00"))
            except (KeyError, ValueError):
                continue
            if ts < start or ts > end:
                continue
            if (vault and e.get("vaultName") != vault) or (key and e.get("secretKey") != key):
                continue
            if action and e.get("action", "get") != action:
                continue
            selected.append({"action": "get", **e})
        selected.sort(key=lambda e: str(e["timestamp"]))
        return selected

    @staticmethod
    def _read_file(path: str) -> list[dict[str, Any]]:
        try:
            with open(path, encoding="utf-8") as fh:
                lines = fh.read().splitlines()
        except FileNotFoundError:
            return []
        except (OSError, UnicodeDecodeError):
            log.warning("vault audit: cannot read %s", path)
            return []
        entries = []
        for line in lines:
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                entries.append(value)
        return entries


class AuditWriter:
    """Appends audit entries from one background thread, in submission order.

    `submit` never blocks (the event loop calls it); `flush` waits until everything
    submitted so far is written (call it through a worker thread).
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[AuditTrail, AuditEntry] | None] = queue.SimpleQueue()
        self._cond = threading.Condition()
        self._pending = 0
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, trail: AuditTrail, entry: AuditEntry) -> None:
        with self._cond:
            if self._closed:
                trail.append(entry)  # after close (daemon stopping): write inline
                return
            self._pending += 1
            self._queue.put((trail, entry))
            if self._thread is None:
                # Not a daemon thread, and it ends when idle: queued lines are written
                # before the interpreter exits, and an idle process keeps no extra thread.
                self._thread = threading.Thread(target=self._run, name="swampd-vault-audit")
                self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=0.5)
            except queue.Empty:
                with self._cond:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            if item is None:
                return
            trail, entry = item
            try:
                trail.append(entry)
            except Exception:  # noqa: BLE001 - audit failures never fail anything
                log.warning("vault audit: append failed")
            with self._cond:
                self._pending -= 1
                if self._pending == 0:
                    self._cond.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the thread."""
        self.flush(timeout)
        with self._cond:
            self._closed = True
            thread = self._thread
            self._thread = None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)
