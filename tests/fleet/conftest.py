"""Fleet fixtures: a real sshd on loopback, a second swampd behind it, a local daemon that knows it."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.fleet.sshd import RemoteHome, SshServer

OTHER_PROTOCOL = REPO_ROOT / "tests" / "fixtures" / "other_protocol_swampd.py"
FAKE_SWAMP = REPO_ROOT / "tests" / "fixtures" / "fake_swamp.py"


@pytest.fixture(scope="session")
def sshd() -> Iterator[SshServer]:
    server = SshServer().start()
    yield server
    server.destroy()


@pytest.fixture
def remote_home(sshd: SshServer) -> Iterator[RemoteHome]:
    """The remote daemon's SWAMPD_HOME; its swamp CLI is the stand-in, its kill grace short."""
    home = RemoteHome(sshd.account)
    home.write("config.toml", "[jobs]\nkill_grace = 2.0\n")
    yield home
    home.destroy()


class SilentListener:
    """Accepts TCP connections and never says a word (a host whose sshd hangs)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    listener = SilentListener()
    yield listener.port
    listener.close()


def closed_port() -> int:
    with socket.socket() as s:  # bound and closed: nothing listens there now
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fleet_config(sshd: SshServer, remote_home: RemoteHome, *, aliases: dict[str, int | None] | None = None,
                 connect_timeout: float = 20.0, extra_hosts: str = "", fleet: str = "") -> str:
    ssh_config = sshd.client_config(aliases)
    return (
        "# written by the fleet tests\n"
        "[fleet]\n"
        f'ssh_config = "{ssh_config}"\n'
        f"connect_timeout = {connect_timeout}\n"
        "ping_interval = 0\n"
        f"{fleet}"
        "\n"
        '[fleet.hosts."remote"]\n'
        'destination = "fleet-remote"\n'
        'labels = ["linux", "test"]\n'
        f"command = {_q(remote_command(remote_home))}\n"
        f"{extra_hosts}"
    )


def remote_command(remote_home: RemoteHome) -> str:
    return remote_home.command(SWAMPD_SWAMP_EXECUTABLE=str(FAKE_SWAMP),
                               FAKE_SWAMP_COUNT=str(remote_home.path / "swamp-count"))


def _q(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture
def daemon_env(daemon_env: dict[str, str], swampd_home: Path, sshd: SshServer, remote_home: RemoteHome,
               silent_port: int) -> dict[str, str]:
    """A local daemon whose config names `remote` (the sshd's swampd), `dead` (nothing listens),
    `silent` (a port that accepts and never speaks) and `old` (another protocol version)."""
    dead = closed_port()
    extra = (
        '\n[fleet.hosts."dead"]\ndestination = "fleet-dead"\n'
        '\n[fleet.hosts."silent"]\ndestination = "fleet-silent"\nconnect_timeout = 3\n'
        f'\n[fleet.hosts."old"]\ndestination = "fleet-remote"\ncommand = {_q("python3 " + str(OTHER_PROTOCOL))}\n'
    )
    text = fleet_config(sshd, remote_home, aliases={"fleet-dead": dead, "fleet-silent": silent_port},
                        extra_hosts=extra)
    # the host vault: a service name of this test's own in the throwaway keyring
    text = f'[vault]\nkeyring_service = "swampd-fleet-{uuid.uuid4().hex[:8]}"\n\n' + text
    (swampd_home / "config.toml").write_text(text)
    return daemon_env


def events_of(client: Any, topic: str, predicate: Any, timeout: float = 30.0) -> dict[str, Any]:
    """The first event on `topic` whose data satisfies `predicate` (the client must be subscribed)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no matching {topic} event within {timeout}s")
        note = client.next_notification(timeout=remaining)
        params = note.get("params") or {}
        if note.get("method") == "events.event" and params.get("topic") == topic and predicate(params["data"]):
            return params["data"]


def replies_to(client: Any, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Every reply to `ids`, in whatever order they arrive (Client.wait_reply drops the others)."""
    replies: dict[int, dict[str, Any]] = {}
    while len(replies) < len(ids):
        message = client.read_message()
        if isinstance(message, dict) and message.get("id") in ids:
            replies[message["id"]] = message
    return replies
