"""Exclusive inter-process locks on lock files (flock), with a time budget.

flock locks belong to an open file description, so two threads of one process that each
open the lock file exclude each other as two processes do; a killed holder's lock is
released by the kernel, so a lock never outlives its process.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from swampd.errors import LockTimeout

POLL = 0.02


@contextmanager
def file_lock(path: str, timeout: float, what: str) -> Iterator[None]:
    """Hold an exclusive flock on `path` (created 0600) for the block; LockTimeout after `timeout` s."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout(f"{what} is locked by another install or edit; try again") from None
                time.sleep(POLL)
        yield
    finally:
        os.close(fd)


def try_lock(path: str) -> int | None:
    """Take the lock without waiting: the open fd (close it to release), or None when held."""
    try:
        fd = os.open(path, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd
