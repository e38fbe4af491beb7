"""Bring an extension into a staging directory: from `extension.tar.gz` or from a directory.

Nothing here trusts its input. Members are written by our own code (never
`tarfile.extract`): only regular files and directories are accepted, paths must stay
below the target, hidden files and disallowed file types are refused, and the file
count, each file's size and the total are capped while reading, so a decompression bomb
stops at the limit. Every refusal raises InvalidInput or TooLarge; the caller removes the
staging directory.
"""

from __future__ import annotations

import os
import stat
import tarfile
import zlib
from typing import IO

from swampd.errors import InvalidInput, TooLarge
from swampd.extensions.manifest import check_file_policy
from swampd.extensions.settings import ExtensionSettings

ARCHIVE_ROOT = "extension"
CHUNK = 256 * 1024


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB" if n >= 1024 * 1024 else f"{n} bytes"


class StagingWriter:
    """Writes files below `dest`, enforcing the policy and the limits."""

    def __init__(self, dest: str, limits: ExtensionSettings) -> None:
        self.dest = dest
        self.limits = limits
        self.files = 0
        self.total = 0
        self.dirs = 0

    def _target(self, rel: str) -> str:
        parts = rel.split("/")
        if not rel or any(p in ("", ".", "..") for p in parts) or "\\" in rel or "\0" in rel:
            raise InvalidInput(f"unsafe path in extension: {rel!r}")
        return os.path.join(self.dest, *parts)

    def add_dir(self, rel: str) -> None:
        self.dirs += 1
        if self.dirs > self.limits.max_files * 4:
            raise TooLarge(f"extension has too many directories (limit {self.limits.max_files * 4})")
        if any(p.startswith(".") for p in rel.split("/")):
            raise InvalidInput(f"hidden file or directory not allowed in an extension: {rel}")
        os.makedirs(self._target(rel), mode=0o755, exist_ok=True)

    def add_file(self, rel: str, size: int, stream: IO[bytes]) -> None:
        check_file_policy(rel)
        target = self._target(rel)
        self.files += 1
        if self.files > self.limits.max_files:
            raise TooLarge(f"extension has more than {self.limits.max_files} files")
        self._check_size(rel, size)
        os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(target, flags, 0o644)
        except FileExistsError:
            raise InvalidInput(f"duplicate path in extension: {rel}") from None
        written = 0
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                written += len(chunk)
                self._check_size(rel, written)
                out.write(chunk)
        self.total += written

    def _check_size(self, rel: str, size: int) -> None:
        if size > self.limits.max_file_bytes:
            raise TooLarge(f"file {rel} is larger than {_mib(self.limits.max_file_bytes)}")
        if self.total + size > self.limits.max_total_bytes:
            raise TooLarge(f"extension is larger than {_mib(self.limits.max_total_bytes)} in total")


def _member_path(name: str) -> str:
    """The member's path below `extension/`, or InvalidInput when it lies elsewhere."""
    if name.startswith("/") or "\\" in name or "\0" in name:
        raise InvalidInput(f"unsafe path in archive: {name!r}")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in name.split("/"):
        raise InvalidInput(f"path traversal in archive: {name!r}")
    if not parts or parts[0] != ARCHIVE_ROOT:
        raise InvalidInput(f"archive member {name!r} is outside {ARCHIVE_ROOT}/ (swamp's archive layout)")
    return "/".join(parts[1:])


def extract_archive(archive: str, dest: str, limits: ExtensionSettings) -> StagingWriter:
    """Extract a gzip-compressed tar in swamp's layout (`extension/...`) into `dest`."""
    size = os.stat(archive).st_size
    if size > limits.max_archive_bytes:
        raise TooLarge(f"archive is larger than {_mib(limits.max_archive_bytes)}")
    writer = StagingWriter(dest, limits)
    members = 0
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for member in tar:
                members += 1
                if members > limits.max_files * 5 + 1:
                    raise TooLarge(f"archive has too many entries (more than {limits.max_files} files)")
                rel = _member_path(member.name)
                if member.issym() or member.islnk():
                    raise InvalidInput(f"links are not allowed in an extension archive: {member.name}")
                if member.isdir():
                    if rel:
                        writer.add_dir(rel)
                    continue
                if not member.isreg():
                    raise InvalidInput(f"special file not allowed in an extension archive: {member.name}")
                if not rel:
                    raise InvalidInput(f"archive member {member.name!r} is not a file below {ARCHIVE_ROOT}/")
                if member.size > limits.max_file_bytes:
                    raise TooLarge(f"file {rel} is larger than {_mib(limits.max_file_bytes)}")
                stream = tar.extractfile(member)
                if stream is None:  # pragma: no cover - isreg() members always have a stream
                    raise InvalidInput(f"cannot read archive member {member.name}")
                writer.add_file(rel, member.size, stream)
    except (tarfile.TarError, EOFError, zlib.error, UnicodeDecodeError):
        raise InvalidInput("not a valid gzip-compressed tar archive (extension.tar.gz)") from None
    if writer.files == 0:
        raise InvalidInput(f"archive has no files below {ARCHIVE_ROOT}/")
    return writer


def copy_tree(src: str, dest: str, limits: ExtensionSettings) -> StagingWriter:
    """Copy an extension directory into `dest`, refusing symlinks and special files."""
    writer = StagingWriter(dest, limits)
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        with os.scandir(os.path.join(src, rel_dir) if rel_dir else src) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                raise InvalidInput(f"symlinks are not allowed in an extension: {rel}")
            if stat.S_ISDIR(st.st_mode):
                writer.add_dir(rel)
                stack.append(rel)
            elif stat.S_ISREG(st.st_mode):
                flags = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
                with os.fdopen(os.open(entry.path, flags), "rb") as fh:
                    writer.add_file(rel, st.st_size, fh)
            else:
                raise InvalidInput(f"special file not allowed in an extension: {rel}")
    return writer
