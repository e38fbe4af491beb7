"""Dispatch through a real `swamp serve` with one real `swamp worker` connected.

The serve endpoint's token comes from the local daemon's vault (the keyring host vault) and travels
only in the WebSocket upgrade's Authorization header: the tests look for it in every process's
argv and environment, in logs, events and records.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swampd.client import RpcError
from tests.conftest import wait_until
from tests.fleet.conftest import replies_to
from tests.fleet.serve_world import REAL_SWAMP, ServeWorld

pytestmark = [pytest.mark.slow, pytest.mark.keyring]


@pytest.fixture(scope="module")
def world() -> Iterator[ServeWorld]:
    world = ServeWorld().create().start().enroll_worker()
    yield world
    world.destroy()


@pytest.fixture
def token() -> str:
    return f"serve-token-{uuid.uuid4().hex}"


@pytest.fixture
def daemon_env(daemon_env: dict[str, str], swampd_home: Path, world: ServeWorld, tmp_path: Path) -> dict[str, str]:
    """The local daemon knows `swamp` (the serve endpoint, token from its host vault) and runs the real
    swamp CLI for local jobs, with the world's swamp home."""
    config = swampd_home / "config.toml"
    config.write_text(config.read_text() + (
        f'\n[fleet.serve."swamp"]\nurl = "{world.url}"\ntoken_secret = "host/SWAMP_SERVE_TOKEN"\nlabels = ["serve"]\n'
        f'\n[fleet.serve."nowhere"]\nurl = "ws://127.0.0.1:{_closed_port()}"\n'))
    return {**daemon_env, "SWAMPD_SWAMP_EXECUTABLE": str(REAL_SWAMP), "HOME": str(world.home),
            "SWAMP_HOME": str(world.home / ".swamp"), "NO_COLOR": "1"}


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def serve_daemon(daemon, token: str):
    daemon.call("vault.put", {"vault": "host", "key": "SWAMP_SERVE_TOKEN", "value": token})
    return daemon


def versions(daemon, world: ServeWorld) -> list[int]:
    repo = daemon.call("repos.register", {"path": str(world.repo)})["name"]
    try:
        return daemon.call("data.versions", {"repo": repo, "type": "command/shell", "model": "echoer",
                                             "name": "result"})["versions"]
    except RpcError:
        return []


def test_a_method_run_through_serve_returns_swamps_own_result_and_logs(serve_daemon, world: ServeWorld,
                                                                       token: str) -> None:
    record = serve_daemon.call("jobs.submit", {"kind": "swamp", "target": "swamp", "model": "echoer",
                                               "method": "execute"})
    assert record["state"] == "succeeded", record
    assert record["remote"]["via"] == "serve" and record["remote"]["run_id"]
    view = record["result"]
    assert view["modelName"] == "echoer" and view["status"] == "succeeded"
    stdout = next(a for a in view["dataArtifacts"] if a["name"] == "result")["attributes"]["stdout"]
    assert stdout == "dispatched-line-1\ndispatched-line-2"
    assert serve_daemon.call("jobs.logs", {"id": record["id"]})["lines"] == ["dispatched-line-1", "dispatched-line-2"]
    # the token was read from the vault for this dispatch (audited), and is nowhere else
    audit = serve_daemon.call("vault.audit", {"vault": "host", "key": "SWAMP_SERVE_TOKEN"})["entries"]
    assert any(e["callerContext"] == "swampd:fleet.dispatch:serve=swamp" for e in audit)
    assert token not in repr(record) and token not in serve_daemon.log()


def test_a_workflow_step_runs_on_the_worker_and_its_data_reaches_the_local_hot_tier(
        serve_daemon, world: ServeWorld) -> None:
    before = versions(serve_daemon, world)
    finished = world.dispatches_finished()
    record = serve_daemon.call("jobs.submit", {"kind": "workflow", "target": "swamp", "workflow": "placed-echo"})
    assert record["state"] == "succeeded", record
    assert record["result"]["workflowName"] == "placed-echo" and record["result"]["status"] == "succeeded"
    lines = serve_daemon.call("jobs.logs", {"id": record["id"]})["lines"]
    assert lines == ["[swamp] step main/step started", "dispatched-line-1", "dispatched-line-2",
                     "[swamp] step main/step completed"]
    assert world.dispatches_finished() == finished + 1  # the worker ran it (its own log says so)
    wait_until(lambda: len(versions(serve_daemon, world)) == len(before) + 1, 30, "the new version in the listing")
    repo = serve_daemon.call("repos.register", {"path": str(world.repo)})["name"]
    got = serve_daemon.call("data.get", {"repo": repo, "type": "command/shell", "model": "echoer", "name": "result"})
    assert got["version"] == versions(serve_daemon, world)[-1] and "dispatched-line-2" in got["content"]


def test_cancel_is_forwarded_to_the_worker(serve_daemon, world: ServeWorld, token: str) -> None:
    record = serve_daemon.call("jobs.submit", {"kind": "workflow", "target": "swamp", "workflow": "placed-sleep",
                                               "wait": False})
    wait_until(lambda: "sleeping" in serve_daemon.call("jobs.logs", {"id": record["id"]})["lines"], 120,
               "the step to start on the worker")
    exposed = _all_process_text()
    answer = serve_daemon.call("jobs.cancel", {"id": record["id"], "wait": 60})
    assert answer["status"] == "cancelled", answer
    final = serve_daemon.call("jobs.get", {"id": record["id"]})
    assert final["state"] == "cancelled" and final["error"]["remote"]["status"] == "cancelled", final
    wait_until(lambda: "failed in" in world.worker_log.read_text(errors="replace").split("placed-sleep")[-1], 60,
               "the worker's dispatch to end")
    assert not world.sleepers()  # the worker's step process is gone
    assert token not in exposed  # while a dispatch ran: no argv or environment on the machine held it


def test_cancel_of_a_method_run_names_its_run(serve_daemon, world: ServeWorld) -> None:
    """serve runs a method run detached, keyed by its run id: a cancel naming the request would only
    detach the stream while the run went on; swampd's names the run."""
    record = serve_daemon.call("jobs.submit", {"kind": "swamp", "target": "swamp", "model": "sleeper",
                                               "method": "execute", "wait": False})
    wait_until(lambda: world.sleepers(), 120, "the method's process on the serve host")
    answer = serve_daemon.call("jobs.cancel", {"id": record["id"], "wait": 60})
    assert answer["status"] == "cancelled", answer
    final = serve_daemon.call("jobs.get", {"id": record["id"]})
    assert final["state"] == "cancelled", final
    assert final["error"]["remote"] == {"status": "cancelled", "run_id": final["remote"]["run_id"],
                                        "via": "socket"}, final
    wait_until(lambda: not world.sleepers(), 30, "the method's process to be gone")


def _all_process_text() -> str:
    chunks = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            for name in ("cmdline", "environ"):
                try:
                    chunks.append(Path(f"/proc/{entry}/{name}").read_bytes().decode(errors="replace"))
                except OSError:
                    pass
    return "\n".join(chunks)


def runs_on_disk(world: ServeWorld) -> int:
    """Versions of echoer's `result` in the serve repo (ground truth, not the hot tier)."""
    path = world.repo / ".swamp" / "data" / "command" / "shell" / world.echoer_id / "result"
    return len([p for p in path.iterdir() if p.name.isdigit()]) if path.exists() else 0


def test_identical_dispatches_coalesce(serve_daemon, world: ServeWorld) -> None:
    before = runs_on_disk(world)
    params = {"kind": "swamp", "target": "swamp", "model": "echoer", "method": "execute"}
    with serve_daemon.client() as client:
        ids = [client.request("jobs.submit", params) for _ in range(4)]
        replies = replies_to(client, ids)
    records = [replies[i]["result"] for i in ids]
    assert len({r["id"] for r in records}) < len(ids)  # some joined a flight in the air
    assert runs_on_disk(world) == before + len({r["id"] for r in records})


def test_a_local_workflow_job_runs_the_real_swamp(serve_daemon, world: ServeWorld) -> None:
    record = serve_daemon.call("jobs.submit", {"kind": "workflow", "workflow": "local-echo", "repo": str(world.repo)})
    assert record["state"] == "succeeded", serve_daemon.call("jobs.logs", {"id": record["id"]})
    assert record["result"]["workflowName"] == "local-echo" and record["remote"] is None


def test_serve_failures_are_clear(serve_daemon) -> None:
    failed = serve_daemon.call("jobs.submit", {"kind": "swamp", "target": "swamp", "model": "no-such-model",
                                               "method": "execute"})
    assert failed["state"] == "failed" and failed["error"]["host"] == "swamp"
    assert "no-such-model" in failed["error"]["message"]
    down = serve_daemon.call("jobs.submit", {"kind": "swamp", "target": "nowhere", "model": "m", "method": "x"})
    assert down["state"] == "failed" and down["error"]["code"] == "backend_unavailable"
    with pytest.raises(RpcError) as exc:
        serve_daemon.call("jobs.submit", {"kind": "command", "target": "swamp", "argv": ["true"]})
    assert exc.value.kind == "invalid_input"
    up, down = serve_daemon.call("fleet.ping", {"names": ["swamp", "nowhere"]})["hosts"]
    assert up["state"] == "up" and up["kind"] == "serve"
    assert down["state"] == "down" and down["error"]["kind"] == "backend_unavailable"


class RefusingServer:
    """Refuses every WebSocket upgrade with 401 and records its Authorization header: what serve's token
    auth answers a wrong token (serve.ts; its token mode needs a swamp-club login this offline machine
    cannot have, so the real refusal cannot be caused here)."""

    def __init__(self) -> None:
        import asyncio

        from websockets.asyncio.server import serve
        from websockets.datastructures import Headers
        from websockets.http11 import Response

        self.headers: list[str] = []
        self.port = _closed_port()
        self._stop: asyncio.Future[None]
        ready = threading.Event()

        def refuse(connection: object, request: Any) -> Response:  # websockets' process_request hook
            self.headers.append(request.headers.get("Authorization", ""))
            return Response(401, "Unauthorized", Headers(), b"")

        async def main() -> None:
            self._stop = asyncio.get_running_loop().create_future()
            async with serve(lambda ws: None, "127.0.0.1", self.port, process_request=refuse):
                ready.set()
                await self._stop

        self._thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
        self._thread.start()
        ready.wait(10)

    def close(self) -> None:
        loop = self._stop.get_loop()
        loop.call_soon_threadsafe(self._stop.set_result, None)
        self._thread.join(10)


def test_a_refused_token_is_permission_denied_and_never_shown(serve_daemon, token: str) -> None:
    server = RefusingServer()
    try:
        serve_daemon.call("fleet.add", {"name": "strict", "url": f"ws://127.0.0.1:{server.port}",
                                        "token_secret": "host/SWAMP_SERVE_TOKEN"})
        record = serve_daemon.call("jobs.submit", {"kind": "swamp", "target": "strict", "model": "m", "method": "x"})
    finally:
        server.close()
    assert record["state"] == "failed" and record["error"]["code"] == "permission_denied"
    assert "HTTP 401" in record["error"]["message"] and token not in repr(record)
    assert server.headers == [f"Bearer {token}"]  # the vault's token went in the upgrade's header


def test_a_token_file_must_be_private(serve_daemon, world: ServeWorld, tmp_path: Path, token: str) -> None:
    path = tmp_path / "token"
    path.write_text(token + "\n")
    path.chmod(0o644)
    serve_daemon.call("fleet.add", {"name": "byfile", "url": world.url, "token_file": str(path)})
    record = serve_daemon.call("jobs.submit", {"kind": "swamp", "target": "byfile", "model": "echoer",
                                               "method": "execute"})
    assert record["state"] == "failed" and record["error"]["code"] == "permission_denied"
    assert token not in repr(record)
    path.chmod(0o600)
    record = serve_daemon.call("jobs.submit", {"kind": "swamp", "target": "byfile", "model": "echoer",
                                               "method": "execute"})
    assert record["state"] == "succeeded"
