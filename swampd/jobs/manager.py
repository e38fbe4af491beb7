"""The job manager: submit, follow, wait for and cancel jobs; reap what a dead daemon left.

Every job runs as a flight of the fan-out coordinator, so waiter semantics are the same
as for any coalesced call:

- `submit(wait=True)` makes the caller a waiter. A caller that leaves only detaches; when
  the last waiter of a run leaves, the run is cancelled and its process group killed.
- `submit(wait=False)` (swamp run --detach) *holds* the flight on the daemon's behalf: the
  job runs on regardless of waiters; only `cancel` stops it.
- Identical swamp runs (same repo, model, method, inputs, env) share one flight and one job
  when dedupe is on (the default); other jobs get a flight of their own (`job:<id>`).

Runs on one model (repo, model) are serialized like swamp's per-model lock would; a
host-wide semaphore (`[jobs] max_concurrent`) queues the rest. Each job runs in its own
process group; when its main process exits, anything left in the group is killed.

A job with a `target` runs on another host's daemon or a swamp serve endpoint through the
remote runner (swampd/jobs/remote.py): no local lock or slot, its log lines arrive as they
are written there, and cancelling it cancels the remote run.
"""

from __future__ import annotations

import builtins
import errno
import logging
import os
import shlex
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Any

import anyio
from anyio.abc import Process

from swampd.errors import BackendUnavailable, CallFailed, InvalidParams, NotFound, SwampdError, Timeout, Unsupported
from swampd.fanout import Coalescer, canonical_key
from swampd.jobs import drivers, outcomes, process
from swampd.jobs.remote import RemoteRun, RemoteRunner
from swampd.jobs.settings import JobSettings
from swampd.jobs.states import SWAMP_RUNS, TERMINAL, Job, JobKind, JobState
from swampd.jobs.store import JobStore
from swampd.peer import Peer

log = logging.getLogger(__name__)

Publish = Callable[[str, dict[str, Any]], None]
TOPIC = "jobs"
REDACTED = "<redacted>"
LOG_CHUNK = 64 * 1024
MAX_LOG_READ = 4 * 1024 * 1024


class JobManager:
    def __init__(
        self,
        settings: JobSettings,
        *,
        store: JobStore,
        coalescer: Coalescer,
        log_dir: str,
        publish: Publish | None = None,
        base_env: Mapping[str, str] | None = None,
        remote: RemoteRunner | None = None,
    ) -> None:
        self.settings = settings
        self._remote = remote
        self._store = store
        self._coalescer = coalescer
        self._log_dir = log_dir
        self._publish = publish or (lambda topic, data: None)
        self._base_env = dict(os.environ if base_env is None else base_env)
        self._live: dict[str, Job] = {}
        self._done: dict[str, anyio.Event] = {}
        self._keys: dict[str, str] = {}  # job id -> flight key
        self._key_jobs: dict[str, str] = {}  # flight key -> job id
        self._procs: dict[str, Process] = {}
        self._cancel_reasons: dict[str, str] = {}
        self._env_values: dict[str, dict[str, str]] = {}
        """Job id -> the env values it was submitted with: in memory only, never in a record."""
        self._remote_runs: dict[str, RemoteRun] = {}
        self._unsaved: dict[str, Job] = {}
        """Records the database could not take (a full state dir): the truth, served from memory and
        saved again at the next chance; a terminal one is also in its reserved outcome file."""
        self._model_locks: dict[tuple[str, str], anyio.Lock] = {}
        self._slots = anyio.Semaphore(settings.max_concurrent)
        self.reaped: list[dict[str, Any]] = []
        self._started = False
        self._start_lock = anyio.Lock()

    # lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the database and reap the jobs a previous daemon left unfinished."""
        async with self._start_lock:
            if not self._started:
                await self._start()

    async def _start(self) -> None:
        # fresh primitives: an in-process runner starts and closes us once per event loop
        self._slots = anyio.Semaphore(self.settings.max_concurrent)
        self._model_locks.clear()
        await anyio.to_thread.run_sync(self._prepare)
        leftovers = await anyio.to_thread.run_sync(self._store.unfinished)

        async def reap(job: Job) -> None:
            self.reaped.append(await self._reap(job))

        async with anyio.create_task_group() as tg:  # concurrently: each may wait a kill grace
            for job in leftovers:
                if job.daemon_pid not in (None, os.getpid()) and process.pid_alive(job.daemon_pid):
                    continue  # owned by a live daemon (this is an in-process `--no-daemon` run)
                tg.start_soon(reap, job)
        self._started = True

    def _prepare(self) -> None:
        os.makedirs(self._log_dir, mode=0o700, exist_ok=True)
        self._store.open()
        self._store.purge(self.settings.retention)

    async def aclose(self) -> None:
        """Cancel every live job (their process groups are killed) and close the database."""
        with anyio.CancelScope(shield=True):
            async with anyio.create_task_group() as tg:
                for job_id in list(self._live):
                    tg.start_soon(self._cancel_quietly, job_id)
            await self._flush_unsaved()
            if self._unsaved:
                log.error("%d job record(s) could not be saved (the state dir is full?); their outcomes wait in "
                          "their .outcome files for the next start", len(self._unsaved))
            await anyio.to_thread.run_sync(self._store.close)
            self._started = False

    async def _cancel_quietly(self, job_id: str) -> None:
        try:
            await self.cancel(job_id, wait=self.settings.kill_grace + 5,
                              reason="the daemon is shutting down")
        except SwampdError:
            pass  # ended meanwhile

    def busy_reason(self) -> str | None:
        return f"{len(self._live)} job(s) running or queued" if self._live else None

    # submit ------------------------------------------------------------------------------

    async def submit(
        self,
        kind: str,
        spec: dict[str, Any],
        *,
        wait: bool = True,
        dedupe: bool = True,
        peer: Peer | None = None,
        target: str | None = None,
        on_job: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        """Start (or join) a job. wait=True returns its final record, else the record now.

        target: a fleet host, label or swamp serve endpoint to run it on instead of this host.
        on_job is told the id of the job this call started or joined, before it waits.
        """
        await self._require_started()
        try:
            job_kind = JobKind(kind)
        except ValueError:
            raise InvalidParams(f"kind must be one of {', '.join(k.value for k in JobKind)}") from None
        local = target is None
        if not local and (not isinstance(target, str) or not target):
            raise InvalidParams("target must be a fleet host, label or serve endpoint name")
        if job_kind is JobKind.SWAMP:
            spec = drivers.swamp_spec(**_only(spec, "model", "method", "inputs", "repo", "env"), local=local)
        elif job_kind is JobKind.WORKFLOW:
            spec = drivers.workflow_spec(**_only(spec, "workflow", "inputs", "repo", "env"), local=local)
        elif job_kind is JobKind.SWAMP_CLI:
            if not local:
                raise InvalidParams("a swamp_cli job runs the caller's command line on this host")
            spec = drivers.swamp_cli_spec(**_only(spec, "argv", "cwd", "env", "executable", "repo", "model",
                                                  "method", "identity"))
        else:
            spec = drivers.command_spec(**_only(spec, "argv", "cwd", "env"), local=local)
        executable = ""
        if target is not None:
            if self._remote is None:
                raise Unsupported("this job manager runs jobs on this host only (no fleet)")
            self._remote.check_target(target, job_kind.value)
            spec["target"] = target
        elif job_kind is JobKind.SWAMP_CLI:
            executable = spec["executable"]  # resolved from the caller's PATH and settings
        elif job_kind is not JobKind.COMMAND:
            executable = await anyio.to_thread.run_sync(
                drivers.resolve_swamp_executable, self.settings.swamp_executable,
                self._base_env.get("PATH", ""),
            )
        dedupe = dedupe and job_kind is not JobKind.COMMAND
        # From here to the coalescer call there is no await: joining is atomic.
        key = canonical_key("jobs.submit", drivers.dedupe_material(job_kind, spec),
                            spec.get("repo") or "") if dedupe else None
        job_id = self._key_jobs.get(key) if key else None
        if job_id is None or self._coalescer.get(key or "") is None:
            job = self._new_job(job_kind, spec, key, detached=not wait)
            key = self._keys[job.id]

            async def fn() -> dict[str, Any]:
                return await self._run(job, executable)
        else:
            job = self._live[job_id]
            assert key is not None  # a job was joined by its key

            async def fn() -> dict[str, Any]:  # never runs: the flight exists
                raise CallFailed("the job ended before it could be joined")

        method = f"jobs.{job_kind.value}"
        if on_job is not None:
            on_job(job.id)
        detail = shlex.join(map(str, spec.get("argv") or [])) if job_kind is JobKind.COMMAND else None
        if not wait:
            job.detached = True
            self._coalescer.hold(key, fn, method=method, model=job.model, detail=detail)
            return self._view(job)
        return await self._wait_flight(job, key, fn, method, peer, detail)

    def _new_job(self, kind: JobKind, spec: dict[str, Any], key: str | None, *,
                 detached: bool) -> Job:
        job_id = uuid.uuid4().hex[:12]
        env = spec.get("env")
        if env:  # values may be tokens: records, views and events only ever show the names
            self._env_values[job_id] = dict(env)
            spec = {**spec, "env": dict.fromkeys(env, REDACTED)}
        job = Job(
            id=job_id, kind=kind, state=JobState.QUEUED, spec=spec, dedupe_key=key,
            detached=detached, daemon_pid=os.getpid(),
            log_path=os.path.join(self._log_dir, f"{job_id}.log"),
            stdout_path=(os.path.join(self._log_dir, f"{job_id}.stdout")
                         if kind is not JobKind.COMMAND and "target" not in spec else None),
        )
        flight_key = key or f"job:{job_id}"
        self._live[job_id] = job
        self._done[job_id] = anyio.Event()
        self._keys[job_id] = flight_key
        self._key_jobs[flight_key] = job_id
        return job

    async def _wait_flight(self, job: Job, key: str, fn: Callable[[], Any], method: str,
                           peer: Peer | None, detail: str | None = None) -> dict[str, Any]:
        try:
            return await self._coalescer.run(key, fn, method=method, model=job.model, peer=peer,
                                             detail=detail)
        except CallFailed as exc:
            if not exc.data.get("cancelled"):
                raise
            # Cancelled for everyone: answer with the job's honest final record.
            done = self._done.get(job.id)
            if done is not None:
                with anyio.CancelScope(shield=True):
                    await done.wait()
            return await self.get(job.id)

    # the run -----------------------------------------------------------------------------

    async def _run(self, job: Job, executable: str) -> dict[str, Any]:
        try:
            await self._save(job)
            self._emit(job)
            if job.target is not None:
                await self._execute_remote(job)
            else:
                async with self._model_lock(job), self._slots:
                    await self._execute(job, executable)
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await self._finish_cancelled(job)
            raise
        except SwampdError as exc:
            await self._finish(job, JobState.FAILED,
                               error={"message": exc.message, "code": exc.kind})
        except OSError as exc:  # log files, /proc, a full state dir: the errno, not the raw text
            await self._finish(job, JobState.FAILED, error={
                "message": f"the job could not be run ({_cause(exc)}: {os.strerror(exc.errno or 0)})",
                "code": "internal"})
        except Exception as exc:  # noqa: BLE001 - a record must never stay queued or running
            log.error("job %s failed outside its process: %s", job.id, type(exc).__name__)
            await self._finish(job, JobState.FAILED, error={
                "message": f"the job could not be run ({type(exc).__name__})", "code": "internal"})
        finally:
            self._forget(job)
        return self._view(job)

    def _model_lock(self, job: Job) -> AbstractAsyncContextManager[Any]:
        if job.kind not in SWAMP_RUNS:
            return nullcontext()
        ident = (job.spec["repo"], job.spec["model"])
        lock = self._model_locks.get(ident)
        if lock is None:
            lock = self._model_locks[ident] = anyio.Lock()
        return lock

    async def _execute_remote(self, job: Job) -> None:
        assert self._remote is not None and job.target is not None and job.log_path is not None
        spec = {k: v for k, v in job.spec.items() if k != "target"}
        if job.id in self._env_values:
            spec["env"] = self._env_values[job.id]
        log_path = job.log_path
        await anyio.to_thread.run_sync(_append_lines, log_path, [])

        async def log(lines: list[str]) -> None:
            await anyio.to_thread.run_sync(_append_lines, log_path, lines)

        async def started(ref: dict[str, Any]) -> None:
            first = job.state is not JobState.RUNNING  # a serve run's id may come in two steps
            job.remote = ref
            if first:
                job.state = JobState.RUNNING
                job.started_at = time.time()
            await self._save(job)
            if first:
                self._emit(job)

        run = RemoteRun(job_id=job.id, kind=job.kind.value, spec=spec, target=job.target,
                        dedupe=job.dedupe_key is not None, log=log, started=started)
        self._remote_runs[job.id] = run
        outcome = await self._remote.run(run)
        await self._finish(job, JobState(outcome.state), exit_code=outcome.exit_code, result=outcome.result,
                           error=outcome.error)

    async def _execute(self, job: Job, executable: str) -> None:
        spec = job.spec
        if job.id in self._env_values:
            spec = {**spec, "env": self._env_values[job.id]}
        launch = drivers.launch(job.kind, spec, swamp_executable=executable,
                                base_env=self._base_env, job_id=job.id)
        # Room for the outcome first: a job whose end could not be recorded is not started (OSError).
        await anyio.to_thread.run_sync(outcomes.reserve, self._log_dir, job.id)
        log_file, out = await anyio.to_thread.run_sync(self._open_outputs, job)
        try:
            proc = await process.spawn(launch.argv, cwd=launch.cwd, env=launch.env,
                                       stdout=out or log_file, stderr=log_file)
        finally:
            log_file.close()
            if out is not None:
                out.close()
        self._procs[job.id] = proc
        job.pid = job.pgid = proc.pid
        job.proc_start = process.proc_start_time(proc.pid)
        job.state = JobState.RUNNING
        job.started_at = time.time()
        await self._save(job)
        self._emit(job)
        try:
            code = await proc.wait()
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await process.terminate(proc, proc.pid, self.settings.kill_grace, job.id)
            raise
        with anyio.CancelScope(shield=True):
            # A job owns what it started: whatever its main process left behind goes too, also
            # what left the group (setsid) but is still its descendant or carries its SWAMPD_JOB_ID.
            await process.kill_leftovers(proc.pid, job.id)
        await self._complete(job, code)

    def _open_outputs(self, job: Job) -> tuple[Any, Any]:
        assert job.log_path is not None
        log_file = open(job.log_path, "ab")  # handed to the child; closed by the caller
        out = open(job.stdout_path, "wb") if job.stdout_path else None
        return log_file, out

    async def _complete(self, job: Job, code: int) -> None:
        if job.kind is JobKind.SWAMP_CLI:  # swamp's own output is the answer; the record keeps the code
            error = None if code == 0 else {"message": f"swamp exited with code {code}", "code": "exit_status",
                                            "exit_code": code}
            await self._finish(job, JobState.SUCCEEDED if code == 0 else JobState.FAILED, exit_code=code,
                               result={"exit_code": code}, error=error)
        elif job.kind is not JobKind.COMMAND:
            stdout, stderr = await anyio.to_thread.run_sync(self._read_outputs, job)
            result, error = drivers.parse_swamp_output(code, stdout, stderr)
            state = JobState.SUCCEEDED if error is None else JobState.FAILED
            await self._finish(job, state, exit_code=code, result=result, error=error)
        else:
            error = None if code == 0 else {"message": f"exited with code {code}",
                                            "code": "exit_status", "exit_code": code}
            state = JobState.SUCCEEDED if code == 0 else JobState.FAILED
            await self._finish(job, state, exit_code=code, result={"exit_code": code}, error=error)

    @staticmethod
    def _read_outputs(job: Job) -> tuple[bytes, bytes]:
        def tail(path: str | None) -> bytes:
            if not path:
                return b""
            try:
                with open(path, "rb") as fh:
                    fh.seek(0, os.SEEK_END)
                    size = fh.tell()
                    fh.seek(max(0, size - MAX_LOG_READ))
                    return fh.read()
            except OSError:
                return b""

        return tail(job.stdout_path), tail(job.log_path)

    async def _finish_cancelled(self, job: Job) -> None:
        proc = self._procs.get(job.id)
        if proc is not None and proc.returncode is None:
            await process.terminate(proc, proc.pid, self.settings.kill_grace, job.id)
        reason = self._cancel_reasons.get(job.id, "every waiter left")
        error: dict[str, Any] = {"message": reason, "code": "cancelled"}
        run = self._remote_runs.get(job.id)
        if run is not None and run.cancel_note:
            error["remote"] = run.cancel_note  # how the cancel went where the job ran
        await self._finish(job, JobState.CANCELLED,
                           exit_code=proc.returncode if proc is not None else None, error=error)

    async def _finish(self, job: Job, state: JobState, *, exit_code: int | None = None,
                      result: Any = None, error: dict[str, Any] | None = None) -> None:
        if job.state in TERMINAL:
            return
        job.state = state
        job.exit_code = exit_code
        job.result = result
        job.error = error
        job.ended_at = time.time()
        await self._save(job)
        self._emit(job)

    def _forget(self, job: Job) -> None:
        self._live.pop(job.id, None)
        self._procs.pop(job.id, None)
        self._remote_runs.pop(job.id, None)
        self._cancel_reasons.pop(job.id, None)
        self._env_values.pop(job.id, None)
        key = self._keys.pop(job.id, None)
        if key is not None and self._key_jobs.get(key) == job.id:
            del self._key_jobs[key]
        done = self._done.pop(job.id, None)
        if done is not None:
            done.set()

    # queries -----------------------------------------------------------------------------

    async def get(self, job_id: str) -> dict[str, Any]:
        if not isinstance(job_id, str) or not job_id:
            raise InvalidParams("id must be a job id string")
        job = self._live.get(job_id) or self._unsaved.get(job_id)
        if job is None:
            job = await anyio.to_thread.run_sync(self._store.get, job_id)
        if job is None:
            raise NotFound(f"no job {job_id}")
        return self._view(job)

    async def list(self, states: list[str] | None = None, limit: int = 100,
                   created_since: float | None = None) -> list[dict[str, Any]]:
        if states is not None:
            for s in states:
                if s not in JobState.__members__.values():
                    raise InvalidParams(f"unknown job state {s!r}")
        if not isinstance(limit, int) or limit < 1:
            raise InvalidParams("limit must be a positive integer")
        await self._flush_unsaved()
        records = await anyio.to_thread.run_sync(self._store.list, states, limit, created_since)
        by_id = {job.id: self._live.get(job.id, job) for job in records}
        by_id.update(self._unsaved)  # what the database could not take is the truth
        jobs = [j for j in by_id.values() if (states is None or str(j.state) in states)
                and (created_since is None or j.created_at >= created_since)]
        jobs.sort(key=lambda j: j.created_at, reverse=True)
        return [self._view(self._live.get(j.id, j)) for j in jobs[:limit]]

    async def wait(self, job_id: str, timeout: float | None = None,
                   peer: Peer | None = None) -> dict[str, Any]:
        """Wait for a job to end, as one more waiter of its run; returns the final record."""
        record = await self.get(job_id)
        if JobState(record["state"]).terminal:
            return record
        job = self._live.get(job_id)
        key = self._keys.get(job_id)
        if job is None or key is None or self._coalescer.get(key) is None:
            done = self._done.get(job_id)
            if done is not None:
                await done.wait()
            return await self.get(job_id)

        async def fn() -> dict[str, Any]:  # never runs: the flight exists
            raise CallFailed("the job ended before it could be joined")

        method = f"jobs.{job.kind.value}"
        if timeout is None:
            return await self._wait_flight(job, key, fn, method, peer)
        with anyio.move_on_after(timeout):
            return await self._wait_flight(job, key, fn, method, peer)
        raise Timeout(f"job {job_id} did not finish within {timeout} s", id=job_id)

    async def logs(self, job_id: str, tail: int | None = None) -> dict[str, Any]:
        record = await self.get(job_id)
        data = await anyio.to_thread.run_sync(_read_from, record["log_path"], 0, MAX_LOG_READ)
        lines = data.decode("utf-8", "replace").splitlines()
        if tail is not None:
            lines = lines[-tail:] if tail > 0 else []
        return {"id": job_id, "state": record["state"], "lines": lines}

    async def follow(self, job_id: str) -> AsyncIterator[builtins.list[str]]:
        """Yield the job's log lines as they are written, until the job has ended."""
        record = await self.get(job_id)
        path = record["log_path"]
        offset = 0
        partial = b""
        while True:
            done = self._done.get(job_id)
            chunk = await anyio.to_thread.run_sync(_read_from, path, offset, LOG_CHUNK)
            if chunk:
                offset += len(chunk)
                *complete, partial = (partial + chunk).split(b"\n")
                if complete:
                    yield [line.decode("utf-8", "replace") for line in complete]
                continue
            if done is None:  # it had ended before this read: nothing more will come
                if partial:
                    yield [partial.decode("utf-8", "replace")]
                return
            with anyio.move_on_after(0.1):
                await done.wait()

    async def follow_outputs(self, job_id: str) -> AsyncIterator[tuple[int, bytes]]:
        """Yield (1, stdout bytes) and (2, stderr bytes) of a swamp run from its first byte, as
        they are written, until the job has ended and both are drained."""
        record = await self.get(job_id)
        paths = {1: record.get("stdout_path"), 2: record.get("log_path")}
        offsets = {1: 0, 2: 0}
        while True:
            done = self._done.get(job_id)
            moved = False
            for fd, path in paths.items():
                chunk = await anyio.to_thread.run_sync(_read_from, path, offsets[fd], LOG_CHUNK)
                if chunk:
                    offsets[fd] += len(chunk)
                    moved = True
                    yield fd, chunk
            if moved:
                continue
            if done is None:  # it had ended before this read: nothing more will come
                return
            with anyio.move_on_after(0.1):
                await done.wait()

    # cancel ------------------------------------------------------------------------------

    async def cancel(self, job_id: str, *, wait: float | None = None,
                     reason: str = "cancelled by request") -> dict[str, Any]:
        """Cancel one job: SIGTERM to its group, SIGKILL after the grace.

        Answers `cancelled` when the job is known to be cancelled within `wait` seconds
        (default: the kill grace plus a little), `cancellation_requested` when it is still
        stopping, `not_running` when it had already ended (its state says how).
        """
        record = await self.get(job_id)
        if JobState(record["state"]).terminal:
            return {"id": job_id, "status": "not_running", "state": record["state"]}
        self._cancel_reasons.setdefault(job_id, reason)
        key = self._keys.get(job_id)
        if key is not None and self._coalescer.get(key) is not None:
            self._coalescer.cancel(key, reason)
        done = self._done.get(job_id)
        budget = self.settings.kill_grace + 2 if wait is None else wait
        if done is not None:
            with anyio.move_on_after(budget):
                await done.wait()
        record = await self.get(job_id)
        if record["state"] == JobState.CANCELLED:
            status = "cancelled"
        elif JobState(record["state"]).terminal:
            status = "not_running"
        else:
            status = "cancellation_requested"
        return {"id": job_id, "status": status, "state": record["state"]}

    async def cancel_all(self, *, wait: float | None = None) -> builtins.list[dict[str, Any]]:
        out: list[dict[str, Any]] = []

        async def one(job_id: str) -> None:
            out.append(await self.cancel(job_id, wait=wait))

        async with anyio.create_task_group() as tg:
            for job_id in list(self._live):
                tg.start_soon(one, job_id)
        return out

    # restart reaping ---------------------------------------------------------------------

    async def _reap(self, job: Job) -> dict[str, Any]:
        """Settle a job left `queued`/`running` by a daemon that died.

        queued: cancelled (it never started). running and its leader still alive (same pid
        and start time): its group gets SIGTERM, then SIGKILL, and it is marked cancelled.
        running and its leader gone: marked failed (the exit status is lost) and any
        process left in its group is killed. A pid reused by another process is not touched.
        """
        action = "none"
        if job.target is not None:
            return await self._reap_remote(job)
        recorded = await anyio.to_thread.run_sync(outcomes.read, self._log_dir, job.id)
        if recorded is not None:
            return await self._apply_outcome(job, recorded)
        if job.state is JobState.QUEUED or job.pgid is None:
            state, code, msg = JobState.CANCELLED, "daemon_restart", "the daemon stopped before it ran"
        elif job.pid is not None and process.pid_alive(job.pid) and (
            job.proc_start is None or process.proc_start_time(job.pid) == job.proc_start
        ):
            with anyio.CancelScope(shield=True):
                await process.terminate(None, job.pgid, self.settings.kill_grace, job.id)
            action = "killed"
            state, code, msg = (JobState.CANCELLED, "daemon_restart",
                                "killed after a daemon restart: its daemon had died")
        else:
            reused = job.pid is not None and process.pid_alive(job.pid)
            if not reused and bool(await anyio.to_thread.run_sync(process.job_members, job.pgid, job.id)):
                with anyio.CancelScope(shield=True):
                    await process.kill_leftovers(job.pgid, job.id)
                action = "killed_leftovers"
            state, code, msg = (JobState.FAILED, "daemon_lost",
                                "its daemon died while it ran; the exit status is unknown")
        job.state = state
        job.error = {"message": msg, "code": code}
        job.ended_at = time.time()
        await self._save(job)
        self._emit(job)
        return {"id": job.id, "state": str(state), "action": action}

    async def _apply_outcome(self, job: Job, recorded: dict[str, Any]) -> dict[str, Any]:
        """A job whose end its daemon saw but could not put in the database (a full state dir)."""
        try:
            state = JobState(str(recorded.get("state")))
        except ValueError:
            state = JobState.FAILED
        if job.pgid is not None:  # it ended: anything it left must be gone already; make sure
            with anyio.CancelScope(shield=True):
                await process.kill_leftovers(job.pgid, job.id)
        job.state = state if state in TERMINAL else JobState.FAILED
        job.exit_code = recorded.get("exit_code")
        job.result = recorded.get("result")
        job.error = recorded.get("error")
        job.ended_at = recorded.get("ended_at") or time.time()
        await self._save(job)
        self._emit(job)
        return {"id": job.id, "state": str(job.state), "action": "outcome_recovered"}

    async def _reap_remote(self, job: Job) -> dict[str, Any]:
        """A job that ran elsewhere: its remote run is asked to stop (in the background)."""
        where = (job.remote or {}).get("host") or job.target
        if job.remote and self._remote is not None:
            self._remote.abandon(job.remote)
            state, code, msg, action = (JobState.FAILED, "daemon_lost",
                                        f"its daemon died while it ran on {where}; the remote run was asked to "
                                        "stop", "remote_cancel_requested")
        else:
            state, code, msg, action = (JobState.CANCELLED, "daemon_restart",
                                        f"the daemon stopped before {where} accepted it", "none")
        job.state = state
        job.error = {"message": msg, "code": code}
        job.ended_at = time.time()
        await self._save(job)
        self._emit(job)
        return {"id": job.id, "state": str(state), "action": action}

    # plumbing ----------------------------------------------------------------------------

    async def _require_started(self) -> None:
        if not self._started:
            await self.start()

    async def _save(self, job: Job) -> None:
        """Record `job`. A database that cannot take it (a full state dir) never makes a record lie:
        the job is kept in memory (served by get/list) and saved again at the next chance, and a
        terminal outcome also goes into the job's reserved outcome file for the next start."""
        key = self._keys.get(job.id)
        flight = self._coalescer.get(key) if key else None
        job.waiters = len(flight.waiters) if flight is not None else 0
        row = JobStore.row(job)
        try:
            await anyio.to_thread.run_sync(self._store.save_row, row)
        except (sqlite3.Error, OSError, BackendUnavailable) as exc:
            first = job.id not in self._unsaved
            self._unsaved[job.id] = job
            if first:
                log.error("job %s: its record could not be saved (%s); kept in memory and retried", job.id,
                          _cause(exc))
            if job.state in TERMINAL:
                await anyio.to_thread.run_sync(outcomes.write, self._log_dir, job.id, _outcome(job))
            return
        self._unsaved.pop(job.id, None)
        if job.state in TERMINAL:
            await anyio.to_thread.run_sync(outcomes.remove, self._log_dir, job.id)
        if self._unsaved:
            await self._flush_unsaved()

    async def _flush_unsaved(self) -> None:
        """Save again what the database could not take before (once there is room)."""
        for job in list(self._unsaved.values()):
            try:
                await anyio.to_thread.run_sync(self._store.save_row, JobStore.row(job))
            except (sqlite3.Error, OSError, BackendUnavailable):
                return  # still no room: try again later
            if self._unsaved.get(job.id) is job:
                del self._unsaved[job.id]
            if job.state in TERMINAL:
                await anyio.to_thread.run_sync(outcomes.remove, self._log_dir, job.id)

    def _view(self, job: Job) -> dict[str, Any]:
        out = job.to_dict()
        key = self._keys.get(job.id)
        flight = self._coalescer.get(key) if key else None
        if flight is not None:
            out["waiters"] = len(flight.waiters)  # live; else as saved at the last transition
        out["held"] = bool(flight is not None and flight.held)
        return out

    def _emit(self, job: Job) -> None:
        self._publish(TOPIC, {
            "type": "job.state", "id": job.id, "kind": str(job.kind), "state": str(job.state),
            "model": job.model, "method": job.method, "exit_code": job.exit_code, "target": job.target,
        })


def _outcome(job: Job) -> dict[str, Any]:
    return {"state": str(job.state), "exit_code": job.exit_code, "error": job.error, "result": job.result,
            "ended_at": job.ended_at}


def _cause(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return errno.errorcode.get(exc.errno or 0, type(exc).__name__)
    return f"{type(exc).__name__}: {exc}" if isinstance(exc, sqlite3.Error) else type(exc).__name__


def _only(spec: Mapping[str, Any], *names: str) -> dict[str, Any]:
    if not isinstance(spec, Mapping):
        raise InvalidParams("spec must be an object")
    unknown = sorted(set(spec) - set(names))
    if unknown:
        raise InvalidParams(f"unknown spec field(s): {', '.join(unknown)}")
    return dict(spec)


def _append_lines(path: str, lines: list[str]) -> None:
    with open(path, "ab") as fh:
        for line in lines:
            fh.write(line.encode("utf-8", "replace") + b"\n")


def _read_from(path: str | None, offset: int, size: int) -> bytes:
    if not path:
        return b""
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            return fh.read(size)
    except OSError:
        return b""

