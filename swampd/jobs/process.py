"""A job's processes: start it in its own session, find every process it started, kill them all.

Every job runs with `start_new_session=True`, so its pid is also its process group id and
everything it spawns is in that group, unless it starts a session of its own (`setsid`,
a daemonizing tool). The daemon holds those too: a job's *members* are

- the processes of its process group,
- every descendant of a member (while the chain of parents is intact), and
- every process of this uid whose environment carries the job's `SWAMPD_JOB_ID=<id>` (the
  daemon sets it for every job; children inherit it across `setsid`, double forks and
  re-parenting to init).

Cancel and the end of a job kill all of them. Out of reach: a process that both left the
tree (re-parented after its parent exited) and dropped the variable from its environment
(e.g. `env -i`), or one running as another user. The daemon's own pid and group are never
signalled.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections import defaultdict
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
    return fields is not None and bool(fields) and fields[0] not in ("Z", "X")


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


def job_members(pgid: int, job_id: str | None = None) -> list[int]:
    """Live processes of a job: its group, their descendants, and this uid's processes tagged
    `SWAMPD_JOB_ID=<job_id>` in their environment (see the module docstring)."""
    me = os.getpid()
    uid = os.getuid()
    tag = b"\0SWAMPD_JOB_ID=" + job_id.encode() + b"\0" if job_id else None
    parents: dict[int, int] = {}
    members: set[int] = set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        fields = _stat_fields(pid)
        if not fields or len(fields) < 3 or fields[0] in ("Z", "X") or pid == me:
            continue
        parents[pid] = int(fields[1])
        if int(fields[2]) == pgid or (tag is not None and _carries(pid, tag, uid)):
            members.add(pid)
    children: dict[int, list[int]] = defaultdict(list)
    for pid, ppid in parents.items():
        children[ppid].append(pid)
    stack = list(members)
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in members:
                members.add(child)
                stack.append(child)
    return sorted(m for m in members if m > 1)


def _carries(pid: int, tag: bytes, uid: int) -> bool:
    try:
        if os.stat(f"/proc/{pid}").st_uid != uid:
            return False
        with open(f"/proc/{pid}/environ", "rb") as fh:
            environ = fh.read()
    except OSError:
        return False
    return tag in b"\0" + environ


def signal_members(pids: Sequence[int], sig: int) -> None:
    """Send `sig` to each of `pids` (never the daemon itself); gone ones are skipped."""
    me = os.getpid()
    for pid in pids:
        if pid <= 1 or pid == me:
            continue
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


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


async def wait_group_gone(pgid: int, timeout: float, job_id: str | None = None) -> bool:
    """Poll until no member of the job is left; False if some remain after `timeout`."""
    with anyio.move_on_after(timeout):
        while await anyio.to_thread.run_sync(job_members, pgid, job_id):
            await anyio.sleep(0.05)
        return True
    return False


async def terminate(process: Process | None, pgid: int, grace: float, job_id: str | None = None) -> None:
    """SIGTERM every member of the job, SIGKILL after `grace`, and make sure none is left.

    Call this in a shielded cancel scope: it must finish even when its caller is cancelled.
    """
    signal_group(pgid, signal.SIGTERM)
    signal_members(await anyio.to_thread.run_sync(job_members, pgid, job_id), signal.SIGTERM)
    if process is not None:
        with anyio.move_on_after(grace):
            await process.wait()
    elif await wait_group_gone(pgid, grace, job_id):
        return
    await kill_leftovers(pgid, job_id)
    if process is not None:
        await process.wait()


async def kill_leftovers(pgid: int, job_id: str | None = None) -> None:
    """SIGKILL whatever is left of the job (its group, their descendants, its tagged processes)."""
    for _ in range(30):  # a member stuck in uninterruptible sleep must not hang us forever
        members = await anyio.to_thread.run_sync(job_members, pgid, job_id)
        if not members:
            return
        signal_group(pgid, signal.SIGKILL)
        signal_members(members, signal.SIGKILL)
        if await wait_group_gone(pgid, 1.0, job_id):
            return
