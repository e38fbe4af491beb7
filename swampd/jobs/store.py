"""Job records in SQLite (`<state_dir>/jobs.sqlite3`).

The methods here are synchronous and thread-safe; the manager calls them through
`anyio.to_thread.run_sync` so that no sqlite call runs on the event loop.
"""

from __future__ import annotations

import builtins
import json
import os
import sqlite3
import threading
from typing import Any

import orjson

from swampd.errors import BackendUnavailable
from swampd.jobs.states import TERMINAL, Job, JobKind, JobState

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    spec TEXT NOT NULL,
    dedupe_key TEXT,
    detached INTEGER NOT NULL DEFAULT 0,
    pid INTEGER,
    pgid INTEGER,
    proc_start INTEGER,
    exit_code INTEGER,
    result TEXT,
    error TEXT,
    created_at REAL NOT NULL,
    started_at REAL,
    ended_at REAL,
    log_path TEXT,
    stdout_path TEXT,
    waiters INTEGER NOT NULL DEFAULT 0,
    daemon_pid INTEGER,
    remote TEXT
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs(created_at);
"""

COLUMNS = (
    "id", "kind", "state", "spec", "dedupe_key", "detached", "pid", "pgid", "proc_start",
    "exit_code", "result", "error", "created_at", "started_at", "ended_at", "log_path",
    "stdout_path", "waiters", "daemon_pid", "remote",
)
JSON_COLUMNS = frozenset({"spec", "result", "error", "remote"})
ADDED_COLUMNS = {"remote": "TEXT"}
"""Columns newer than the first schema: added to an older database when it is opened."""


def _dump(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # integers beyond 64 bits: the stdlib encoder has no such limit
        return json.dumps(value, separators=(",", ":"))


def _load(value: str | None) -> Any:
    # stdlib: exact for integers beyond 64 bits (orjson would turn them into floats)
    return None if value is None else json.loads(value)


class JobStore:
    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def open(self) -> None:
        os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
        try:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
            present = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
            for column, decl in ADDED_COLUMNS.items():
                if column not in present:
                    db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {decl}")
        except sqlite3.Error:
            raise BackendUnavailable(f"the jobs database {self.path} cannot be opened") from None
        self._db = db

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self.open()
        assert self._db is not None
        return self._db

    def save(self, job: Job) -> None:
        """Insert or replace the whole record."""
        self.save_row(self.row(job))

    def save_row(self, row: dict[str, Any]) -> None:
        """Insert or replace a record made by `row()` (made on the loop, saved in a thread)."""
        marks = ", ".join("?" for _ in COLUMNS)
        with self._lock:
            self._conn().execute(
                f"INSERT OR REPLACE INTO jobs ({', '.join(COLUMNS)}) VALUES ({marks})",
                [row[c] for c in COLUMNS],
            )

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            cur = self._conn().execute(
                f"SELECT {', '.join(COLUMNS)} FROM jobs WHERE id = ?", (job_id,)
            )
            row = cur.fetchone()
        return None if row is None else self._job(row)

    def list(self, states: list[str] | None = None, limit: int = 100, created_since: float | None = None) -> list[Job]:
        sql = f"SELECT {', '.join(COLUMNS)} FROM jobs"
        args: list[Any] = []
        where = []
        if states:
            where.append(f"state IN ({', '.join('?' for _ in states)})")
            args.extend(states)
        if created_since is not None:
            where.append("created_at >= ?")
            args.append(created_since)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC LIMIT ?"
        args.append(limit)
        with self._lock:
            rows = self._conn().execute(sql, args).fetchall()
        return [self._job(r) for r in rows]

    def unfinished(self) -> builtins.list[Job]:
        live = [s.value for s in JobState if s not in TERMINAL]
        return self.list(live, limit=1_000_000)

    def purge(self, keep: int) -> int:
        """Delete terminal records beyond the newest `keep`; returns how many went."""
        terminal = [s.value for s in TERMINAL]
        marks = ", ".join("?" for _ in terminal)
        with self._lock:
            cur = self._conn().execute(
                f"DELETE FROM jobs WHERE state IN ({marks}) AND id NOT IN ("
                f"SELECT id FROM jobs WHERE state IN ({marks}) ORDER BY created_at DESC LIMIT ?)",
                [*terminal, *terminal, keep],
            )
        return cur.rowcount

    @staticmethod
    def row(job: Job) -> dict[str, Any]:
        row: dict[str, Any] = {c: getattr(job, c) for c in COLUMNS}
        row["kind"] = str(job.kind)
        row["state"] = str(job.state)
        row["detached"] = int(job.detached)
        for c in JSON_COLUMNS:
            row[c] = _dump(row[c])
        return row

    @staticmethod
    def _job(row: tuple[Any, ...]) -> Job:
        values = dict(zip(COLUMNS, row, strict=True))
        for c in JSON_COLUMNS:
            values[c] = _load(values[c])
        values["kind"] = JobKind(values["kind"])
        values["state"] = JobState(values["state"])
        values["detached"] = bool(values["detached"])
        return Job(**values)
