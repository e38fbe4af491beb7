"""Jobs that run elsewhere: what the job manager hands to a remote runner, and what it gets back.

A job submitted with a `target` is not spawned here: the runner (the fleet, built by the service
container and passed in) runs it on another host's daemon over ssh, or on a `swamp serve`
endpoint. The manager keeps the record, the flight (dedupe, waiters, cancel) and the log file;
the runner appends remote log lines to it, says when the remote side has accepted the job, and
returns the final outcome. Cancelling the flight cancels the runner's task; the runner then
cancels the remote run (bounded) and notes how that went before it re-raises.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class RemoteRun:
    job_id: str
    kind: str
    """swamp, workflow or command."""
    spec: dict[str, Any]
    """The job's spec with its env values (never stored: records keep names only)."""
    target: str
    dedupe: bool
    log: Callable[[list[str]], Awaitable[None]]
    """Append lines to the job's log (what `jobs.logs -f` follows)."""
    started: Callable[[dict[str, Any]], Awaitable[None]]
    """The remote side accepted the job: `{via, host, id | run_id, ...}`; the job is running."""
    cancel_note: dict[str, Any] = field(default_factory=dict)
    """Filled by the runner when it cancelled the remote run: `{status, message?}`."""


@dataclass
class RemoteOutcome:
    state: str
    """succeeded, failed or cancelled."""
    exit_code: int | None = None
    result: Any = None
    error: dict[str, Any] | None = None


class RemoteRunner(Protocol):
    def check_target(self, target: str, kind: str) -> None:
        """Raise when `target` names nothing, or cannot run this kind of job."""

    async def run(self, run: RemoteRun) -> RemoteOutcome:
        """Run the job remotely to its end (cancellation cancels the remote run first)."""

    def abandon(self, ref: dict[str, Any]) -> None:
        """A remote job whose daemon died: ask for it to be cancelled, in the background."""
