"""Jobs: every run the daemon knows, a detail pane with the log following live, cancel."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Log, Static

from tui import format as fmt
from tui.screens.base import Pane, Results
from tui.widgets.table import LiveTable, Row

COLUMNS = [("id", "id"), ("state", "state"), ("kind", "kind"), ("target", "model.method / command"),
           ("pid", "pid"), ("duration", "duration"), ("waiters", "waiters")]
ACTIVE = ("queued", "running")
LIMIT = 1000


class JobsPane(Pane):
    NAME = "jobs"
    TITLE = "Jobs"
    TOPICS = ("jobs",)
    METHODS = ("jobs.list",)
    MUTATING = frozenset({"cancel_job", "cancel_all"})
    KEYS = [("enter", "open the job: record and log tail, following live"),
            ("escape", "close the detail"),
            ("x", "cancel the selected job (asks first)"),
            ("X", "cancel every job (asks first)")]
    BINDINGS = [Binding("enter", "detail", "detail", show=False), Binding("x", "cancel_job", "cancel job"),
                Binding("X", "cancel_all", "cancel all")]

    def __init__(self) -> None:
        super().__init__()
        self.jobs: dict[str, dict[str, Any]] = {}
        self.detail_id: str | None = None

    def compose(self) -> ComposeResult:
        yield self.filter_box()
        yield self.empty_line()
        with Horizontal(id="jobs-body"):
            yield LiveTable(COLUMNS, id="jobs-table", order=lambda k, r: -(self.jobs.get(k, {}).get("created_at") or 0))
            with Vertical(id="job-detail", classes="detail"):
                yield Static("", id="job-record")
                yield Log(id="job-log", max_lines=2000, auto_scroll=True)

    def requests(self, tick: int) -> list[tuple[str, Any]]:
        wanted: list[tuple[str, Any]] = [("jobs.list", {"limit": LIMIT})]
        if self.detail_id:
            wanted.append(("jobs.get", {"id": self.detail_id}))
        return wanted

    def show(self, results: Results) -> None:
        if self.unavailable(results):
            return
        error = self.error_text(results, "jobs.list")
        if error:
            self.set_empty(error)
            return
        jobs = (results.get("jobs.list") or {}).get("jobs") or []
        self.jobs = {j["id"]: j for j in jobs if j.get("id")}
        self.query_one(LiveTable).sync({k: self._row(j) for k, j in self.jobs.items()})
        self.set_empty("" if self.jobs else "no jobs yet: `swamp run MODEL METHOD` submits one")
        record = results.get("jobs.get")
        if isinstance(record, dict) and record.get("id") == self.detail_id:
            self.jobs[record["id"]] = {**self.jobs.get(record["id"], {}), **record}
            self._show_record(record)

    def _row(self, job: dict[str, Any]) -> Row:
        spec = job.get("spec") or {}
        if job.get("kind") == "command":
            target = " ".join(map(str, spec.get("argv") or [])) or "-"
        else:
            target = f"{job.get('model') or spec.get('model') or '?'}.{job.get('method') or spec.get('method') or '?'}"
        return (job["id"], job.get("state", "?"), job.get("kind", "?"), fmt.short(target, 40),
                job.get("pid") or "-", fmt.duration(self._duration(job)), job.get("waiters", 0))

    def _duration(self, job: dict[str, Any]) -> float | None:
        started = job.get("started_at")
        if not isinstance(started, int | float):
            return None
        ended = job.get("ended_at")
        end = ended if isinstance(ended, int | float) else self.dash.source.now()
        return end - started

    def tick(self) -> None:
        """Running jobs' durations move on; nothing else is touched."""
        table = self.query_one(LiveTable)
        for job_id, job in self.jobs.items():
            if job.get("state") == "running":
                table.update_fields(job_id, duration=fmt.duration(self._duration(job)))
        if self.detail_id in self.jobs:
            self._show_record(self.jobs[self.detail_id])

    def on_events(self, events: list[dict[str, Any]]) -> None:
        table = self.query_one(LiveTable)
        for event in events:
            data = event["data"]
            job_id = data.get("id")
            if data.get("type") != "job.state" or job_id not in self.jobs:
                continue  # new jobs arrive with the next refresh (their topic is now stale)
            job = self.jobs[job_id]
            job["state"] = data.get("state", job.get("state"))
            if data.get("exit_code") is not None:
                job["exit_code"] = data["exit_code"]
            if job["state"] not in ACTIVE and not job.get("ended_at"):
                job["ended_at"] = self.dash.source.now()
            table.update_fields(job_id, state=job["state"], duration=fmt.duration(self._duration(job)))
            if job_id == self.detail_id:
                self._show_record(job)

    # -- detail --------------------------------------------------------------------------------

    def action_detail(self) -> None:
        key = self.query_one(LiveTable).cursor_key()
        if key is None or key not in self.jobs:
            return
        self.detail_id = key
        self.query_one("#job-detail").add_class("open")
        log = self.query_one("#job-log", Log)
        log.clear()
        self._show_record(self.jobs[key])
        self.dash.follow_log(key)

    def close_detail(self) -> bool:
        if self.detail_id is None:
            return False
        self.detail_id = None
        self.query_one("#job-detail").remove_class("open")
        self.dash.stop_log()
        return True

    def append_log(self, job_id: str, lines: list[str]) -> None:
        if job_id == self.detail_id and lines:
            self.query_one("#job-log", Log).write_lines(lines)

    def _show_record(self, job: dict[str, Any]) -> None:
        spec = job.get("spec") or {}
        error = job.get("error") or {}
        lines = [
            f"[b]job {job.get('id')}[/b]  {job.get('state')}  ({job.get('kind')})",
            f"target    {self._row(job)[3]}",
            f"inputs    {fmt.short(spec.get('inputs') or spec.get('cwd') or '-', 60)}",
            f"pid/pgid  {job.get('pid') or '-'} / {job.get('pgid') or '-'}   exit {job.get('exit_code', '-')}",
            f"created   {fmt.stamp(job.get('created_at'))}   duration {fmt.duration(self._duration(job))}",
            f"waiters   {job.get('waiters', 0)}   detached {bool(job.get('detached'))}",
        ]
        if error:
            lines.append(f"error     {fmt.short(error.get('message') or error, 70)}")
        lines.append("[dim]log (following while it runs)[/dim]")
        self.query_one("#job-record", Static).update("\n".join(lines))

    # -- actions -------------------------------------------------------------------------------

    def commands(self) -> list[tuple[str, str, str]]:
        return [("Cancel job", "cancel the selected job", "cancel_job"),
                ("Cancel all jobs", "cancel every queued and running job", "cancel_all"),
                ("Open job detail", "record and live log of the selected job", "detail")]

    def action_cancel_job(self) -> None:
        key = self.detail_id or self.query_one(LiveTable).cursor_key()
        job = self.jobs.get(key or "")
        if job is None:
            self.dash.notify("no job selected", severity="warning")
            return
        if job.get("state") not in ACTIVE:
            self.dash.notify(f"job {job['id']} already {job.get('state')}", severity="warning")
            return
        self.dash.confirm_rpc(f"Cancel job {job['id']}?", f"{self._row(job)[3]} — {job.get('waiters', 0)} waiter(s)",
                              "jobs.cancel", {"id": job["id"]}, done=f"job {job['id']}: cancel sent")

    def action_cancel_all(self) -> None:
        active = sum(1 for j in self.jobs.values() if j.get("state") in ACTIVE)
        self.dash.confirm_rpc(f"Cancel all {active} queued or running job(s)?", "every waiter gets `cancelled`",
                              "jobs.cancel", {"all": True}, done="cancel sent to every job")
