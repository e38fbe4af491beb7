"""A filesystem datastore in swamp's exact layout: `.*.tmp` + rename writes, fsync'd."""

from __future__ import annotations

import errno
import os
import uuid

from swampd.storage.base import (
    NOT_MODIFIED,
    Blob,
    ChangeListener,
    DistributedLock,
    JournalWriter,
    Stat,
    StoreDown,
    StoreFull,
    Writer,
)
from swampd.storage.layout import is_skipped

NO_ROOM = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded"}


def write_failure(exc: OSError, what: str) -> StoreDown:
    """The store error for a failed write: StoreFull (naming the cause) when the disk is full."""
    name = errno.errorcode.get(exc.errno or 0, "error")
    if exc.errno in NO_ROOM:
        return StoreFull(f"{what}: {NO_ROOM[exc.errno]} ({name})", name)
    return StoreDown(f"{what} ({name})")


def _etag(st: os.stat_result) -> str:
    return f"{st.st_mtime_ns:x}-{st.st_size:x}-{st.st_ino:x}"


class FilesystemStore:
    kind = "filesystem"
    has_change_signal = False

    def __init__(self, base: str, namespace: str | None = None) -> None:
        self.base = os.path.abspath(base)
        self.namespace = namespace
        self.root = os.path.join(self.base, namespace) if namespace else self.base
        self.identity = f"filesystem:{self.root}"
        self._base_seen = os.path.isdir(self.base)

    def _abs(self, path: str) -> str:
        parts = [p for p in path.split("/") if p]
        if any(p in (".", "..") for p in parts):
            raise ValueError(f"path {path!r} leaves the datastore")
        return os.path.join(self.root, *parts)

    def _check_root(self) -> None:
        if os.path.isdir(self.base):
            self._base_seen = True
            return
        raise StoreDown(f"datastore directory {self.base} does not exist")

    def _ensure_root(self) -> None:
        """Before a write: a datastore dir that never existed is made (swamp's writes make theirs);
        one that existed and is gone (moved, unmounted) is a store that is down, not made again.
        A read never makes it."""
        if os.path.isdir(self.base):
            self._base_seen = True
            return
        if self._base_seen:
            raise StoreDown(f"datastore directory {self.base} does not exist")
        try:
            os.makedirs(self.base, exist_ok=True)
        except OSError as exc:
            raise write_failure(exc, f"cannot create the datastore directory {self.base}") from None
        self._base_seen = True

    def get(self, path: str, *, if_none_match: str | None = None) -> Blob | object | None:
        full = self._abs(path)
        try:
            fd = os.open(full, os.O_RDONLY)
        except FileNotFoundError:
            self._check_root()
            return None
        except (NotADirectoryError, IsADirectoryError):
            return None
        except OSError as exc:
            raise StoreDown(f"cannot read {path} ({errno.errorcode.get(exc.errno or 0, 'error')})") from None
        try:
            st = os.fstat(fd)
            etag = _etag(st)
            if if_none_match is not None and etag == if_none_match:
                return NOT_MODIFIED
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            return Blob(b"".join(chunks), etag)
        except IsADirectoryError:
            return None
        finally:
            os.close(fd)

    def read_latest_link(self, path: str) -> bytes | None:
        """A legacy `latest` symlink's target (`N` or `N/`), or None."""
        try:
            return os.readlink(self._abs(path)).encode()
        except OSError:
            return None

    def head(self, path: str) -> Stat | None:
        try:
            st = os.stat(self._abs(path))
        except (FileNotFoundError, NotADirectoryError):
            self._check_root()
            return None
        return Stat(st.st_size, _etag(st))

    def _fsync_dir(self, path: str) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _write_tmp(self, directory: str, data: bytes) -> str:
        """A fsync'd temp file with `data`; on failure (a full disk) nothing is left behind."""
        tmp = os.path.join(directory, f".{uuid.uuid4()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        os.close(fd)
        return tmp

    def put(self, path: str, data: bytes) -> str:
        self._ensure_root()
        full = self._abs(path)
        directory = os.path.dirname(full)
        try:
            os.makedirs(directory, exist_ok=True)
            tmp = self._write_tmp(directory, data)
            try:
                if os.path.islink(full):  # a legacy `latest` symlink: replace it by the text file
                    os.unlink(full)
                os.rename(tmp, full)
            except BaseException:
                os.unlink(tmp)
                raise
            self._fsync_dir(directory)
            return _etag(os.stat(full))
        except OSError as exc:
            raise write_failure(exc, f"cannot write {path}") from None

    def create(self, path: str, data: bytes) -> bool:
        """Conditional create with `O_EXCL` (how swamp's FileLock takes a lock)."""
        self._ensure_root()
        full = self._abs(path)
        directory = os.path.dirname(full)
        try:
            os.makedirs(directory, exist_ok=True)
            tmp = self._write_tmp(directory, data)
            try:
                os.link(tmp, full)  # atomic: fails if the target exists, never shows a partial file
            except FileExistsError:
                return False
            finally:
                os.unlink(tmp)
            self._fsync_dir(directory)
            return True
        except OSError as exc:
            raise write_failure(exc, f"cannot create {path}") from None

    def claim_version(self, version_dir: str, metadata: bytes) -> bool:
        self._ensure_root()
        full = self._abs(version_dir)
        try:
            os.makedirs(os.path.dirname(full), exist_ok=True)
            os.mkdir(full)
        except FileExistsError:
            return False
        except OSError as exc:
            raise write_failure(exc, f"cannot claim {version_dir}") from None
        try:
            self._fsync_dir(os.path.dirname(full))
            self.put(f"{version_dir}/metadata.yaml", metadata)
        except (OSError, StoreDown) as exc:
            self.remove_dir(version_dir)  # the claim did not hold: its number is free again
            if isinstance(exc, OSError):
                raise write_failure(exc, f"cannot claim {version_dir}") from None
            raise
        return True

    def list(self, prefix: str, *, recursive: bool = False) -> list[str]:
        directory = self._abs(prefix)
        try:
            base = prefix.strip("/")
            if not recursive:
                with os.scandir(directory) as it:
                    entries = [(e.name, e.is_dir(follow_symlinks=False)) for e in it]
                return sorted(name + ("/" if is_dir else "") for name, is_dir in entries
                              if not is_skipped(f"{base}/{name}", is_dir=is_dir))
            if not os.path.isdir(directory):
                self._check_root()
                return []
            out = []
            for root, dirs, files in os.walk(directory):
                rel = os.path.relpath(root, directory).replace(os.sep, "/")
                here = base if rel == "." else f"{base}/{rel}"
                dirs[:] = [d for d in dirs if not is_skipped(f"{here}/{d}", is_dir=True)]
                for name in files:
                    if not is_skipped(f"{here}/{name}", is_dir=False):
                        key = name if rel == "." else f"{rel}/{name}"
                        out.append(f"{base}/{key}" if base else key)
            return sorted(out)
        except (FileNotFoundError, NotADirectoryError):
            self._check_root()
            return []
        except OSError as exc:
            raise StoreDown(f"cannot list {prefix} ({errno.errorcode.get(exc.errno or 0, 'error')})") from None

    def delete(self, path: str) -> bool:
        try:
            os.unlink(self._abs(path))
            return True
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StoreDown(f"cannot delete {path} ({errno.errorcode.get(exc.errno or 0, 'error')})") from None

    def remove_dir(self, path: str) -> None:
        """Drop an empty version dir (a claim whose write failed)."""
        try:
            os.rmdir(self._abs(path))
        except OSError:
            pass

    def writer(self) -> Writer:
        return JournalWriter(self)

    def model_lock(self, model_dir: str, *, max_wait_ms: int = 60000) -> DistributedLock:
        from swampd.storage.locks import StoreLock

        return StoreLock(self, f"{model_dir.strip('/')}/.lock", retry_interval_ms=50, max_wait_ms=max_wait_ms)

    def global_lock(self, *, max_wait_ms: int = 60000) -> DistributedLock:
        """`{path}/.datastore.lock`, or `{path}/.locks/{ns}.lock` in a namespace (swamp's FileLock keys)."""
        from swampd.storage.locks import StoreLock

        key = f".locks/{self.namespace}.lock" if self.namespace else ".datastore.lock"
        return StoreLock(FilesystemStore(self.base), key, retry_interval_ms=50, max_wait_ms=max_wait_ms)

    def ping(self) -> None:
        self._check_root()

    def set_listener(self, listener: ChangeListener | None, *, interval: float = 1.0) -> None:
        """Filesystems have no change signal: pointers are revalidated by mtime."""

    def close(self) -> None:
        pass
