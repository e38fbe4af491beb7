"""The host extension store on disk (`<data_dir>/extensions`).

    store/<@collective>/<name>/<version>/
        extension/        the content, in swamp's pulled layout (files read-only)
        entry.json        name, version, checksum, per-file sha256, size, kinds, types
    staging/<id>/         an install in progress, held by a flock on staging/<id>.lock
    trash/<id>/           an entry being removed or replaced
    locks/                one lock file per name@version, plus links.lock
    links.json            which projects link which entries, and how to undo each link

An install stages the content and its entry.json in `staging/` (same filesystem),
validates and hashes it, then takes the entry's lock and renames the staging directory to
its final place: readers see either no entry or a complete one. A crashed install leaves
only a staging directory whose lock is free, which `cleanup_stale()` removes at startup.
All methods block (file IO, hashing): the async service runs them in worker threads.
"""

from __future__ import annotations

import base64
import builtins
import datetime
import fcntl
import functools
import hashlib
import json
import os
import shutil
import stat
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from swampd.atomic_file import fsync_dir, write_atomic
from swampd.errors import Conflict, InvalidInput, InvalidParams, NotFound, PermissionDenied, SwampdError
from swampd.extensions import sources
from swampd.extensions.archive import copy_tree, extract_archive
from swampd.extensions.checksum import diff, tree_checksum, tree_hashes
from swampd.extensions.locks import file_lock, try_lock
from swampd.extensions.manifest import (
    MANIFEST_NAME,
    Manifest,
    check_listed_files,
    check_name,
    check_version,
    parse_manifest,
)
from swampd.extensions.settings import ExtensionSettings
from swampd.extensions.typescan import scan_tree

CONTENT_DIR = "extension"
RECORD_FILE = "entry.json"
TYPE_KINDS = ("model", "vault", "datastore", "report")
_NOT_SCANNED = ("files", "workflows", "skills")
"""Top-level content directories whose .ts files swamp never loads as types."""


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


@dataclass(frozen=True)
class Entry:
    """One installed extension version."""

    name: str
    version: str
    dir: str
    record: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def content(self) -> str:
        return os.path.join(self.dir, CONTENT_DIR)

    @property
    def checksum(self) -> str:
        return str(self.record["checksum"])

    def describe(self, linked: list[str] | None = None) -> dict[str, Any]:
        r = self.record
        return {
            "name": self.name,
            "version": self.version,
            "description": r.get("description", ""),
            "kinds": r.get("kinds", []),
            "types": r.get("types", {}),
            "size": r.get("size", 0),
            "files": len(r.get("files", {})),
            "checksum": self.checksum,
            "installed_at": r.get("installed_at"),
            "path": self.content,
            "linked_projects": linked or [],
        }


def _finalize_tree(root: str) -> None:
    """fsync every file and make it read-only (as swamp does for pulled manifests)."""
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.chmod(path, 0o444)
        fsync_dir(dirpath)


def _os_error(operation: str, exc: OSError) -> SwampdError:
    """A client-facing error for a failed file operation (no raw exception text)."""
    what = exc.filename or "the extension store"
    reason = exc.strerror or "I/O error"
    if isinstance(exc, PermissionError):
        return PermissionDenied(f"{operation} failed: permission denied on {what}")
    return InvalidInput(f"{operation} failed: {reason} on {what}")


def _translate_os_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except OSError as exc:
            raise _os_error(func.__name__, exc) from None

    return wrapper


class ExtensionStore:
    """Blocking, thread- and process-safe operations on the store directory."""

    def __init__(
        self,
        root: str,
        settings: ExtensionSettings,
        *,
        after_staging: Callable[[str], None] | None = None,
    ) -> None:
        self.root = os.path.abspath(root)
        self.settings = settings
        self.after_staging = after_staging
        """Test seam: called with the staging dir once it is complete, before the commit."""
        self.store_dir = os.path.join(self.root, "store")
        self.staging_dir = os.path.join(self.root, "staging")
        self.trash_dir = os.path.join(self.root, "trash")
        self.locks_dir = os.path.join(self.root, "locks")
        self.links_file = os.path.join(self.root, "links.json")

    # -- layout and startup ---------------------------------------------------------------

    def ensure_layout(self) -> None:
        for d in (self.root, self.store_dir, self.staging_dir, self.trash_dir, self.locks_dir):
            os.makedirs(d, mode=0o700, exist_ok=True)

    def cleanup_stale(self) -> list[str]:
        """Remove staging dirs no live install holds and leftover trash; the names removed."""
        self.ensure_layout()
        removed: list[str] = []
        for name in sorted(os.listdir(self.staging_dir)):
            if name.endswith(".lock"):
                continue
            lock = os.path.join(self.staging_dir, f"{name}.lock")
            fd = try_lock(lock)
            if fd is None and os.path.exists(lock):
                continue  # a live install holds it
            try:
                shutil.rmtree(os.path.join(self.staging_dir, name), ignore_errors=True)
                removed.append(f"staging/{name}")
            finally:
                if fd is not None:
                    os.close(fd)
        for name in os.listdir(self.staging_dir):
            if name.endswith(".lock") and not os.path.exists(os.path.join(self.staging_dir, name[:-5])):
                fd = try_lock(os.path.join(self.staging_dir, name))
                if fd is not None:
                    try:
                        os.unlink(os.path.join(self.staging_dir, name))
                    except FileNotFoundError:
                        pass
                    os.close(fd)
        for name in sorted(os.listdir(self.trash_dir)):
            shutil.rmtree(os.path.join(self.trash_dir, name), ignore_errors=True)
            removed.append(f"trash/{name}")
        return removed

    def _lock_path(self, key: str) -> str:
        self.ensure_layout()
        return os.path.join(self.locks_dir, hashlib.sha256(key.encode()).hexdigest()[:32] + ".lock")

    def _entry_lock(self, name: str, version: str) -> Any:
        key = f"{name}@{version}"
        return file_lock(self._lock_path(key), self.settings.lock_timeout, f"extension {key}")

    def _links_lock(self) -> Any:
        self.ensure_layout()
        path = os.path.join(self.locks_dir, "links.lock")
        return file_lock(path, self.settings.lock_timeout, "the extension link registry")

    def entry_dir(self, name: str, version: str) -> str:
        return os.path.join(self.store_dir, *name.split("/"), version)

    # -- install --------------------------------------------------------------------------

    @contextmanager
    def _staging(self) -> Iterator[str]:
        self.ensure_layout()
        sid = uuid.uuid4().hex
        lock_path = os.path.join(self.staging_dir, f"{sid}.lock")
        path = os.path.join(self.staging_dir, sid)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.mkdir(path, 0o700)
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)
            try:
                os.unlink(lock_path)
            except FileNotFoundError:
                pass
            os.close(fd)

    def install(self, source: str, *, force: bool = False) -> dict[str, Any]:
        """Install from a directory (swamp's extension layout) or an extension.tar.gz."""
        if not os.path.isabs(source):
            raise InvalidParams("source must be an absolute path")
        if not os.path.exists(source):
            raise NotFound(f"no such file or directory: {source}")
        try:
            with self._staging() as staging:
                content = os.path.join(staging, CONTENT_DIR)
                os.mkdir(content, 0o755)
                if os.path.isdir(source):
                    root = source
                    if not os.path.exists(os.path.join(source, MANIFEST_NAME)) and os.path.exists(
                        os.path.join(source, CONTENT_DIR, MANIFEST_NAME)
                    ):
                        root = os.path.join(source, CONTENT_DIR)
                    copy_tree(root, content, self.settings)
                    origin = {"kind": "directory", "path": source}
                elif os.path.isfile(source):
                    extract_archive(source, content, self.settings)
                    origin = {"kind": "archive", "path": source}
                else:
                    raise InvalidInput(f"{source} is neither a directory nor an archive file")
                record = self._build_record(content, origin)
                os.chmod(staging, 0o755)
                encoded = json.dumps(record, indent=2, sort_keys=True).encode()
                write_atomic(os.path.join(staging, RECORD_FILE), encoded, 0o444)
                _finalize_tree(content)
                if self.after_staging is not None:
                    self.after_staging(staging)
                return self._commit(staging, record, force=force)
        except SwampdError:
            raise
        except OSError as exc:
            raise _os_error("install", exc) from None

    def _build_record(self, content: str, origin: dict[str, Any]) -> dict[str, Any]:
        manifest_path = os.path.join(content, MANIFEST_NAME)
        if not os.path.isfile(manifest_path):
            raise InvalidInput(f"extension has no {MANIFEST_NAME} at its root")
        with open(manifest_path, "rb") as fh:
            manifest = parse_manifest(fh.read())
        hashes = tree_hashes(content)
        check_listed_files(manifest, set(hashes))
        types, type_files = self._scan_types(content, manifest)
        size = sum(os.path.getsize(os.path.join(content, *p.split("/"))) for p in hashes)
        return {
            "name": manifest.name,
            "version": manifest.version,
            "description": manifest.description,
            "kinds": manifest.kinds,
            "types": types,
            "type_files": type_files,
            "files": hashes,
            "size": size,
            "checksum": tree_checksum(hashes),
            "installed_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "source": origin,
        }

    def _scan_types(self, content: str, manifest: Manifest) -> tuple[dict[str, list[str]], dict[str, str]]:
        found = sorted(
            (t for t in scan_tree(content) if t[2].split("/", 1)[0] not in _NOT_SCANNED),
            key=lambda t: (not t[2].endswith(".ts"), t[2]),
        )
        types: dict[str, list[str]] = {}
        files: dict[str, str] = {}
        prefix = f"@{manifest.collective}/"
        for kind, type_name, rel in found:
            if not type_name.startswith(prefix):
                raise InvalidInput(
                    f"{rel} provides {kind} type {type_name}, outside the extension's collective "
                    f"@{manifest.collective}"
                )
            if type_name not in types.setdefault(kind, []):
                types[kind].append(type_name)
                files.setdefault(type_name, rel)
        return {k: sorted(v) for k, v in sorted(types.items())}, files

    def _commit(self, staging: str, record: dict[str, Any], *, force: bool) -> dict[str, Any]:
        name, version, checksum = record["name"], record["version"], record["checksum"]
        final = self.entry_dir(name, version)
        with self._entry_lock(name, version):
            status = "installed"
            if os.path.exists(final):
                existing = self._read_entry(final)
                intact = existing is not None and self._drift(existing).clean
                if existing is not None and existing.checksum == checksum and intact:
                    return self._result(Entry(name, version, final, existing.record), "unchanged")
                if existing is not None and existing.checksum != checksum and intact and not force:
                    raise Conflict(
                        f"{name}@{version} is installed with a different checksum; "
                        "remove it first or install with force",
                        installed_checksum=existing.checksum,
                        new_checksum=checksum,
                    )
                status = "replaced" if existing is not None and existing.checksum != checksum else "repaired"
                self._to_trash(final)
            for _ in range(3):
                os.makedirs(os.path.dirname(final), mode=0o755, exist_ok=True)
                try:
                    os.rename(staging, final)
                    break
                except FileNotFoundError:  # a concurrent remove pruned the empty parent
                    continue
            fsync_dir(os.path.dirname(final))
        return self._result(Entry(name, version, final, record), status)

    def _result(self, entry: Entry, status: str) -> dict[str, Any]:
        return {**entry.describe(), "status": status}

    def _to_trash(self, path: str) -> None:
        os.makedirs(self.trash_dir, mode=0o700, exist_ok=True)
        dest = os.path.join(self.trash_dir, uuid.uuid4().hex)
        os.rename(path, dest)
        shutil.rmtree(dest, ignore_errors=True)

    # -- reading --------------------------------------------------------------------------

    def _read_entry(self, path: str) -> Entry | None:
        try:
            with open(os.path.join(path, RECORD_FILE), "rb") as fh:
                record = json.loads(fh.read())
            return Entry(record["name"], record["version"], path, record)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def entries(self) -> list[Entry]:
        """Every complete entry, sorted by name then version."""
        out: list[Entry] = []
        if not os.path.isdir(self.store_dir):
            return out
        for dirpath, dirnames, filenames in os.walk(self.store_dir):
            if RECORD_FILE in filenames:
                dirnames[:] = []
                entry = self._read_entry(dirpath)
                if entry is not None:
                    out.append(entry)
        return sorted(out, key=lambda e: (e.name, version_key(e.version)))

    def find(self, name: str, version: str | None = None) -> Entry:
        """The entry `name@version`, or the newest version of `name`."""
        check_name(name)
        if version is not None:
            check_version(version)
            entry = self._read_entry(self.entry_dir(name, version))
            if entry is None:
                raise NotFound(f"extension {name}@{version} is not installed")
            return entry
        matches = [e for e in self.entries() if e.name == name]
        if not matches:
            raise NotFound(f"extension {name} is not installed")
        return matches[-1]

    def parse_spec(self, spec: str) -> Entry:
        """`name` or `name@version` → the entry."""
        if not isinstance(spec, str) or not spec.startswith("@"):
            raise InvalidParams(f"extension {spec!r} must be @collective/name[@version]")
        name, sep, version = spec[1:].partition("@")
        return self.find("@" + name, version if sep else None)

    def entry_for_path(self, path: str) -> tuple[str, str] | None:
        """`(name, version)` when `path` is the content dir of a store entry (installed or not)."""
        prefix = self.store_dir.rstrip("/") + "/"
        path = os.path.normpath(os.path.expanduser(path))
        if not path.startswith(prefix):
            return None
        parts = path[len(prefix):].split("/")
        if len(parts) < 4 or parts[-1] != CONTENT_DIR:
            return None
        return "/".join(parts[:-2]), parts[-2]

    def _drift(self, entry: Entry) -> Any:
        actual = tree_hashes(entry.content) if os.path.isdir(entry.content) else {}
        return diff(entry.record.get("files", {}), actual)

    @_translate_os_errors
    def verify(self, name: str | None = None, version: str | None = None) -> list[dict[str, Any]]:
        """Re-hash entries (all, one name, or one version) and report drift per entry."""
        if name is None:
            targets = self.entries()
        elif version is None:
            targets = [e for e in self.entries() if e.name == check_name(name)]
            if not targets:
                raise NotFound(f"extension {name} is not installed")
        else:
            targets = [self.find(name, version)]
        out = []
        for entry in targets:
            actual = tree_hashes(entry.content) if os.path.isdir(entry.content) else {}
            drift = diff(entry.record.get("files", {}), actual)
            recorded = tree_checksum(entry.record.get("files", {}))
            out.append({
                "name": entry.name,
                "version": entry.version,
                "ok": drift.clean and recorded == entry.checksum,
                "checksum": entry.checksum,
                "actual_checksum": tree_checksum(actual),
                "record_consistent": recorded == entry.checksum,
                **drift.to_dict(),
            })
        return out

    # -- links ----------------------------------------------------------------------------

    def _read_links(self) -> dict[str, Any]:
        try:
            with open(self.links_file, "rb") as fh:
                data = json.loads(fh.read())
        except FileNotFoundError:
            return {"version": 1, "projects": {}}
        except ValueError:
            raise InvalidInput(f"link registry {self.links_file} is corrupt") from None
        if not isinstance(data, dict):
            raise InvalidInput(f"link registry {self.links_file} is corrupt")
        data.setdefault("projects", {})
        return data

    def _write_links(self, data: dict[str, Any]) -> None:
        write_atomic(self.links_file, json.dumps(data, indent=2, sort_keys=True).encode(), 0o600)

    def linked_projects(self) -> dict[str, list[str]]:
        """`{name@version: [project, ...]}`: what the link registry recorded and the project's
        `.swamp-sources.yaml` still lists. swamp edits that file too (`swamp extension source rm`
        removes an entry, and the file with its last one), so a recorded link the file no longer
        has is not a link; a file swampd cannot read keeps its recorded links (the safe side)."""
        out: dict[str, list[str]] = {}
        for project, rec in self._read_links()["projects"].items():
            listed = self._listed_entries(project)
            for key in rec.get("entries", []):
                if listed is None or key in listed:
                    out.setdefault(key, []).append(project)
        return {k: sorted(v) for k, v in out.items()}

    def _listed_entries(self, project: str) -> set[str] | None:
        """The store entries (`name@version`) a project's sources file lists; None when unreadable."""
        try:
            text = self._read_text(os.path.join(project, sources.SOURCES_FILE))
            entries = sources.read_entries(None if text is None else self._decode(text))
        except (OSError, InvalidInput):
            return None
        listed = set()
        for entry in entries:
            hit = self.entry_for_path(entry["path"])
            if hit is not None:
                listed.add(f"{hit[0]}@{hit[1]}")
        return listed

    @_translate_os_errors
    def list(self) -> list[dict[str, Any]]:
        links = self.linked_projects()
        return [e.describe(links.get(e.key, [])) for e in self.entries()]

    @staticmethod
    def _project(project: str) -> str:
        if not isinstance(project, str) or not os.path.isabs(project):
            raise InvalidParams("project must be an absolute path")
        real = os.path.realpath(project)
        if not os.path.isdir(real):
            raise NotFound(f"project directory {project} does not exist")
        return real

    @staticmethod
    def _read_text(path: str) -> bytes | None:
        try:
            with open(path, "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            return None

    def _write_project_file(self, path: str, data: bytes) -> None:
        path = os.path.realpath(path)  # a symlinked sources file is written through, not replaced
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except FileNotFoundError:
            mode = 0o644
        write_atomic(path, data, mode)

    @_translate_os_errors
    def link(self, project: str, specs: builtins.list[str] | None = None) -> dict[str, Any]:
        """Add store entries (all names, newest version, by default) to the project's sources."""
        project = self._project(project)
        path = os.path.join(project, sources.SOURCES_FILE)
        with self._links_lock():
            if specs:
                chosen = [self.parse_spec(s) for s in specs]
            else:
                newest: dict[str, Entry] = {}
                for entry in self.entries():
                    newest[entry.name] = entry
                chosen = list(newest.values())
            if not chosen:
                raise NotFound("no extensions are installed in the host store")
            if len({e.name for e in chosen}) != len(chosen):
                raise InvalidParams("link one version per extension name")
            names = {e.name for e in chosen}
            current = self._read_text(path)
            text = None if current is None else self._decode(current)

            def same_name(p: str) -> bool:
                hit = self.entry_for_path(p)
                return hit is not None and hit[0] in names

            new_text = sources.add_paths(text, [e.content for e in chosen], same_name)
            registry = self._read_links()
            rec = registry["projects"].get(project)
            if rec is None:
                rec = {
                    "existed": current is not None,
                    "original": None if current is None else base64.b64encode(current).decode(),
                    "entries": [],
                }
            data = new_text.encode()
            rec["entries"] = sorted(
                {k for k in rec["entries"] if k.rsplit("@", 1)[0] not in names} | {e.key for e in chosen}
            )
            rec["written_sha256"] = hashlib.sha256(data).hexdigest()
            registry["projects"][project] = rec
            # Registry first: a crash in between leaves a link recorded but not written, which
            # `remove` treats conservatively and `unlink` clears; never the reverse.
            self._write_links(registry)
            if data != current:
                self._write_project_file(path, data)
        return {"project": project, "file": path, "linked": [e.key for e in chosen], "entries": rec["entries"]}

    @_translate_os_errors
    def unlink(self, project: str, specs: builtins.list[str] | None = None) -> dict[str, Any]:
        """Remove store entries (all by default) from the project's sources; restore the
        original file byte for byte when nothing else changed it since swampd's last edit."""
        project = self._project(project)
        with self._links_lock():
            return self._unlink_locked(project, specs)

    def _unlink_locked(self, project: str, specs: builtins.list[str] | None) -> dict[str, Any]:
        path = os.path.join(project, sources.SOURCES_FILE)
        names: set[str] | None = None
        if specs:
            names = set()
            for spec in specs:
                if not isinstance(spec, str) or not spec.startswith("@"):
                    raise InvalidParams(f"extension {spec!r} must be @collective/name[@version]")
                names.add("@" + spec[1:].partition("@")[0])

        def ours(p: str) -> bool:
            hit = self.entry_for_path(p)
            return hit is not None and (names is None or hit[0] in names)

        registry = self._read_links()
        rec = registry["projects"].get(project)
        current = self._read_text(path)
        removed_keys = sorted(
            k for k in (rec or {}).get("entries", []) if names is None or k.rsplit("@", 1)[0] in names
        )
        remaining = [k for k in (rec or {}).get("entries", []) if k not in removed_keys]
        action = "none"
        if current is not None:
            untouched = rec is not None and hashlib.sha256(current).hexdigest() == rec.get("written_sha256")
            if not remaining and untouched:
                if rec["existed"]:
                    self._write_project_file(path, base64.b64decode(rec["original"]))
                    action = "restored"
                else:
                    os.unlink(path)
                    action = "deleted"
            else:
                new_text, left = sources.remove_paths(self._decode(current), ours)
                if left == 0 and rec is not None and not rec["existed"] and not remaining:
                    os.unlink(path)
                    action = "deleted"
                elif new_text.encode() != current:
                    self._write_project_file(path, new_text.encode())
                    action = "edited"
        if rec is not None:
            if remaining:
                rec["entries"] = remaining
                after = self._read_text(path)
                rec["written_sha256"] = hashlib.sha256(after or b"").hexdigest()
            else:
                del registry["projects"][project]
            self._write_links(registry)
        return {"project": project, "file": path, "unlinked": removed_keys, "action": action}

    @staticmethod
    def _decode(data: bytes) -> str:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(f"{sources.SOURCES_FILE} is not UTF-8") from None

    # -- remove ---------------------------------------------------------------------------

    @_translate_os_errors
    def remove(self, name: str, version: str | None = None, *, force: bool = False) -> dict[str, Any]:
        """Remove an entry (every version of `name` when no version is given); refused while
        a project links it unless `force`, which unlinks it from those projects first."""
        with self._links_lock():
            if version:
                targets = [self.find(name, version)]
            else:
                targets = [e for e in self.entries() if e.name == check_name(name)]
            if not targets:
                raise NotFound(f"extension {name} is not installed")
            links = self.linked_projects()
            in_use = {e.key: links[e.key] for e in targets if links.get(e.key)}
            if in_use and not force:
                key, projects = next(iter(in_use.items()))
                raise Conflict(
                    f"{key} is linked by {len(projects)} project(s) ({', '.join(projects)}); "
                    "unlink it first or remove with force",
                    projects=projects,
                )
            unlinked: set[str] = set()
            for key, projects in in_use.items():
                for project in projects:
                    if os.path.isdir(project):
                        self._unlink_locked(project, [key])
                    else:
                        registry = self._read_links()
                        registry["projects"].pop(project, None)
                        self._write_links(registry)
                    unlinked.add(project)
            removed = []
            for entry in targets:
                with self._entry_lock(entry.name, entry.version):
                    if os.path.exists(entry.dir):
                        self._to_trash(entry.dir)
                        removed.append(entry.key)
                self._prune(os.path.dirname(entry.dir))
            self._forget_links(set(removed))
        return {"removed": removed, "unlinked_projects": sorted(unlinked)}

    def _forget_links(self, keys: set[str]) -> None:
        """Drop removed entries from the registry's records (links swamp already took out of a file)."""
        registry = self._read_links()
        changed = False
        for project, rec in list(registry["projects"].items()):
            kept = [k for k in rec.get("entries", []) if k not in keys]
            if kept != rec.get("entries", []):
                changed = True
                if kept:
                    rec["entries"] = kept
                else:
                    del registry["projects"][project]
        if changed:
            self._write_links(registry)

    def _prune(self, path: str) -> None:
        while path.startswith(self.store_dir + "/"):
            try:
                os.rmdir(path)
            except OSError:
                return
            path = os.path.dirname(path)
