"""Bootstrap by push: an installed extension or a vault secret, from this daemon to a host's daemon.

Extensions travel as swamp's own archive layout (`extension/...` in a tar.gz), in chunks over the
host's ssh session (`fleet.upload.begin|chunk|commit`). The receiving daemon checks the archive's
size and sha256, installs it into its store with every rule a local install has, and compares the
installed extension's checksum with ours: only an exact match is a success. A host that already
has the same name, version and checksum answers `unchanged` before a byte is sent.

A secret's value is read from our vault (audited here: a reveal whose callerContext names the
push and the host) and written on the host by `fleet.secret.store` (audited there, naming where
it came from). It travels inside the ssh session's stdin: never in an argv, an environment, a
log line, an event, an error message or a job record.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import os
import socket
import tarfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio

from swampd.errors import CallFailed, InvalidParams, SwampdError

if TYPE_CHECKING:
    from swampd.fleet.service import FleetService

Progress = Callable[[dict[str, Any]], None]
ARCHIVE_ROOT = "extension"


def pack_extension(content_dir: str) -> bytes:
    """A deterministic extension.tar.gz of an installed entry's content (same bytes every time)."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for root, dirs, files in os.walk(content_dir):
            dirs.sort()
            rel_root = os.path.relpath(root, content_dir)
            for name in sorted(files):
                path = os.path.join(root, name)
                rel = name if rel_root == "." else f"{rel_root}/{name}"
                with open(path, "rb") as fh:
                    data = fh.read()
                info = tarfile.TarInfo(f"{ARCHIVE_ROOT}/{rel}")
                info.size = len(data)
                info.mode = 0o644
                info.mtime = 0
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def split_secret(secret: str) -> tuple[str, str]:
    vault, sep, key = secret.partition("/")
    if not sep or not vault or not key or "/" in key:
        raise InvalidParams("secret must be VAULT/KEY", param="secret")
    return vault, key


def origin() -> str:
    return socket.gethostname()


class Pusher:
    def __init__(self, fleet: FleetService, *, extensions: Callable[[], Any], vault: Callable[[], Any]) -> None:
        self.fleet = fleet
        self._extensions = extensions
        self._vault = vault

    def _event(self, host: str, kind: str, item: str, status: str, **extra: Any) -> dict[str, Any]:
        data = {"type": "fleet.push", "host": host, "kind": kind, "item": item, "status": status, **extra}
        self.fleet.publish(data)
        return data

    async def push_extension(self, host: str, spec: str, *, force: bool = False,
                             progress: Progress | None = None) -> dict[str, Any]:
        """Copy `@collective/name[@version]` from our store to the host's, verified by checksum."""
        self.fleet.host(host)
        store = self._extensions().store
        entry = await anyio.to_thread.run_sync(store.parse_spec, spec)
        item = entry.key
        archive = await anyio.to_thread.run_sync(pack_extension, entry.content)
        digest = hashlib.sha256(archive).hexdigest()
        total = len(archive)
        notify = progress or (lambda data: None)
        notify(self._event(host, "extension", item, "started", sent=0, total=total))
        begun = await self.fleet.call(host, "fleet.upload.begin", {
            "name": entry.name, "version": entry.version, "checksum": entry.checksum,
            "size": total, "sha256": digest, "force": force, "origin": origin()})
        if begun.get("status") == "unchanged":
            notify(self._event(host, "extension", item, "unchanged", sent=0, total=total))
            return {"host": host, "extension": item, "status": "unchanged", "checksum": entry.checksum,
                    "verified": True, "bytes_sent": 0}
        upload = begun["upload"]
        chunk = self.fleet.settings.push_chunk_bytes
        sent = 0
        try:
            while sent < total:
                piece = archive[sent:sent + chunk]
                await self.fleet.call(host, "fleet.upload.chunk", {
                    "upload": upload, "offset": sent, "data": base64.b64encode(piece).decode()})
                sent += len(piece)
                notify(self._event(host, "extension", item, "sending", sent=sent, total=total))
            result = await self.fleet.call(host, "fleet.upload.commit", {"upload": upload})
        except BaseException:
            with anyio.CancelScope(shield=True), anyio.move_on_after(self.fleet.settings.call_timeout):
                try:
                    await self.fleet.call(host, "fleet.upload.abort", {"upload": upload})
                except SwampdError:
                    pass
            notify(self._event(host, "extension", item, "failed", sent=sent, total=total))
            raise
        if result.get("checksum") != entry.checksum:  # the receiver checks too; trust but verify
            raise CallFailed(f"host {host} installed {item} with checksum {result.get('checksum')}, "
                             f"ours is {entry.checksum}", host=host)
        notify(self._event(host, "extension", item, "done", sent=sent, total=total,
                           result=result.get("status")))
        return {"host": host, "extension": item, "status": result.get("status"), "checksum": entry.checksum,
                "verified": True, "bytes_sent": sent}

    async def push_secret(self, host: str, secret: str, *, repo: str | None = None, to_vault: str | None = None,
                          to_repo: str | None = None, overwrite: bool = False, pid: int | None = None,
                          progress: Progress | None = None) -> dict[str, Any]:
        """Copy VAULT/KEY from our vault to the host's (`to_vault`/`to_repo` to rename), audited both sides."""
        self.fleet.host(host)
        vault_name, key = split_secret(secret)
        notify = progress or (lambda data: None)
        caller = f"swampd:fleet.push:to={host}" + (f":pid={pid}" if pid else "")
        notify(self._event(host, "secret", secret, "started"))
        read = await self._vault().get(vault_name, key, repo=repo, reveal=True, caller=caller)
        try:
            stored = await self.fleet.call(host, "fleet.secret.store", {
                "vault": to_vault or vault_name, "key": key, "value": read["value"], "repo": to_repo,
                "overwrite": overwrite, "origin": origin()})
        except SwampdError:
            notify(self._event(host, "secret", secret, "failed"))
            raise
        finally:
            read.pop("value", None)
        notify(self._event(host, "secret", secret, "done"))
        return {"host": host, "secret": secret, "status": "stored", "remote": stored,
                "source": {"vault": read.get("vaultName"), "vaultType": read.get("vaultType"),
                           "repo": read.get("repo")}}
