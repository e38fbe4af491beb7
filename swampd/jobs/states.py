"""Job states, kinds and the job record.

    queued      accepted; waiting for its model's lock or a host-wide slot
    running     its process is alive (pid and pgid recorded)
    succeeded   the process exited 0 (for swamp runs: and printed a result)
    failed      non-zero exit, unparsable output, failure to start, or lost in a daemon crash
    cancelled   cancelled by request, by every waiter leaving, or reaped after a daemon restart

`succeeded`, `failed` and `cancelled` are terminal: a record never leaves them.
"""

from __future__ import annotations

import enum
import time
from dataclasses import asdict, dataclass, field
from typing import Any


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})


class JobKind(enum.StrEnum):
    SWAMP = "swamp"
    """`swamp model method run <model> <method> --json` in a repo."""
    COMMAND = "command"
    """An argv with cwd and env."""
    WORKFLOW = "workflow"
    """`swamp workflow run <workflow> --json` in a repo (steps with worker placement go to swamp's workers)."""
    SWAMP_CLI = "swamp_cli"
    """A `swamp` command line exactly as the front received it: argv, cwd and the caller's env."""


SWAMP_RUNS = frozenset({JobKind.SWAMP, JobKind.SWAMP_CLI})
"""Kinds that run swamp's `model method run` (a model, a per-model lock, stdout kept apart)."""


@dataclass
class Job:
    id: str
    kind: JobKind
    state: JobState
    spec: dict[str, Any]
    dedupe_key: str | None = None
    detached: bool = False
    pid: int | None = None
    pgid: int | None = None
    proc_start: int | None = None
    """The process start time (clock ticks since boot, /proc/<pid>/stat) to tell pid reuse apart."""
    exit_code: int | None = None
    result: Any = None
    error: dict[str, Any] | None = None
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    ended_at: float | None = None
    log_path: str | None = None
    stdout_path: str | None = None
    waiters: int = 0
    daemon_pid: int | None = None
    remote: dict[str, Any] | None = None
    """Where a job with a target runs: `{via: ssh|serve, host, id | run_id, ...}` once accepted there."""

    @property
    def model(self) -> str | None:
        return self.spec.get("model") if self.kind in SWAMP_RUNS else None

    @property
    def method(self) -> str | None:
        return self.spec.get("method") if self.kind in SWAMP_RUNS else None

    @property
    def target(self) -> str | None:
        """The fleet host, label or serve endpoint the job runs on (None: this host)."""
        return self.spec.get("target")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["kind"] = str(self.kind)
        out["state"] = str(self.state)
        out["model"] = self.model
        out["method"] = self.method
        out["duration"] = (
            round(self.ended_at - self.started_at, 3)
            if self.started_at is not None and self.ended_at is not None
            else None
        )
        out.pop("proc_start", None)
        return out
