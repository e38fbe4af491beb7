"""Messages the workers post to the app (thread-safe: `post_message`)."""

from __future__ import annotations

from typing import Any

from textual.message import Message


class Fetched(Message):
    """Results of one refresh: pane name -> {method: result or exception}."""

    def __init__(self, results: dict[str, dict[str, Any]]) -> None:
        super().__init__()
        self.results = results


class EventsArrived(Message):
    """A batch of daemon events ({topic, data}), at most a few batches a second."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        super().__init__()
        self.events = events


class ConnectionChanged(Message):
    def __init__(self, up: bool, detail: str = "") -> None:
        super().__init__()
        self.up = up
        self.detail = detail


class LogLines(Message):
    """Lines of a job's log; `live` when they were streamed (not a finished job's tail)."""

    def __init__(self, job_id: str, lines: list[str], live: bool = True) -> None:
        super().__init__()
        self.job_id = job_id
        self.lines = lines
        self.live = live


class LogEnded(Message):
    """The log stream of a job ended (the job did, or the daemon went away)."""

    def __init__(self, job_id: str) -> None:
        super().__init__()
        self.job_id = job_id
