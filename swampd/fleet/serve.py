"""Dispatch to swamp's own distributed engine: a job whose target is a `swamp serve` endpoint.

swampd speaks serve's WebSocket protocol itself (swamp's `src/serve/protocol.ts`, the one the
real CLI's `--server` flag speaks): one `model.method.run` or `workflow.run` request, then the
run's events until `done`. So nothing is spawned per dispatch and the token exists only in this
daemon's memory and in the `Authorization: Bearer` header of the upgrade request: never in an
argv, an environment, a file of ours, a log, an event or a record.

- `run.accepted` / workflow `started` give the run id (what a cancel names), and the job is running.
- `method_output` lines become the job's log, live; workflow step events become `[swamp]` lines.
- `completed` carries the run view, exactly what `swamp ... --server URL --json` prints: it is the
  job's result. `cancelled`, an `error` event or an `error` frame end the job accordingly.
- Cancelling the job sends `cancel` for the run id (serve's detached runs are keyed by it; a
  request-id cancel would only detach the stream) and waits, bounded, for the server to confirm.
  A workflow step placed on a worker is cancelled there by serve.
- A dropped connection is re-attached (`run.attach` after the last event's seq), as the CLI does.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio

from swampd.errors import (
    BackendUnavailable,
    CallFailed,
    InvalidInput,
    PermissionDenied,
    SwampdError,
    Timeout,
)
from swampd.fleet.settings import ServeEntry
from swampd.jobs.remote import RemoteOutcome, RemoteRun

if TYPE_CHECKING:
    from swampd.fleet.service import FleetService

log = logging.getLogger("swampd.fleet")

MAX_FRAME = 16 * 1024 * 1024
REATTACH_TRIES = 3
RevealSecret = Callable[[str, str, str | None, str], Awaitable[str]]
"""(vault, key, repo, caller) -> the secret's value."""


def http_base(url: str) -> str:
    return url.replace("ws://", "http://", 1).replace("wss://", "https://", 1).rstrip("/")


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)


class ServeDispatcher:
    def __init__(self, fleet: FleetService, reveal: RevealSecret | None = None) -> None:
        self.fleet = fleet
        self._reveal = reveal

    # -- the token -------------------------------------------------------------------------

    async def token(self, entry: ServeEntry) -> str | None:
        """The endpoint's token, from the vault or a private file; None when it has none."""
        if entry.token_secret:
            if self._reveal is None:
                raise InvalidInput(f"serve endpoint {entry.name} names a vault secret but this daemon has no vault")
            vault, _, key = entry.token_secret.partition("/")
            value = await self._reveal(vault, key, entry.token_repo or None,
                                       f"swampd:fleet.dispatch:serve={entry.name}")
            return value.strip()
        if entry.token_file:
            return await anyio.to_thread.run_sync(_read_token_file, entry.name, entry.token_file)
        return None

    # -- a run -----------------------------------------------------------------------------

    async def run(self, entry: ServeEntry, run: RemoteRun) -> RemoteOutcome:
        request = _request(run)
        token = await self.token(entry)
        state = _RunState(entry, run)
        attempts = 0
        try:
            while True:
                try:
                    async with self._connect(entry, token) as ws:
                        state.ws = ws
                        try:
                            await state.send(request)
                            outcome = await state.consume()
                        except anyio.get_cancelled_exc_class():
                            with anyio.CancelScope(shield=True):  # while the socket is still open
                                run.cancel_note.update(await self._cancel(entry, token, state))
                            raise
                    if outcome is not None:
                        return outcome
                    reason = "the connection closed before the run ended"
                except _Dropped as exc:
                    reason = exc.reason
                if state.run_id is None or attempts >= REATTACH_TRIES:
                    raise BackendUnavailable(f"swamp serve {entry.name}: {reason}", host=entry.name)
                attempts += 1
                await run.log([f"[swampd] {reason}; re-attaching to run {state.run_id}"])
                await anyio.sleep(min(2 ** attempts, 5))
                request = state.attach_request()
        except anyio.get_cancelled_exc_class():
            if not run.cancel_note:  # cancelled between connections
                with anyio.CancelScope(shield=True):
                    run.cancel_note.update(await self._cancel(entry, token, state))
            raise

    def _connect(self, entry: ServeEntry, token: str | None) -> Any:
        from websockets.asyncio.client import connect

        headers = {"Authorization": f"Bearer {token}"} if token else None
        return _Connection(connect(ws_url(entry.url), additional_headers=headers, proxy=None,
                                   open_timeout=self.fleet.settings.connect_timeout,
                                   max_size=MAX_FRAME, ping_interval=20, ping_timeout=20,
                                   close_timeout=5, user_agent_header="swampd"), entry)

    async def _cancel(self, entry: ServeEntry, token: str | None, state: _RunState) -> dict[str, Any]:
        """Cancel the run by its id over the open socket and wait for serve to confirm (bounded)."""
        budget = self.fleet.settings.cancel_timeout
        with anyio.move_on_after(budget):
            try:
                if state.ws is not None and state.open and state.run_id is None:
                    await state.read_until_run_id(min(5.0, budget / 2))  # a detached run is cancelled by id
                if state.ws is not None and state.open:
                    await state.send({"type": "cancel", "id": state.run_id or state.request_id})
                    if await state.drain_cancel():
                        return {"status": "cancelled", "run_id": state.run_id, "via": "socket"}
            except (_Dropped, SwampdError):
                pass
        if state.run_id is not None:  # the socket is gone: serve's HTTP cancel endpoint
            try:
                status = await self._http_cancel(entry, token, state.kind, state.run_id)
                return {"status": status, "run_id": state.run_id, "via": "http"}
            except SwampdError as exc:
                return {"status": "unconfirmed", "run_id": state.run_id, "message": exc.message}
        return {"status": "unconfirmed", "message": f"swamp serve {entry.name} did not confirm within {budget:g}s"}

    async def _http_cancel(self, entry: ServeEntry, token: str | None, kind: str, run_id: str) -> str:
        url = f"{http_base(entry.url)}/api/v1/cancel/{kind}/{run_id}"
        timeout = self.fleet.settings.cancel_timeout

        def post() -> str:
            import urllib.error
            import urllib.request

            request = urllib.request.Request(url, method="POST", data=b"")
            if token:
                request.add_header("Authorization", f"Bearer {token}")
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:
                    return str(json.loads(response.read(65536)).get("status", "unknown"))
            except urllib.error.HTTPError as exc:
                if exc.code == 404:
                    return "not_running"
                raise CallFailed(f"swamp serve {entry.name} answered the cancel with HTTP {exc.code}") from None
            except (OSError, ValueError):
                raise BackendUnavailable(f"swamp serve {entry.name} is unreachable") from None

        return await anyio.to_thread.run_sync(post, abandon_on_cancel=True)

    async def cancel_orphan(self, ref: dict[str, Any]) -> None:
        """Cancel a run whose daemon died while it waited for it (called after a restart)."""
        entry = self.fleet.entry(str(ref.get("host")))
        if isinstance(entry, ServeEntry) and ref.get("run_id"):
            await self._http_cancel(entry, await self.token(entry), str(ref.get("kind", "method-run")),
                                    str(ref["run_id"]))


class _Dropped(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Connection:
    """`async with`: the websocket, with connect errors turned into swampd errors (never the token)."""

    def __init__(self, connecting: Any, entry: ServeEntry) -> None:
        self._connecting = connecting
        self._entry = entry
        self._ws: Any = None

    async def __aenter__(self) -> Any:
        from websockets.exceptions import InvalidHandshake, InvalidStatus

        name = self._entry.name
        try:
            self._ws = await self._connecting
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise PermissionDenied(f"swamp serve {name} refused the token (HTTP {status}); check the endpoint's "
                                       "token_secret or token_file", host=name) from None
            raise BackendUnavailable(f"swamp serve {name} refused the connection (HTTP {status})", host=name) from None
        except InvalidHandshake:
            raise BackendUnavailable(f"swamp serve {name} did not speak WebSocket at {self._entry.url}",
                                     host=name) from None
        except TimeoutError:
            raise Timeout(f"swamp serve {name} did not answer within the connect timeout", host=name) from None
        except OSError as exc:
            raise BackendUnavailable(f"swamp serve {name} at {self._entry.url} is unreachable "
                                     f"({exc.strerror or type(exc).__name__})", host=name) from None
        return self._ws

    async def __aexit__(self, *exc: object) -> None:
        with anyio.CancelScope(shield=True), anyio.move_on_after(5):
            await self._ws.close()


def _request(run: RemoteRun) -> dict[str, Any]:
    spec = run.spec
    if spec.get("env"):
        raise InvalidInput("a swamp serve endpoint runs with its own environment: env is not sent")
    inputs = spec.get("inputs") or {}
    if run.kind == "swamp":
        payload = {"type": "model.method.run",
                   "payload": {"modelIdOrName": spec["model"], "methodName": spec["method"], "inputs": inputs}}
    elif run.kind == "workflow":
        payload = {"type": "workflow.run", "payload": {"workflowIdOrName": spec["workflow"], "inputs": inputs}}
    else:
        raise InvalidInput("a swamp serve endpoint runs model methods and workflows, not commands")
    return {**payload, "id": f"swampd-{run.job_id}-{uuid.uuid4().hex[:8]}"}


class _RunState:
    """What one dispatch has seen so far: ids, the last event's seq, the outcome."""

    def __init__(self, entry: ServeEntry, run: RemoteRun) -> None:
        self.entry = entry
        self.run = run
        self.kind = "workflow-run" if run.kind == "workflow" else "method-run"
        self.ws: Any = None
        self.request_id = ""
        self.run_id: str | None = None
        self.last_seq = 0
        self.started = False
        self.open = False
        self.outcome: RemoteOutcome | None = None

    async def send(self, message: dict[str, Any]) -> None:
        from websockets.exceptions import ConnectionClosed

        if message.get("type") != "cancel":
            self.request_id = str(message["id"])
        try:
            await self.ws.send(json.dumps(message))
            self.open = True
        except ConnectionClosed:
            self.open = False
            raise _Dropped("the connection closed") from None

    def attach_request(self) -> dict[str, Any]:
        return {"type": "run.attach", "id": f"swampd-{self.run.job_id}-{uuid.uuid4().hex[:8]}",
                "payload": {"runId": self.run_id, "afterSeq": self.last_seq}}

    async def _next(self) -> dict[str, Any]:
        """The next frame of this request (others on the socket are skipped)."""
        from websockets.exceptions import ConnectionClosed

        while True:
            try:
                raw = await self.ws.recv()
            except ConnectionClosed:
                self.open = False
                raise _Dropped("the connection closed before the run ended") from None
            if not isinstance(raw, str):
                continue
            try:
                message = json.loads(raw)
            except ValueError:
                continue
            if isinstance(message, dict) and message.get("id") == self.request_id:
                return message

    async def consume(self) -> RemoteOutcome | None:
        """Read the run's frames until it ends; the outcome (None: the stream ended without one)."""
        while True:
            message = await self._next()
            kind = message.get("type")
            if kind == "event":
                await self._event(message.get("event") or {})
            elif kind == "done":
                return self.outcome or RemoteOutcome(state="failed", exit_code=1, error={
                    "message": f"swamp serve {self.entry.name} ended the run without a result", "code": "bad_output",
                    "host": self.entry.name})
            elif kind == "error":
                error = message.get("error") or {}
                code = str(error.get("code", "error"))
                text = str(error.get("message", "the run failed"))
                if self.outcome is not None:
                    return self.outcome
                state = "cancelled" if code == "cancelled" else "failed"
                return RemoteOutcome(state=state, exit_code=None if state == "cancelled" else 1,
                                     error={"message": text, "code": code, "host": self.entry.name})
            elif kind in ("run.elsewhere", "run.interrupted"):
                raise _Dropped(f"serve answered {kind}")

    async def read_until_run_id(self, seconds: float) -> None:
        """Read on (briefly) until serve has named the run: a request sent just before a cancel."""
        with anyio.move_on_after(seconds):
            while self.run_id is None and self.outcome is None:
                message = await self._next()
                if message.get("type") == "event":
                    await self._event(message.get("event") or {})
                elif message.get("type") in ("done", "error"):
                    return

    async def drain_cancel(self) -> bool:
        """After a cancel: read until serve says the run ended; True when it was cancelled."""
        while True:
            message = await self._next()
            kind = message.get("type")
            if kind == "event":
                await self._event(message.get("event") or {})
                if self.outcome is not None and self.outcome.state == "cancelled":
                    return True
            elif kind == "error":
                return str((message.get("error") or {}).get("code")) == "cancelled"
            elif kind == "done":
                # A run that stops because of the cancel ends with `done` and no result; one that
                # completed first has its `completed` outcome.
                return self.outcome is None or self.outcome.state == "cancelled"

    async def _event(self, event: dict[str, Any]) -> None:
        if isinstance(event.get("seq"), int):
            self.last_seq = event["seq"]
        kind = event.get("kind")
        if kind in ("run.accepted", "started") and isinstance(event.get("runId"), str):
            self.run_id = event["runId"]  # a workflow's id changes at `started`: the later one counts
        if not self.started or (kind in ("run.accepted", "started") and self.run_id):
            await self._mark_started()
        if kind == "method_output" and isinstance(event.get("line"), str):
            await self.run.log([event["line"]])
        elif kind in ("step_started", "step_completed", "step_failed", "step_skipped"):
            step = "/".join(str(event[k]) for k in ("jobId", "stepId") if event.get(k)) or "?"
            line = f"[swamp] step {step} {kind.removeprefix('step_')}"
            if event.get("executor"):
                line += f" on {event['executor']}"  # "loopback" or the worker that ran it
            if kind == "step_failed" and event.get("error"):
                line += f": {event['error']}"
            await self.run.log([line])
        elif kind == "completed":
            view = event.get("run") or {}
            ok = view.get("status") == "succeeded"
            self.outcome = RemoteOutcome(
                state="succeeded" if ok else "failed", exit_code=0 if ok else 1, result=view,
                error=None if ok else {"message": f"the run {view.get('status', 'failed')}", "code": "run_failed",
                                       "host": self.entry.name})
        elif kind == "cancelled":
            self.outcome = RemoteOutcome(state="cancelled", result=event.get("run"),
                                         error={"message": str(event.get("reason") or "cancelled on the server"),
                                                "code": "cancelled", "host": self.entry.name})
        elif kind == "error":
            error = event.get("error") or {}
            self.outcome = RemoteOutcome(state="failed", exit_code=1, error={
                "message": str(error.get("message", "the run failed")), "code": str(error.get("code", "error")),
                "host": self.entry.name})

    async def _mark_started(self) -> None:
        ref = {"via": "serve", "host": self.entry.name, "url": self.entry.url, "kind": self.kind,
               "run_id": self.run_id, "request_id": self.request_id}
        if not self.started or ref["run_id"]:
            self.started = True
            await self.run.started(ref)


def _read_token_file(name: str, path: str) -> str:
    path = os.path.expanduser(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise InvalidInput(f"serve endpoint {name}: token_file {path} does not exist") from None
    except OSError as exc:
        raise InvalidInput(f"serve endpoint {name}: token_file {path} cannot be opened (errno {exc.errno})") from None
    try:
        st = os.fstat(fd)
        if st.st_uid != os.getuid() or st.st_mode & 0o077:
            raise PermissionDenied(f"serve endpoint {name}: token_file {path} must be yours and private (chmod 600)")
        data = os.read(fd, 64 * 1024)
    finally:
        os.close(fd)
    token = data.decode("utf-8", "replace").strip()
    if not token:
        raise InvalidInput(f"serve endpoint {name}: token_file {path} is empty")
    return token
