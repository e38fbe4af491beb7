"""The `[fleet]` table of the host config: transport settings, ssh hosts and `swamp serve` endpoints.

```toml
[fleet]
connect_timeout = 10          # ssh connect + remote handshake, seconds
call_timeout = 30             # one remote call (long waits such as a job's end are not bounded)
ssh_config = "~/.ssh/config"  # optional `ssh -F` file

[fleet.hosts.build-1]         # swamp fleet add build-1 ci@build-1.internal --label gpu
destination = "ci@build-1.internal"   # anything `ssh` accepts, also ssh://user@host:port
labels = ["gpu"]
command = "swampd --stdio"    # what runs on the host (default: [fleet] remote_command)

[fleet.serve.prod]            # a `swamp serve` endpoint; the token never lives in this file
url = "ws://swamp.internal:9090"
token_secret = "host/SWAMP_SERVE_TOKEN"   # VAULT/KEY in the vault, or token_file = PATH (0600)
```
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from swampd.config import settings_from_table
from swampd.errors import InvalidInput

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:=/-]{0,62}$")
HOSTS, SERVE = "hosts", "serve"


@dataclass(frozen=True)
class FleetSettings:
    ssh: str = "ssh"
    """The OpenSSH client (a name on PATH or a path)."""
    ssh_config: str = ""
    """An `ssh -F` config file; empty: ssh's own defaults (~/.ssh/config)."""
    remote_command: str = "swampd --stdio"
    """What a host runs when its entry names no `command`."""
    connect_timeout: float = 10.0
    """Seconds for ssh to connect and the remote daemon to answer its handshake."""
    call_timeout: float = 30.0
    """Seconds one remote call may take (a job's wait and log stream are not bounded by it)."""
    cancel_timeout: float = 15.0
    """Seconds a remote cancel may take to be confirmed (remote kill grace included)."""
    ping_interval: float = 30.0
    """Seconds between pings of hosts with an open session (0: only explicit pings)."""
    session_idle: float = 300.0
    """Seconds an unused session stays open before it is closed (like ssh's ControlPersist)."""
    push_chunk_bytes: int = 256 * 1024
    """Bytes per chunk of an extension push (one progress step each)."""

    @classmethod
    def from_mapping(cls, table: dict[str, Any]) -> FleetSettings:
        own = {k: v for k, v in table.items() if k not in (HOSTS, SERVE)}
        settings = settings_from_table(cls, own, "fleet")
        if settings.connect_timeout <= 0 or settings.call_timeout <= 0 or settings.cancel_timeout <= 0:
            raise InvalidInput("[fleet] connect_timeout, call_timeout and cancel_timeout must be > 0")
        if settings.ping_interval < 0 or settings.session_idle < 0:
            raise InvalidInput("[fleet] ping_interval and session_idle must be >= 0")
        if not 4096 <= settings.push_chunk_bytes <= 4 * 1024 * 1024:
            raise InvalidInput("[fleet] push_chunk_bytes must be between 4096 and 4194304")
        if not settings.remote_command.strip():
            raise InvalidInput("[fleet] remote_command must not be empty")
        entries_from_table(table)  # the host and serve entries too: a bad one stops the daemon at start
        return settings

    @property
    def ssh_config_path(self) -> str:
        return os.path.expanduser(self.ssh_config) if self.ssh_config else ""

    def connect_timeout_for(self, entry: HostEntry) -> float:
        return entry.connect_timeout if entry.connect_timeout is not None else self.connect_timeout


def check_name(name: Any, what: str = "host name") -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InvalidInput(f"{what} {name!r} is not valid: letters, digits, '.', '_' and '-', "
                           "starting with a letter or digit, at most 63 characters")
    return name


def check_labels(labels: Any) -> tuple[str, ...]:
    if labels is None:
        return ()
    if not isinstance(labels, list | tuple) or not all(isinstance(label, str) for label in labels):
        raise InvalidInput("labels must be a list of strings")
    for label in labels:
        if not LABEL_RE.match(label):
            raise InvalidInput(f"label {label!r} is not valid: letters, digits and . _ : = / -, at most 63")
    return tuple(dict.fromkeys(labels))


@dataclass(frozen=True)
class HostEntry:
    """A swampd on another host, reached with `ssh DESTINATION COMMAND`."""

    name: str
    destination: str
    labels: tuple[str, ...] = ()
    command: str = ""
    ssh_options: tuple[str, ...] = ()
    connect_timeout: float | None = None
    """Overrides `[fleet] connect_timeout` for this host (a slow link, a host that must fail fast)."""
    kind: str = field(default="ssh", init=False)

    def to_table(self) -> dict[str, Any]:
        table: dict[str, Any] = {"destination": self.destination}
        if self.labels:
            table["labels"] = list(self.labels)
        if self.command:
            table["command"] = self.command
        if self.ssh_options:
            table["ssh_options"] = list(self.ssh_options)
        if self.connect_timeout is not None:
            table["connect_timeout"] = self.connect_timeout
        return table

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "destination": self.destination,
                "labels": list(self.labels), "command": self.command or None}


@dataclass(frozen=True)
class ServeEntry:
    """A `swamp serve` endpoint; its token comes from the vault or a private file, never config."""

    name: str
    url: str
    labels: tuple[str, ...] = ()
    token_secret: str = ""
    token_repo: str = ""
    token_file: str = ""
    kind: str = field(default="serve", init=False)

    def to_table(self) -> dict[str, Any]:
        table: dict[str, Any] = {"url": self.url}
        if self.labels:
            table["labels"] = list(self.labels)
        for key in ("token_secret", "token_repo", "token_file"):
            if getattr(self, key):
                table[key] = getattr(self, key)
        return table

    def describe(self) -> dict[str, Any]:
        token = ("vault " + self.token_secret if self.token_secret
                 else "file " + self.token_file if self.token_file else None)
        return {"name": self.name, "kind": self.kind, "url": self.url, "labels": list(self.labels),
                "token": token}


Entry = HostEntry | ServeEntry

_HOST_KEYS = {"destination", "labels", "command", "ssh_options", "connect_timeout"}
_SERVE_KEYS = {"url", "labels", "token_secret", "token_repo", "token_file", "token"}


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"{what} must be a list of strings")
    return tuple(value)


def host_entry(name: str, table: Any) -> HostEntry:
    check_name(name)
    if not isinstance(table, dict):
        raise InvalidInput(f"[fleet.hosts.{name}] must be a table")
    unknown = sorted(set(table) - _HOST_KEYS)
    if unknown:
        raise InvalidInput(f"unknown [fleet.hosts.{name}] keys: {', '.join(unknown)}")
    destination = table.get("destination")
    if not isinstance(destination, str) or not destination.strip() or destination.startswith("-"):
        raise InvalidInput(f"[fleet.hosts.{name}] destination must be an ssh destination (user@host)")
    command = table.get("command", "")
    if not isinstance(command, str):
        raise InvalidInput(f"[fleet.hosts.{name}] command must be a string")
    options = _strings(table.get("ssh_options", []), f"[fleet.hosts.{name}] ssh_options")
    if any(not o.startswith("-") for o in options):
        raise InvalidInput(f"[fleet.hosts.{name}] ssh_options are ssh flags, e.g. [\"-o\", ...] as \"-oKey=value\"")
    timeout = table.get("connect_timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0):
        raise InvalidInput(f"[fleet.hosts.{name}] connect_timeout must be a positive number of seconds")
    return HostEntry(name=name, destination=destination.strip(), labels=check_labels(table.get("labels")),
                     command=command.strip(), ssh_options=options,
                     connect_timeout=None if timeout is None else float(timeout))


def serve_entry(name: str, table: Any) -> ServeEntry:
    check_name(name, "serve endpoint name")
    if not isinstance(table, dict):
        raise InvalidInput(f"[fleet.serve.{name}] must be a table")
    unknown = sorted(set(table) - _SERVE_KEYS)
    if unknown:
        raise InvalidInput(f"unknown [fleet.serve.{name}] keys: {', '.join(unknown)}")
    if "token" in table:
        raise InvalidInput(f"[fleet.serve.{name}] token: a token does not belong in the config file "
                           "(`swamp config show` prints it); use token_secret = \"VAULT/KEY\" or token_file = PATH")
    url = table.get("url")
    if not isinstance(url, str) or not re.match(r"^(ws|wss|http|https)://[^\s/]+", url):
        raise InvalidInput(f"[fleet.serve.{name}] url must be ws://, wss://, http:// or https://HOST:PORT")
    values = {}
    for key in ("token_secret", "token_repo", "token_file"):
        value = table.get(key, "")
        if not isinstance(value, str):
            raise InvalidInput(f"[fleet.serve.{name}] {key} must be a string")
        values[key] = value
    if values["token_secret"] and values["token_secret"].count("/") != 1:
        raise InvalidInput(f"[fleet.serve.{name}] token_secret must be VAULT/KEY")
    if values["token_secret"] and values["token_file"]:
        raise InvalidInput(f"[fleet.serve.{name}] give token_secret or token_file, not both")
    if values["token_file"] and not os.path.isabs(os.path.expanduser(values["token_file"])):
        raise InvalidInput(f"[fleet.serve.{name}] token_file must be an absolute path")
    return ServeEntry(name=name, url=url, labels=check_labels(table.get("labels")), **values)


def entries_from_table(table: dict[str, Any]) -> dict[str, Entry]:
    """Every host and serve endpoint of a `[fleet]` table, by name (names are one namespace)."""
    out: dict[str, Entry] = {}
    for kind, build in ((HOSTS, host_entry), (SERVE, serve_entry)):
        section = table.get(kind, {})
        if not isinstance(section, dict):
            raise InvalidInput(f"[fleet.{kind}] must be a table of tables")
        for name, value in section.items():
            if name in out:
                raise InvalidInput(f"fleet name {name} is used twice (hosts and serve share names)")
            out[name] = build(name, value)
    return out
