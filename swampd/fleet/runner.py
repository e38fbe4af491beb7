"""Jobs with a target: run on another host's daemon over its ssh session, or on a swamp serve endpoint.

ssh hosts: the job is submitted to the host's daemon detached (`jobs.submit wait=false`), so it
has an id there at once; its log is followed (`jobs.logs follow=true`, whose `jobs.log`
notifications come back over the same session) into our job's log as lines are written, while
`jobs.wait` waits for its end. If the session drops mid-run the runner reattaches (the remote job
runs on, held by its daemon) and skips the lines it already has. Cancelling our job sends
`jobs.cancel` to the host, which kills the remote process group.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import anyio

from swampd.errors import BackendUnavailable, InvalidInput, SwampdError, Unsupported
from swampd.fleet.settings import HostEntry, ServeEntry
from swampd.jobs.remote import RemoteOutcome, RemoteRun

if TYPE_CHECKING:
    from swampd.fleet.serve import ServeDispatcher
    from swampd.fleet.service import FleetService

log = logging.getLogger("swampd.fleet")

REATTACH_TRIES = 3
FOLLOW_DRAIN = 5.0
"""Seconds the log follow may lag behind the job's end before it is cut."""


class FleetJobRunner:
    def __init__(self, fleet: FleetService, serve: ServeDispatcher | None = None) -> None:
        self.fleet = fleet
        self.serve = serve

    def check_target(self, target: str, kind: str) -> None:
        entry = self.fleet.resolve(target)
        if isinstance(entry, ServeEntry):
            if kind == "command":
                raise InvalidInput(f"{entry.name} is a swamp serve endpoint: it runs model methods and "
                                   "workflows, not commands")
            if self.serve is None:
                raise Unsupported("dispatch to swamp serve is not available in this daemon")

    async def run(self, run: RemoteRun) -> RemoteOutcome:
        entry = self.fleet.resolve(run.target)
        if isinstance(entry, HostEntry):
            return await self._run_ssh(entry.name, run)
        assert self.serve is not None
        return await self.serve.run(entry, run)

    def abandon(self, ref: dict[str, Any]) -> None:
        async def cancel() -> None:
            try:
                if ref.get("via") == "ssh":
                    await self.fleet.call(ref["host"], "jobs.cancel", {"id": ref["id"]},
                                          timeout=self.fleet.settings.cancel_timeout)
                elif ref.get("via") == "serve" and self.serve is not None:
                    await self.serve.cancel_orphan(ref)
            except SwampdError as exc:
                log.warning("fleet: could not cancel orphaned remote job on %s (%s)", ref.get("host"), exc.kind)

        self.fleet.spawn(cancel)

    # -- ssh hosts -----------------------------------------------------------------------------

    async def _run_ssh(self, host: str, run: RemoteRun) -> RemoteOutcome:
        params: dict[str, Any] = {k: v for k, v in run.spec.items() if v is not None}
        params.update(kind=run.kind, wait=False, dedupe=run.dedupe)
        with anyio.CancelScope(shield=True):  # bounded by call_timeout; a cancel then names its id
            record = await self.fleet.call(host, "jobs.submit", params)
        remote_id = record["id"]
        written = [0]  # log lines of the remote job already in ours (kept across reattaches)
        try:
            await run.started({"via": "ssh", "host": host, "id": remote_id})
            for attempt in range(REATTACH_TRIES + 1):
                try:
                    final = await self._attach(host, remote_id, run, written)
                    break
                except SwampdError as exc:
                    if exc.kind not in ("backend_unavailable", "timeout"):
                        raise
                    if attempt == REATTACH_TRIES:
                        raise BackendUnavailable(
                            f"lost host {host} while its job {remote_id} ran there ({exc.message}); it may still "
                            f"be running: swamp fleet rpc {host} jobs.cancel '{{\"id\": \"{remote_id}\"}}'",
                            host=host, remote_id=remote_id) from None
                    await run.log([f"[swampd] the session to {host} dropped ({exc.message}); reattaching"])
                    await anyio.sleep(min(2 ** attempt, 5))
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                run.cancel_note.update(await self._cancel_ssh(host, remote_id))
            raise
        return RemoteOutcome(state=final["state"], exit_code=final.get("exit_code"), result=final.get("result"),
                             error=_with_host(final.get("error"), host, remote_id))

    async def _attach(self, host: str, remote_id: str, run: RemoteRun, written_lines: list[int]) -> dict[str, Any]:
        """Follow the remote job's log into ours and wait for its end; returns its final record.

        The follow replays the log from its first line: the lines we already have are skipped.
        """
        session = await self.fleet.session(host)
        skip = written_lines[0]
        send, receive = anyio.create_memory_object_stream[list[str]](1000)
        seen = 0

        def on_log(params: dict[str, Any]) -> None:
            if params.get("id") == remote_id and isinstance(params.get("lines"), list):
                try:
                    send.send_nowait([str(line) for line in params["lines"]])
                except anyio.WouldBlock:
                    log.warning("fleet: log lines of %s on %s dropped (the log writer is behind)", remote_id, host)

        remove = session.listen("jobs.log", on_log)
        followed = anyio.Event()
        written = anyio.Event()
        outcome: dict[str, Any] = {}
        try:
            async with anyio.create_task_group() as tg:

                async def follow() -> None:
                    try:
                        await session.call("jobs.logs", {"id": remote_id, "follow": True}, timeout=None)
                    except SwampdError:
                        pass  # the wait below reports what went wrong
                    finally:
                        send.close()
                        followed.set()

                async def write() -> None:
                    nonlocal seen
                    try:
                        async with receive:
                            async for lines in receive:
                                fresh = lines[max(0, skip - seen):] if seen < skip else lines
                                seen += len(lines)
                                if fresh:
                                    await run.log(fresh)
                                    written_lines[0] += len(fresh)
                    finally:
                        written.set()

                async def wait() -> None:
                    try:
                        outcome["final"] = await session.call("jobs.wait", {"id": remote_id}, timeout=None)
                        with anyio.move_on_after(FOLLOW_DRAIN):  # the stream ends right after the job
                            await followed.wait()
                            await written.wait()
                    except SwampdError as exc:
                        outcome["error"] = exc
                    tg.cancel_scope.cancel()

                tg.start_soon(follow)
                tg.start_soon(write)
                tg.start_soon(wait)
        finally:
            remove()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["final"]  # type: ignore[no-any-return]

    async def _cancel_ssh(self, host: str, remote_id: str) -> dict[str, Any]:
        try:
            answer = await self.fleet.call(host, "jobs.cancel", {"id": remote_id},
                                           timeout=self.fleet.settings.cancel_timeout)
            return {"host": host, "id": remote_id, "status": answer.get("status"), "state": answer.get("state")}
        except SwampdError as exc:
            return {"host": host, "id": remote_id, "status": "unconfirmed",
                    "message": f"the cancel could not be confirmed: {exc.message}"}


def _with_host(error: Any, host: str, remote_id: str) -> dict[str, Any] | None:
    if not isinstance(error, dict):
        return None
    return {**error, "host": host, "remote_id": remote_id}
