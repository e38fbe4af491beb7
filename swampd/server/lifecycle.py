"""Runtime dir checks, the start lock, the pidfile, logging: what makes one daemon per user."""

from __future__ import annotations

import fcntl
import logging
import logging.handlers
import os
import resource
import stat
import time

from swampd.config import Config
from swampd.paths import Paths
from swampd.server.logrepeat import RepeatFilter


class StartupError(Exception):
    """Raised when the daemon cannot start; the message names the path and the fix."""


def ensure_private_dir(path: str, *, what: str) -> None:
    """Create `path` 0700, or check that it is owned by us and not open to others."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise StartupError(f"cannot create the {what} {path}: {exc.strerror}") from None
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise StartupError(f"the {what} {path} is not a directory; remove it and start again")
    if st.st_uid != os.getuid():
        raise StartupError(
            f"the {what} {path} is owned by uid {st.st_uid}, not by you (uid {os.getuid()}); "
            f"fix: chown {os.getuid()} {path} (or remove it)"
        )
    if st.st_mode & 0o077:
        raise StartupError(
            f"the {what} {path} has mode {stat.S_IMODE(st.st_mode):04o}, open to other users; "
            f"fix: chmod 700 {path}"
        )


class DaemonLock:
    """An exclusive flock held for the daemon's whole life: the one-daemon-per-user guarantee.

    A daemon killed with -9 releases it with its file descriptors, so whoever takes the lock
    next knows any socket or pidfile left behind is stale.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def clear_stale(paths: Paths) -> list[str]:
    """Remove a socket and pidfile left by a dead daemon. Call only while holding the lock."""
    removed = []
    for path in (paths.socket, paths.pidfile):
        try:
            os.unlink(path)
            removed.append(path)
        except FileNotFoundError:
            pass
    return removed


def write_pidfile(path: str) -> None:
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as fh:
        fh.write(f"{os.getpid()}\n{time.time():.3f}\n")
    os.replace(tmp, path)


def read_pidfile(path: str) -> int | None:
    try:
        with open(path) as fh:
            return int(fh.readline().strip())
    except (OSError, ValueError):
        return None


def raise_fd_limit() -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE to the hard limit (as dockerd and systemd services do).

    Returns (soft before, soft now). An unlimited hard limit is capped at the kernel's
    `fs.nr_open`; a limit that cannot be raised is left as it is.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard
    if hard == resource.RLIM_INFINITY:
        try:
            with open("/proc/sys/fs/nr_open") as fh:
                target = int(fh.read().strip())
        except (OSError, ValueError):
            target = 1 << 20
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (OSError, ValueError):
            return soft, soft
        return soft, target
    return soft, soft


def setup_logging(config: Config, *, foreground: bool) -> RepeatFilter:
    """A rotating log file in the state dir (0600); with --foreground also stderr.

    Both go through one `RepeatFilter`: the same record repeated in a burst is counted, not
    written again and again. The daemon calls its `flush()` now and then.
    """
    ensure_private_dir(config.paths.state_dir, what="state directory")
    root = logging.getLogger()
    root.setLevel(getattr(logging, config.daemon.log_level.upper(), logging.INFO))
    for handler in list(root.handlers):
        root.removeHandler(handler)
    fd = os.open(config.paths.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.close(fd)
    file_handler = logging.handlers.RotatingFileHandler(
        config.paths.log_file, maxBytes=config.daemon.log_max_bytes, backupCount=config.daemon.log_backups
    )
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s")
    repeats = RepeatFilter()
    file_handler.setFormatter(fmt)
    file_handler.addFilter(repeats)
    root.addHandler(file_handler)
    if foreground:
        stream = logging.StreamHandler()
        stream.setFormatter(fmt)
        stream.addFilter(repeats)
        root.addHandler(stream)
    logging.getLogger("jsonrpcserver").setLevel(logging.CRITICAL)  # its handlers log raw exception text
    for noisy in ("botocore", "boto3", "urllib3", "s3transfer", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return repeats
