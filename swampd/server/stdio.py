"""`swampd --stdio`: relay one client on stdin/stdout to the user's daemon (nix-daemon style).

`ssh HOST swampd --stdio` gives a remote client the same protocol and the same warm
daemon as a local one; the daemon itself never listens on the network.
"""

from __future__ import annotations

import os
import sys
import threading

from swampd.client import DaemonUnavailable, RpcError, connect
from swampd.envvars import ConfigError


def _pump(read_fd: int, write: object) -> None:
    while True:
        try:
            data = os.read(read_fd, 65536)
        except OSError:
            data = b""
        if not data:
            break
        write(data)  # type: ignore[operator]


def run_stdio() -> int:
    try:
        client = connect()
    except (DaemonUnavailable, OSError, RpcError, ConfigError) as exc:
        sys.stderr.write(f"swampd --stdio: {exc}\n")
        return 1
    client.settimeout(None)  # the relay waits on the raw socket as long as the peer is there
    sock = client._sock  # the relay works on raw bytes: no framing changes
    stdout_fd = sys.stdout.fileno()

    def to_stdout(data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(stdout_fd, view)
            view = view[written:]

    def from_stdin() -> None:
        _pump(sys.stdin.fileno(), sock.sendall)
        try:
            sock.shutdown(1)  # SHUT_WR: the daemon answers what it has, then closes
        except OSError:
            pass

    reader = threading.Thread(target=from_stdin, daemon=True)
    reader.start()
    _pump(sock.fileno(), to_stdout)
    client.close()
    return 0
