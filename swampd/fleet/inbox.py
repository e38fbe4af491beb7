"""The receiving side of a push: uploads of extension archives, and secrets from another host.

An upload is a private file (`<state_dir>/fleet/uploads/<id>.tar.gz`, 0600 in a 0700 dir) filled
by sequential chunks; commit checks its size and sha256, installs it through the extension store
(every rule of a local install applies) and checks the installed checksum against the one the
sender declared. An upload whose connection ends, or that is aborted, is deleted; files left by
a daemon that was killed are deleted at the next start.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import os
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from swampd.errors import CallFailed, Conflict, InvalidParams, NotFound, TooLarge

log = logging.getLogger("swampd.fleet")

CHECKSUM_RE = re.compile(r"^[0-9a-f]{64}$")
MAX_UPLOADS = 8


@dataclass
class Upload:
    id: str
    name: str
    version: str
    checksum: str
    size: int
    sha256: str
    path: str
    force: bool
    origin: str
    received: int = 0
    hasher: Any = field(default_factory=hashlib.sha256)
    started: float = field(default_factory=time.time)
    lock: anyio.Lock = field(default_factory=anyio.Lock)


class Inbox:
    def __init__(self, upload_dir: str, *, extensions: Callable[[], Any], vault: Callable[[], Any],
                 publish: Callable[[dict[str, Any]], None]) -> None:
        self.upload_dir = upload_dir
        self._extensions = extensions
        self._vault = vault
        self._publish = publish
        self._uploads: dict[str, Upload] = {}
        self._prepared = False

    def _prepare(self) -> None:
        """Create the upload dir (0700) and delete what a killed daemon left in it."""
        os.makedirs(self.upload_dir, mode=0o700, exist_ok=True)
        os.chmod(self.upload_dir, 0o700)
        for name in os.listdir(self.upload_dir):
            if name.endswith((".tar.gz", ".tmp")) and name.split(".")[0] not in self._uploads:
                try:
                    os.unlink(os.path.join(self.upload_dir, name))
                except FileNotFoundError:
                    pass
        self._prepared = True

    async def start(self) -> None:
        await anyio.to_thread.run_sync(self._prepare)

    # -- extensions ------------------------------------------------------------------------

    async def begin(self, *, name: str, version: str, checksum: str, size: int, sha256: str,
                    force: bool = False, origin: str = "") -> tuple[dict[str, Any], str | None]:
        """Open an upload, or answer `unchanged` when this exact extension is installed and intact."""
        if not CHECKSUM_RE.match(checksum) or not CHECKSUM_RE.match(sha256):
            raise InvalidParams("checksum and sha256 must be 64 lowercase hex digits")
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise InvalidParams("size must be a positive number of bytes", param="size")
        service = self._extensions()
        limit = service.store.settings.max_archive_bytes
        if size > limit:
            raise TooLarge(f"the archive is {size} bytes; this host accepts at most {limit}")
        if len(self._uploads) >= MAX_UPLOADS:
            raise Conflict(f"{len(self._uploads)} uploads are in progress here already; try again later")
        installed = await self._installed(name, version)
        if installed is not None and installed["checksum"] == checksum:
            report = await service.verify(name, version)
            if report["ok"]:
                return {"status": "unchanged", "checksum": checksum}, None
        elif installed is not None and not force:
            raise Conflict(f"{name}@{version} is installed here with checksum {installed['checksum']}; "
                           "push with force to replace it", installed_checksum=installed["checksum"])
        if not self._prepared:
            await self.start()
        upload_id = secrets.token_hex(8)
        path = os.path.join(self.upload_dir, f"{upload_id}.tar.gz")
        await anyio.to_thread.run_sync(_create, path)
        self._uploads[upload_id] = Upload(upload_id, name, version, checksum, size, sha256, path, force, origin)
        return {"status": "ready", "upload": upload_id}, upload_id

    async def _installed(self, name: str, version: str) -> dict[str, Any] | None:
        for entry in await self._extensions().list():
            if entry["name"] == name and entry["version"] == version:
                return entry  # type: ignore[no-any-return]
        return None

    def _upload(self, upload_id: str) -> Upload:
        upload = self._uploads.get(upload_id)
        if upload is None:
            raise NotFound(f"no upload {upload_id} in progress (it was committed, aborted or its sender left)")
        return upload

    async def chunk(self, upload_id: str, offset: int, data: str) -> dict[str, Any]:
        upload = self._upload(upload_id)
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidParams("data must be base64", param="data") from None
        async with upload.lock:
            if offset != upload.received:
                raise InvalidParams(f"chunk at offset {offset}, expected {upload.received}", param="offset")
            if upload.received + len(raw) > upload.size:
                await self.abort(upload_id)
                raise TooLarge(f"the upload is larger than the {upload.size} bytes announced; aborted")
            await anyio.to_thread.run_sync(_append, upload.path, raw)
            upload.hasher.update(raw)
            upload.received += len(raw)
        return {"upload": upload_id, "received": upload.received, "size": upload.size}

    async def commit(self, upload_id: str) -> dict[str, Any]:
        upload = self._upload(upload_id)
        async with upload.lock:
            try:
                if upload.received != upload.size:
                    raise InvalidParams(f"only {upload.received} of {upload.size} bytes arrived", param="upload")
                if upload.hasher.hexdigest() != upload.sha256:
                    raise CallFailed("the archive that arrived does not match the sha256 it was sent with")
                service = self._extensions()
                result = await service.install(upload.path, force=upload.force)
                if (result["name"], result["version"]) != (upload.name, upload.version):
                    raise CallFailed(f"the archive holds {result['name']}@{result['version']}, "
                                     f"not {upload.name}@{upload.version}")
                if result["checksum"] != upload.checksum:
                    if result["status"] != "unchanged":
                        await service.remove(upload.name, upload.version, force=True)
                    raise CallFailed(f"{upload.name}@{upload.version} arrived with checksum {result['checksum']}, "
                                     f"the sender's is {upload.checksum}: not installed")
            finally:
                await self._drop(upload)
        self._publish({"type": "fleet.received", "kind": "extension", "item": f"{upload.name}@{upload.version}",
                       "origin": upload.origin, "status": result["status"]})
        return {**result, "verified": True}

    async def abort(self, upload_id: str) -> dict[str, Any]:
        upload = self._uploads.get(upload_id)
        if upload is not None:
            await self._drop(upload)
        return {"upload": upload_id, "aborted": upload is not None}

    def abort_soon(self, upload_id: str) -> Callable[[], None]:
        """A callback (for a connection's close) that drops the upload if it is still open."""

        def drop() -> None:
            upload = self._uploads.pop(upload_id, None)
            if upload is not None:
                try:
                    os.unlink(upload.path)
                except FileNotFoundError:
                    pass

        return drop

    async def _drop(self, upload: Upload) -> None:
        self._uploads.pop(upload.id, None)
        await anyio.to_thread.run_sync(_unlink, upload.path)

    def busy_reason(self) -> str | None:
        return f"{len(self._uploads)} upload(s) in progress" if self._uploads else None

    # -- secrets ---------------------------------------------------------------------------

    async def store_secret(self, *, vault: str, key: str, value: str, repo: str | None, overwrite: bool,
                           origin: str, pid: int | None) -> dict[str, Any]:
        """Store a pushed secret; the audit trail names the pushing host (never the value)."""
        who = re.sub(r"[^A-Za-z0-9._-]", "_", origin or "unknown")[:64]
        caller = f"swampd:fleet.push:from={who}" + (f":pid={pid}" if pid else "")
        result: dict[str, Any] = await self._vault().put(vault, key, value, repo=repo, overwrite=overwrite,
                                                         caller=caller)
        self._publish({"type": "fleet.received", "kind": "secret", "item": f"{vault}/{key}", "origin": who})
        return result


def _create(path: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    os.close(fd)


def _append(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
