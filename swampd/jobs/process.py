"""Process groups: start a job in its own session, inspect and kill its whole tree.

Every job runs with `start_new_session=True`, so its pid is also its process group id and
everything it spawns (unless it starts a session of its own) is in that group. Killing the
group kills the tree. The daemon's own pid and group are never signalled.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from typing import IO

import anyio
from anyio.abc import Process

from swampd.errors import CallFailed


def _stat_fields(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/<pid>/stat (state first), or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    return raw.rpartition(")")[2].split()


def proc_start_time(pid: int) -> int | None:
    """The start time of `pid` in clock ticks since boot (tells a reused pid apart)."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def pid_alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    fields = _stat_fields(pid)
    return bool(fields) and fields[0] not in ("Z", "X")


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes whose process group is `pgid`."""
    members = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fields = _stat_fields(int(name))
        if fields and len(fields) > 2 and fields[0] not in ("Z", "X") and fields[2] == str(pgid):
            members.append(int(name))
    return members


def _protected(pgid: int) -> bool:
    return pgid <= 1 or pgid == os.getpid() or pgid == os.getpgid(0)


def signal_group(pgid: int, sig: int) -> bool:
    """Send `sig` to the group; False when it is gone. Refuses the daemon's own group."""
    if _protected(pgid):
        raise CallFailed(f"refusing to signal process group {pgid}: it is the daemon's own")
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


async def spawn(
    argv: Sequence[str],
    *,
    cwd: str | None,
    env: Mapping[str, str],
    stdout: IO[bytes],
    stderr: IO[bytes],
) -> Process:
    """Start `argv` in a new session (its own process group) writing to the given files."""
    try:
        return await anyio.open_process(
            list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
            stdout=stdout, stderr=stderr, start_new_session=True,
        )
    except FileNotFoundError:
        raise CallFailed(f"cannot start {argv[0]}: no such file or directory",
                         reason="spawn") from None
    except PermissionError:
        raise CallFailed(f"cannot start {argv[0]}: permission denied", reason="spawn") from None
    except OSError as exc:
        raise CallFailed(f"cannot start {argv[0]} (errno {exc.errno})", reason="spawn") from None


async def wait_group_gone(pgid: int, timeout: float) -> bool:
    """Poll until no live member of `pgid` is left; False if some remain after `timeout`."""
    with anyio.move_on_after(timeout):
        while await anyio.to_thread.run_sync(group_members, pgid):
            await anyio.sleep(0.05)
        return True
    return False


async def terminate(process: Process | None, pgid: int, grace: float) -> None:
    """SIGTERM the group, SIGKILL after `grace`, and make sure no member is left.

    Call this in a shielded cancel scope: it must finish even when its caller is cancelled.
    """
    signal_group(pgid, signal.SIGTERM)
    if process is not None:
        with anyio.move_on_after(grace):
            await process.wait()
    elif await wait_group_gone(pgid, grace):
        return
    await kill_leftovers(pgid)
    if process is not None:
        await process.wait()


async def kill_leftovers(pgid: int) -> None:
    """SIGKILL whatever is left of the group and wait until it is gone."""
    for _ in range(30):  # a member stuck in uninterruptible sleep must not hang us forever
        if not signal_group(pgid, signal.SIGKILL) or await wait_group_gone(pgid, 1.0):
            return
