"""Replacing a file atomically: readers see the old bytes or the new ones, never a part.

A temp file beside the target (O_EXCL, the final mode from the start), written and fsynced, then
renamed over the target; on any failure the temp file is removed and the target is untouched.
The temp file is named as swamp names its own (`.{uuid}.tmp`), not after the target: a target
whose name is near the 255-byte limit (a long secret key's `KEY.enc`) must still be writable.
"""

from __future__ import annotations

import os
import uuid


def write_atomic(path: str, data: bytes, mode: int = 0o600, *, sync_dir: bool = True) -> None:
    """Replace `path` with `data` (mode `mode`); `sync_dir` also fsyncs the directory (the rename)."""
    tmp = os.path.join(os.path.dirname(path), f".{uuid.uuid4()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # the umask may have narrowed it
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    if sync_dir:
        fsync_dir(os.path.dirname(path) or ".")


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
