"""Room for a job's outcome, reserved before it starts, so that a full disk cannot make its record lie.

A job's record is written to SQLite at every transition. When the state dir is full that write
fails: the daemon keeps the true record in memory (and retries), but a restart would find the
record still `running` and call the job lost. So before a job's process starts, a small file
`<log_dir>/<id>.outcome` is written and fsync'd (the start fails if even that does not fit).
If the end cannot be recorded in the database, the outcome is written over those reserved
bytes (no new blocks needed); the next start applies it to the record and removes the file.
"""

from __future__ import annotations

import os
from typing import Any

import orjson

RESERVED = 4096
"""Bytes reserved per running job: the state, exit code, error and a small result fit."""


def path_for(log_dir: str, job_id: str) -> str:
    return os.path.join(log_dir, f"{job_id}.outcome")


def reserve(log_dir: str, job_id: str) -> None:
    """Write and fsync RESERVED blank bytes (raises OSError, e.g. ENOSPC, when it does not fit)."""
    path = path_for(log_dir, job_id)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        view = memoryview(b" " * RESERVED)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        remove(log_dir, job_id)
        raise
    os.close(fd)


def write(log_dir: str, job_id: str, outcome: dict[str, Any]) -> bool:
    """Write `outcome` over the reserved bytes; False when there is no reservation or it failed."""
    data = orjson.dumps(outcome)
    if len(data) > RESERVED:
        data = orjson.dumps({**outcome, "result": None, "result_dropped": True})
    if len(data) > RESERVED:
        return False
    try:
        fd = os.open(path_for(log_dir, job_id), os.O_WRONLY | os.O_CLOEXEC)  # no O_CREAT, no O_TRUNC
    except OSError:
        return False
    try:
        os.pwrite(fd, data.ljust(RESERVED), 0)
        os.fsync(fd)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def read(log_dir: str, job_id: str) -> dict[str, Any] | None:
    """The outcome written for `job_id`, or None (no file, or still only the reservation)."""
    try:
        with open(path_for(log_dir, job_id), "rb") as fh:
            text = fh.read(RESERVED + 1).strip()
    except OSError:
        return None
    if not text:
        return None
    try:
        outcome = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return outcome if isinstance(outcome, dict) else None


def remove(log_dir: str, job_id: str) -> None:
    try:
        os.unlink(path_for(log_dir, job_id))
    except OSError:
        pass
