"""Jobs: every run the daemon knows, a detail pane with the log following live, cancel."""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical
from textual.message import Message
from textual.widgets import Log, Static

from swampd.client import DaemonUnavailable, RpcError
from tui import format as fmt
from tui import records as rec
from tui.screens.base import Pane, Results
from tui.widgets.logview import MAX_LINES, LogLine, LogScreen
from tui.widgets.table import Cell, Col, LiveTable, Row, theme_style
from tui.widgets.textbox import TextBox

COLUMNS = [Col("id", "id", max=12), Col("state", "state"), Col("kind", "kind", drop=4),
           Col("target", "model.method / command", flex=True, min=24), Col("pid", "pid", drop=3),
           Col("queued", "queued", drop=5), Col("age", "age", drop=2), Col("duration", "duration"),
           Col("exit", "exit", drop=6), Col("waiters", "waiters", drop=1)]
ACTIVE = ("queued", "running")
LIMIT = 1000
TICK_AFTER_EVENTS = 0.9
"""Seconds after a batch of events within which a tick leaves the running jobs' times alone."""
PROGRESS = {"queued": 0, "running": 1}
NARROW = 120
"""Below this many columns the detail goes under the table instead of beside it."""


def target_of(job: dict[str, Any]) -> str:
    spec = rec.mapping(job.get("spec"))
    if job.get("kind") == "command":
        argv = spec.get("argv")
        return " ".join(map(str, argv)) if isinstance(argv, list) and argv else "-"
    model = rec.text(job.get("model")) or rec.text(spec.get("model"), "?")
    method = rec.text(job.get("method")) or rec.text(spec.get("method"), "?")
    return f"{model}.{method}"


class NewJobs(Message):
    """Records of jobs that events named before the pane knew them (`jobs.list created_since`)."""

    def __init__(self, jobs: list[dict[str, Any]]) -> None:
        super().__init__()
        self.jobs = jobs


class JobsPane(Pane):
    NAME = "jobs"
    TITLE = "Jobs"
    TOPICS = ("jobs",)
    METHODS = ("jobs.list",)
    WHOLE_FROM_EVENTS = True
    READ_EVERY = 30  # a safety net: events keep it whole, and every fifth tick recomputes its times
    AGES_EVERY = 5  # the rows on and near the screen (running jobs' times move every tick; the rest of
    # the list gets its ages with the next full read)
    MUTATING = frozenset({"cancel_job", "cancel_all"})
    KEYS = [("enter", "open the job: record and log tail, following live"),
            ("l", "the log on the whole screen (w wrap, s autoscroll, t timestamps)"),
            ("escape", "close the detail"),
            ("x", "cancel the selected job (asks first)"),
            ("X", "cancel every job (asks first)")]
    BINDINGS = [Binding("enter", "detail", "detail", show=False), Binding("l", "full_log", "logs"),
                Binding("x", "cancel_job", "cancel job"), Binding("X", "cancel_all", "cancel all")]

    def __init__(self) -> None:
        super().__init__()
        self.jobs: dict[str, dict[str, Any]] = {}
        self.detail_id: str | None = None
        self.log_lines: list[LogLine] = []
        self.following = False
        self._asking_new = False
        self._ask_again = False
        self._pending: set[str] = set()
        """Jobs changed by events, waiting for the records of new jobs to be painted with them."""
        self._gone: set[str] = set()
        self._applied_at = 0.0
        self._ticks = 0

    def compose(self) -> ComposeResult:
        yield self.filter_box()
        yield self.empty_line()
        with Container(id="jobs-body"):
            yield LiveTable(COLUMNS, id="jobs-table",
                            order=lambda k, r: -(rec.number(self.jobs.get(k, {}).get("created_at")) or 0))
            with Vertical(id="job-detail", classes="detail"):
                yield TextBox("", id="job-record")
                yield Log(id="job-log", max_lines=2000, auto_scroll=True)

    def table(self) -> LiveTable:
        return self.query_one("#jobs-table", LiveTable)

    def on_resize(self) -> None:
        self.query_one("#jobs-body").set_class(self.size.width < NARROW, "narrow")

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
        jobs = rec.dicts(rec.mapping(results.get("jobs.list")).get("jobs"))
        self.jobs = {rec.text(j["id"]): j for j in jobs if rec.text(j.get("id"))}
        self._pending, self._gone = set(), set()  # the whole list, read after them
        self.table().sync({k: self._row(j) for k, j in self.jobs.items()})
        self.ages_redone()
        self.set_empty("" if self.jobs else "no jobs yet: `swamp run MODEL METHOD` submits one")
        record = results.get("jobs.get")
        if isinstance(record, dict) and record.get("id") == self.detail_id:
            self.jobs[str(record["id"])] = {**self.jobs.get(str(record["id"]), {}), **record}
            self._show_record(self.jobs[str(record["id"])])

    def _times(self, job: dict[str, Any]) -> tuple[float | None, float | None, float | None]:
        """(queued for, age, ran for) in seconds; None where unknown."""
        now = self.dash.source.now()
        created = rec.number(job.get("created_at"))
        started = rec.number(job.get("started_at"))
        ended = rec.number(job.get("ended_at"))
        age = None if created is None else now - created
        if created is None:
            queued = None
        elif started is not None:
            queued = started - created
        else:
            queued = (ended if ended is not None else now) - created
        ran = None if started is None else (ended if ended is not None else now) - started
        return queued, age, ran

    def _row(self, job: dict[str, Any]) -> Row:
        state = rec.text(job.get("state"), "?")
        queued, age, ran = self._times(job)
        exit_code = job.get("exit_code")
        return (rec.text(job.get("id")), Cell(state, tone=fmt.JOB_TONES.get(state, "muted")),
                rec.text(job.get("kind"), "?"), target_of(job), _pid(job.get("pid")),
                _seconds(queued), _age(age), _seconds(ran),
                "-" if exit_code is None else Cell(str(exit_code), sort=exit_code,
                                                    tone="" if exit_code == 0 else "bad"),
                rec.integer(job.get("waiters")))

    def tick(self) -> None:
        """Running and queued jobs' times move on; nothing else is touched (and nothing at all when
        a batch of events moved them less than a tick ago: one repaint a second, not two)."""
        self._ticks += 1
        if self._ticks % self.AGES_EVERY == 0:  # the ages and times near the view, from the records held
            self.redo_ages()
        elif time.monotonic() - self._applied_at >= TICK_AFTER_EVENTS:
            self._apply_pending()
        if self.detail_id in self.jobs:
            self._show_record(self.jobs[self.detail_id])

    def redo_ages(self) -> None:
        self.ages_redone()
        self._pending.update(self.table().keys_near_view())
        self._apply_pending()

    def _apply_pending(self) -> None:
        """Changed rows, new rows, rows gone and the running jobs' times, into the table in one pass."""
        changed = self._pending | {job_id for job_id, job in self.jobs.items() if job.get("state") in ACTIVE}
        gone = self._gone
        self._pending, self._gone = set(), set()
        self.table().merge({job_id: self._row(self.jobs[job_id]) for job_id in changed if job_id in self.jobs}, gone)
        self._applied_at = time.monotonic()

    def on_events(self, events: list[dict[str, Any]]) -> None:
        unknown = False
        for event in events:
            data = rec.mapping(event.get("data"))
            job_id = rec.text(data.get("id"))
            if data.get("type") != "job.state":
                continue
            if job_id not in self.jobs:
                unknown = True
                continue
            job = self.jobs[job_id]
            job["state"] = rec.text(data.get("state"), rec.text(job.get("state")))
            if data.get("exit_code") is not None:
                job["exit_code"] = data["exit_code"]
            now = self.dash.source.now()
            if job["state"] == "running" and not job.get("started_at"):
                job["started_at"] = now
            if job["state"] not in ACTIVE and not job.get("ended_at"):
                job["ended_at"] = now
            self._pending.add(job_id)
            if job_id == self.detail_id:
                self._show_record(job)
        if unknown and self.jobs:
            self._ask_new_jobs()  # the changes wait for the new jobs: the table is repainted once
        else:
            self._apply_pending()

    def _ask_new_jobs(self) -> None:
        """Fetch the jobs created since the newest one shown (one call, however many are new);
        the whole list is read again only every few ticks, not on every event."""
        if self._asking_new:
            self._ask_again = True
            return
        self._asking_new = True
        since = max(rec.number(j.get("created_at")) or 0 for j in self.jobs.values())
        self.run_worker(lambda: self._read_new(since), thread=True, group="jobs-new", exit_on_error=False)

    def _read_new(self, since: float) -> None:
        try:
            got = self.dash.source.call("jobs.list", {"limit": LIMIT, "created_since": since})
        except (RpcError, DaemonUnavailable):
            got = None  # the event reader reports the connection; the next full read repairs
        self.post_message(NewJobs(rec.dicts(rec.mapping(got).get("jobs"))))

    def on_new_jobs(self, message: NewJobs) -> None:
        message.stop()
        self._asking_new = False
        for job in message.jobs:
            job_id = rec.text(job.get("id"))
            known = self.jobs.get(job_id)
            if job_id and (known is None or _progress(job) >= _progress(known)):  # never back in time
                self.jobs[job_id] = job
                self._pending.add(job_id)
        if len(self.jobs) > LIMIT:  # the newest LIMIT, as jobs.list itself answers
            oldest = sorted(self.jobs, key=lambda k: rec.number(self.jobs[k].get("created_at")) or 0)
            for job_id in oldest[: len(self.jobs) - LIMIT]:
                if job_id != self.detail_id:
                    del self.jobs[job_id]
                    self._pending.discard(job_id)
                    self._gone.add(job_id)
        if self._ask_again:
            self._ask_again = False
            self._ask_new_jobs()
        else:
            self._apply_pending()

    # -- detail --------------------------------------------------------------------------------

    def record_of(self, key: str) -> dict[str, Any] | None:
        return self.jobs.get(key)

    def action_detail(self) -> None:
        key = self.table().cursor_key()
        if key is None or key not in self.jobs:
            return
        self.open_detail(key)

    def open_detail(self, key: str) -> None:
        if key == self.detail_id:
            return
        self.detail_id = key
        self.query_one("#job-detail").add_class("open")
        self.query_one("#job-log", Log).clear()
        self.log_lines = []
        self.following = self.jobs[key].get("state") in ACTIVE
        self._show_record(self.jobs[key])
        self.dash.follow_log(key)

    def close_detail(self) -> bool:
        if self.detail_id is None:
            return False
        self.detail_id = None
        self.query_one("#job-detail").remove_class("open")
        self.dash.stop_log()
        return True

    def action_full_log(self) -> None:
        key = self.detail_id or self.table().cursor_key()
        if key is None or key not in self.jobs:
            self.dash.notify("no job selected", severity="warning")
            return
        self.open_detail(key)
        self.app.push_screen(LogScreen(key, f"job {key} ({target_of(self.jobs[key])})", self.log_lines,
                                       following=self.following))

    def append_log(self, job_id: str, lines: list[str], live: bool) -> None:
        if job_id != self.detail_id or not lines:
            return
        at = time.time() if live else None
        new = [(at, line) for line in lines]
        self.log_lines.extend(new)
        del self.log_lines[:-MAX_LINES]
        self.query_one("#job-log", Log).write_lines(lines)
        screen = self.app.screen
        if isinstance(screen, LogScreen) and screen.job_id == job_id:
            screen.append(new)

    def log_ended(self, job_id: str) -> None:
        if job_id == self.detail_id:
            self.following = False
            screen = self.app.screen
            if isinstance(screen, LogScreen) and screen.job_id == job_id:
                screen.ended()

    def _show_record(self, job: dict[str, Any]) -> None:
        spec = rec.mapping(job.get("spec"))
        error = job.get("error")
        state = rec.text(job.get("state"), "?")
        queued, age, ran = self._times(job)
        exit_code = job.get("exit_code")
        waiters = f"{rec.integer(job.get('waiters'))} waiter(s){', detached' if job.get('detached') else ''}"
        inputs = (f"inputs {fmt.pairs(spec.get('inputs'))}" if job.get("kind") != "command"
                  else f"cwd {fmt.pairs(spec.get('cwd'))}")
        lines = [
            f"{target_of(job)}",
            f"pid/pgid {job.get('pid') or '-'}/{job.get('pgid') or '-'}  ·  exit "
            f"{'-' if exit_code is None else exit_code}  ·  {waiters}",
            f"created {fmt.stamp(job.get('created_at'))} UTC ({_ago(age)})  ·  queued {fmt.duration(queued)}"
            f"  ·  ran {fmt.duration(ran)}",
            inputs,
        ]
        if error:
            message = rec.mapping(error).get("message") if isinstance(error, dict) else error
            lines.append(f"error {rec.text(message, '-')}")
        text = Text.assemble((f"job {rec.text(job.get('id'))}", "bold"), "  ",
                             (state, theme_style(self.app.theme_variables, fmt.JOB_TONES.get(state, "muted"))),
                             f"  ({rec.text(job.get('kind'), '?')})")
        for line in lines:
            text.append("\n")
            text.append(line)
        text.append("\nlog, following while it runs (l: whole screen)", style="dim")
        self.query_one("#job-record", Static).update(text)

    # -- actions -------------------------------------------------------------------------------

    def commands(self) -> list[tuple[str, str, str]]:
        return [("Cancel job", "cancel the selected job", "cancel_job"),
                ("Cancel all jobs", "cancel every queued and running job", "cancel_all"),
                ("Open job detail", "record and live log of the selected job", "detail"),
                ("Job log, whole screen", "the selected job's log with wrap, autoscroll, timestamps", "full_log")]

    def action_cancel_job(self) -> None:
        key = self.detail_id or self.table().cursor_key()
        job = self.jobs.get(key or "")
        if job is None:
            self.dash.notify("no job selected", severity="warning")
            return
        if job.get("state") not in ACTIVE:
            self.dash.notify(f"job {job['id']} already {job.get('state')}", severity="warning")
            return
        self.dash.confirm_rpc(f"Cancel job {job['id']}?",
                              f"{target_of(job)} — {rec.integer(job.get('waiters'))} waiter(s)",
                              "jobs.cancel", {"id": job["id"]}, done=f"job {job['id']}: cancel sent")

    def action_cancel_all(self) -> None:
        active = sum(1 for j in self.jobs.values() if j.get("state") in ACTIVE)
        self.dash.confirm_rpc(f"Cancel all {active} queued or running job(s)?", "every waiter gets `cancelled`",
                              "jobs.cancel", {"all": True}, done="cancel sent to every job")


def _progress(job: dict[str, Any]) -> int:
    """How far along a job is: queued, running, ended (states only move forward)."""
    return PROGRESS.get(rec.text(job.get("state")), 2)


def _seconds(value: float | None) -> Cell:
    return Cell("-") if value is None else Cell(fmt.duration(value), sort=value)


def _age(value: float | None) -> Cell:
    return Cell("-") if value is None else Cell(fmt.age(value), sort=value)


def _pid(value: Any) -> Cell:
    pid = rec.integer(value)
    return Cell(str(pid), sort=pid) if pid else Cell("-")


def _ago(age: float | None) -> str:
    return "-" if age is None else f"{fmt.duration(age)} ago"
