"""VaultService: the daemon's vault subsystem (what `services.vault` is).

It resolves a vault by name (the host vault, or a vault of a registered repo, or of an
explicit `repo`), runs every blocking step (keyring, PBKDF2, secret file IO, refresh
commands) in worker threads, keeps derived keys warm until `lock()`/`aclose()`, writes the
audit trail and publishes names (never values) on the `vault` topic.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from swampd.errors import (
    BackendUnavailable,
    Conflict,
    InvalidParams,
    NotFound,
    SwampdError,
    Unsupported,
    VaultLocked,
)
from swampd.vault.audit import ACTIONS, AuditEntry, AuditTrail, AuditWriter, iso_now, parse_time
from swampd.vault.host import HostVault
from swampd.vault.keyring_backend import KeyringStore
from swampd.vault.keys import KeyCache
from swampd.vault.local_encryption import VAULT_TYPE as LOCAL_TYPE
from swampd.vault.local_encryption import LocalEncryptionVault, validate_key, validate_new_key
from swampd.vault.metadata import MetadataIndex
from swampd.vault.repo_config import VaultConfig, VaultConfigCache, find_repo_root
from swampd.vault.rotation import RotationPolicy, run_refresh_command
from swampd.vault.settings import VaultSettings

log = logging.getLogger(__name__)

T = TypeVar("T")
Publish = Callable[[str, dict[str, Any]], None]
TOPIC = "vault"
MAX_VALUE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Target:
    """A resolved vault: its backend, its audit trail and where it lives."""

    name: str
    type: str
    repo: str | None
    backend: Any
    audit: AuditTrail
    config: VaultConfig | None = None

    def ident(self) -> dict[str, Any]:
        return {"vaultName": self.name, "vaultType": self.type, "repo": self.repo}


def hook_is_stale(hook: dict[str, Any], now: datetime | None = None) -> bool:
    """swamp's `RefreshHook.isStale`: never refreshed, or `ttlMs` has passed since the last refresh."""
    last = hook.get("lastRefreshedAt")
    if not last:
        return True
    try:
        when = datetime.fromisoformat(str(last).replace("Z", "+00:00"))
        ttl_ms = float(hook.get("ttlMs", 0))
    except (TypeError, ValueError):
        return True
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return ((now or datetime.now(UTC)) - when).total_seconds() * 1000 >= ttl_ms


def hook_schedule(hook: dict[str, Any]) -> dict[str, Any]:
    """When a refresh hook last ran and when it is due (never its command: it may hold a token)."""
    ttl_ms = hook.get("ttlMs")
    last = hook.get("lastRefreshedAt")
    due: str | None = None
    if last and isinstance(ttl_ms, int | float) and not isinstance(ttl_ms, bool):
        try:
            when = datetime.fromisoformat(str(last).replace("Z", "+00:00"))
        except ValueError:
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            due = (when + timedelta(milliseconds=float(ttl_ms))).isoformat().replace("+00:00", "Z")
    return {"ttlMs": ttl_ms, "lastRefreshedAt": last, "dueAt": due, "stale": hook_is_stale(hook)}


def format_ttl_ms(ms: int) -> str:
    """swamp's `formatTtlMs`."""
    if ms < 1000:
        return f"{ms}ms"
    seconds = ms // 1000
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, rest = divmod(minutes, 60)
    return f"{hours}h" if rest == 0 else f"{hours}h{rest}m"


class VaultService:
    def __init__(
        self,
        settings: VaultSettings,
        *,
        data_dir: str,
        state_dir: str,
        publish: Publish,
        list_repo_dirs: Callable[[], list[str]] | None = None,
        resolve_repo: Callable[[str], str] | None = None,
    ) -> None:
        self.settings = settings
        self._publish = publish
        self._list_repo_dirs = list_repo_dirs or (lambda: [])
        self._resolve_repo = resolve_repo
        self._configs_cache = VaultConfigCache()
        self._audit_writer = AuditWriter()
        self._targets: dict[tuple[str, str, str], tuple[VaultConfig, Target]] = {}
        self._targets_lock = threading.Lock()
        self.keys = KeyCache(settings.max_warm_keys)
        self.index = MetadataIndex(os.path.join(data_dir, "vault", "index.json"))
        self.keyring = KeyringStore(settings.keyring_backend, settings.keyring_service)
        self.host = HostVault(settings.host_vault, self.keyring, self.index)
        self.host_audit = AuditTrail(os.path.join(state_dir, "audit"), private=True)
        self._locked = False
        self._key_locks: dict[tuple[str | None, str, str], anyio.Lock] = {}
        self._rotations = 0

    # -- plumbing --------------------------------------------------------------------

    @property
    def locked(self) -> bool:
        return self._locked

    def _require_unlocked(self) -> None:
        if self._locked:
            raise VaultLocked("the vault is locked; run `swamp vault unlock` first")

    async def _run(self, target: Target | None, func: Callable[..., T], *args: Any) -> T:
        """Run blocking work in a thread; keyring work under the keyring timeout."""
        if target is not None and target.type == HostVault.vault_type:
            with anyio.move_on_after(self.settings.keyring_timeout) as scope:
                return await anyio.to_thread.run_sync(partial(func, *args), abandon_on_cancel=True)
            if scope.cancelled_caught:
                raise BackendUnavailable(
                    f"the system keyring did not answer within {self.settings.keyring_timeout:g}s"
                )
        return await anyio.to_thread.run_sync(partial(func, *args))

    def _key_lock(self, target: Target, key: str) -> anyio.Lock:
        ident = (target.repo, target.name, key)
        lock = self._key_locks.get(ident)
        if lock is None:
            lock = self._key_locks[ident] = anyio.Lock()
        return lock

    def _emit(self, type_: str, target: Target | None = None, key: str | None = None, **extra: Any) -> None:
        data: dict[str, Any] = {"type": type_}
        if target is not None:
            data.update(vault=target.name, vaultType=target.type, repo=target.repo)
        if key is not None:
            data["key"] = key
        data.update(extra)
        try:
            self._publish(TOPIC, data)
        except Exception:  # noqa: BLE001 - an event must never fail the operation
            log.warning("vault: publishing %s failed", type_)

    def _audit_now(self, target: Target, action: str, key: str, caller: str) -> None:
        """Queue one audit line (written in order by the audit thread); never blocks, never fails."""
        entry = AuditEntry(
            action=action,
            timestamp=iso_now(),
            vaultName=target.name,
            vaultType=target.type,
            secretKey=key,
            callerContext=caller,
        )
        try:
            self._audit_writer.submit(target.audit, entry)
        except Exception:  # noqa: BLE001 - audit failures never fail the operation
            log.warning("vault: audit append failed for %s/%s", target.name, key)

    async def _audit(self, target: Target, action: str, key: str, caller: str) -> None:
        self._audit_now(target, action, key, caller)

    async def flush_audit(self) -> None:
        """Wait until every audit line queued so far is in its file."""
        await anyio.to_thread.run_sync(self._audit_writer.flush)

    # -- resolution ------------------------------------------------------------------

    def _host_target(self) -> Target:
        return Target(
            name=self.host.name,
            type=HostVault.vault_type,
            repo=None,
            backend=self.host,
            audit=self.host_audit,
        )

    def _repo_target(self, cfg: VaultConfig) -> Target:
        """The target of a config, reused while the config file is unchanged (same object)."""
        ident = (cfg.repo, cfg.name, cfg.path)
        with self._targets_lock:
            cached = self._targets.get(ident)
            if cached is not None and cached[0] is cfg:
                return cached[1]
        target = self._new_repo_target(cfg)
        with self._targets_lock:
            old = self._targets.get(ident)
            self._targets[ident] = (cfg, target)
        if old is not None:
            old[1].audit.close()
        return target

    def _new_repo_target(self, cfg: VaultConfig) -> Target:
        backend = None
        if cfg.type == LOCAL_TYPE:
            backend = LocalEncryptionVault(cfg.name, cfg.repo, cfg.config, self.keys)
        audit = AuditTrail(os.path.join(cfg.repo, ".swamp", "audit"))
        return Target(name=cfg.name, type=cfg.type, repo=cfg.repo, backend=backend, audit=audit, config=cfg)

    def _repo_roots(self, repo: str | None) -> list[str]:
        """Repo roots: the explicit `repo` (a path, or a registered name), else every registered one.

        Blocking (the registry may open stores): call through a worker thread.
        """
        if repo is not None:
            if not isinstance(repo, str) or not repo:
                raise InvalidParams("repo must be a repo path or a registered repo name")
            if not os.path.isdir(repo) and self._resolve_repo is not None and not os.path.isabs(repo):
                try:
                    repo = self._resolve_repo(repo)
                except SwampdError:
                    raise NotFound(f"repo {repo} is not registered") from None
            if not os.path.isdir(repo):
                raise NotFound(f"repo {repo} does not exist")
            return [find_repo_root(repo)]
        roots: list[str] = []
        try:
            dirs = list(self._list_repo_dirs())
        except Exception:  # noqa: BLE001 - the registry is another subsystem; degrade to none
            log.warning("vault: listing registered repos failed")
            dirs = []
        for d in dirs:
            if os.path.isdir(d):
                root = os.path.realpath(d)
                if root not in roots:
                    roots.append(root)
        return roots

    def _configs_sync(self, repo: str | None, *, force: bool = False) -> list[VaultConfig]:
        return [c for r in self._repo_roots(repo) for c in self._configs_cache.get(r, force=force)]

    async def _configs(self, repo: str | None) -> list[VaultConfig]:
        return await anyio.to_thread.run_sync(self._configs_sync, repo)

    def _resolve_sync(self, vault: str | None, repo: str | None = None) -> Target:
        """The vault named `vault` (the host vault when omitted and no repo is given). Blocking."""
        if vault is not None and not isinstance(vault, str):
            raise InvalidParams("vault must be a string")
        if repo is None and (vault is None or vault == self.host.name):
            return self._host_target()
        if vault is None:
            raise InvalidParams("vault is required with repo")
        matches = [c for c in self._configs_sync(repo) if c.name == vault]
        if not matches:  # maybe created a moment ago: look at the files now
            matches = [c for c in self._configs_sync(repo, force=True) if c.name == vault]
        if not matches:
            where = f"repo {repo}" if repo else "the host vault or any registered repo"
            raise NotFound(f"vault {vault} not found in {where}")
        if len(matches) > 1:
            raise Conflict(f"vault {vault} exists in {len(matches)} repos; pass repo to choose one")
        target = self._repo_target(matches[0])
        if target.backend is None:
            raise Unsupported(
                f"vault {vault} has type {target.type}; swampd serves keyring and local_encryption"
            )
        return target

    def _resolve_fresh(self, vault: str | None, repo: str | None) -> Target | None:
        """The target from memory alone (no file access), or None when that needs a look at disk."""
        if repo is None and (vault is None or vault == self.host.name):
            return self._host_target()
        if repo is None or not isinstance(vault, str) or not isinstance(repo, str):
            return None
        configs = self._configs_cache.peek(repo)
        if configs is None:
            return None
        matches = [c for c in configs if c.name == vault]
        if len(matches) != 1 or matches[0].type != LOCAL_TYPE:
            return None
        return self._repo_target(matches[0])

    async def resolve(self, vault: str | None, repo: str | None = None) -> Target:
        """The vault named `vault` (the host vault when omitted and no repo is given)."""
        if repo is None and (vault is None or vault == self.host.name):
            return self._host_target()
        return await anyio.to_thread.run_sync(self._resolve_sync, vault, repo)

    # -- listing ---------------------------------------------------------------------

    async def list(self, vault: str | None = None, repo: str | None = None) -> dict[str, Any]:
        """Vaults and their keys with metadata; never values."""
        targets: list[Target] = []
        if vault is not None or repo is not None:
            targets.append(await self.resolve(vault, repo))
        else:
            targets.append(self._host_target())
            targets.extend(self._repo_target(c) for c in await self._configs(None))
        vaults = [await self._describe_vault(t) for t in targets]
        return {"locked": self._locked, "vaults": vaults}

    async def _describe_vault(self, target: Target) -> dict[str, Any]:
        info: dict[str, Any] = {
            "name": target.name,
            "type": target.type,
            "repo": target.repo,
            "supported": target.backend is not None,
            "keys": [],
        }
        if target.config is not None:
            info["id"] = target.config.id
            info["auditReads"] = target.config.audit_reads
        if target.backend is None:
            return info

        def collect() -> list[dict[str, Any]]:
            rows = []
            for key in target.backend.list():
                try:
                    rows.append({"key": key, **self._describe_key(target, key)})
                except NotFound:
                    continue
            return rows

        try:
            info["keys"] = await self._run(target, collect)
        except SwampdError as exc:
            info["error"] = {"kind": exc.kind, "message": exc.message}
        return info

    @staticmethod
    def _index_name(target: Target) -> str | None:
        """Where a repo vault's metadata lives in the index (the host vault keeps its own)."""
        return None if target.repo is None else f"{target.type}:{target.repo}:{target.name}"

    def _describe_key(self, target: Target, key: str) -> dict[str, Any]:
        """Backend metadata plus what the index knows of swampd's writes (labels, version, rotation).

        Blocking. The file's own mtime stays the `updatedAt` of a repo secret (swamp may write it).
        """
        meta = dict(target.backend.describe(key))
        name = self._index_name(target)
        if name is not None:
            entry = self.index.get(name, key)
            if entry is not None:
                meta.setdefault("createdAt", entry.get("created_at"))
                meta["rotatedAt"] = entry.get("rotated_at")
                meta["version"] = entry.get("version")
                meta["labels"] = entry.get("labels", {})
        if meta.get("hasRefreshHook"):
            try:
                hook = target.backend.get_refresh_hook(key)
            except SwampdError:
                hook = None  # a locked or unreadable hook: the flag alone says there is one
            if isinstance(hook, dict):
                meta["refresh"] = hook_schedule(hook)
        return meta

    # -- values ----------------------------------------------------------------------

    async def get(
        self,
        vault: str | None,
        key: str,
        *,
        repo: str | None = None,
        reveal: bool = False,
        caller: str = "swampd",
        audit: bool = True,
    ) -> dict[str, Any]:
        """Metadata of a secret; its value only with `reveal` (audited unless `audit` is false: the
        `swamp` front reading a vault swamp itself would not audit reads of)."""
        validate_key(key)
        target: Target | None
        if not reveal:
            target = await self.resolve(vault, repo)
            meta = await self._run(target, self._describe_key, target, key)
            read_annotation = getattr(target.backend, "get_annotation", None)
            if meta.get("hasAnnotation") and read_annotation is not None and not self._locked:
                # what `swamp vault inspect` shows: the annotation swamp (or swampd) wrote, labels included
                annotation = await self._run(target, read_annotation, key)
                if annotation is not None:
                    meta["annotation"] = annotation
                    if isinstance(annotation.get("labels"), dict):
                        meta["labels"] = annotation["labels"]
            return {**self._reply_head(target, key), **meta, "revealed": False}
        self._require_unlocked()
        target = self._resolve_fresh(vault, repo)
        value = None
        if target is not None and isinstance(target.backend, LocalEncryptionVault):
            # Warm path on the loop: stat calls and an in-memory decrypt, no disk reads of secrets.
            value = target.backend.get_warm(key)
        if value is None:

            def read() -> tuple[Target, str, dict[str, Any] | None]:
                # One worker-thread hop: resolve, read the file, derive the key if cold, decrypt.
                resolved = self._resolve_sync(vault, repo)
                return resolved, resolved.backend.get(key), resolved.backend.get_refresh_hook(key)

            if repo is None and (vault is None or vault == self.host.name):
                found, stored, hook = await self._run(self._host_target(), read)
            else:
                found, stored, hook = await anyio.to_thread.run_sync(read)
            target, value = found, stored
            if hook is not None and hook_is_stale(hook):
                value = await self._refresh(found, key, stored, caller)
        assert target is not None
        if audit:
            self._audit_now(target, "get", key, caller)
        self._emit("vault.read", target, key)
        return {**self._reply_head(target, key), "value": value, "revealed": True}

    async def _refresh(self, target: Target, key: str, stale_value: str, caller: str) -> str:
        """Run a stale refresh hook like swamp's `VaultService.get`: store and return the new
        value; on failure log (without output) and return the stored, stale value."""
        async with self._key_lock(target, key):
            hook = await self._run(target, target.backend.get_refresh_hook, key)
            if hook is None or not hook_is_stale(hook) or not isinstance(hook.get("command"), str):
                return str(await self._run(target, target.backend.get, key))  # refreshed meanwhile
            self._rotations += 1
            try:
                value = await anyio.to_thread.run_sync(
                    partial(
                        run_refresh_command,
                        hook["command"],
                        timeout=self.settings.refresh_timeout,
                        cwd=target.repo,
                    )
                )
                await self._store(target, key, value, labels=None, rotated=True)
                await self._run(
                    target, target.backend.put_refresh_hook, key, {**hook, "lastRefreshedAt": iso_now()}
                )
            except SwampdError as exc:
                log.warning(
                    "vault: refresh hook of %s/%s failed (%s); serving the stored value",
                    target.name,
                    key,
                    exc.kind,
                )
                self._emit(
                    "vault.refresh.failed", target, key, error={"kind": exc.kind, "message": exc.message}
                )
                return stale_value
            finally:
                self._rotations -= 1
        self._audit_now(target, "put", key, caller.replace("vault.get", "vault.refresh"))
        self._emit("vault.refreshed", target, key)
        return value

    @staticmethod
    def _reply_head(target: Target, key: str) -> dict[str, Any]:
        return {"vaultName": target.name, "secretKey": key, "vaultType": target.type, "repo": target.repo}

    async def put(
        self,
        vault: str | None,
        key: str,
        value: str,
        *,
        repo: str | None = None,
        overwrite: bool = False,
        labels: dict[str, str] | None = None,
        refresh_command: str | None = None,
        refresh_ttl: float | None = None,
        allow_empty: bool = False,
        caller: str = "swampd",
    ) -> dict[str, Any]:
        """Store a value; replacing an existing one needs `overwrite`, an empty one `allow_empty`."""
        validate_new_key(key)
        if not isinstance(value, str):
            raise InvalidParams("value must be a string")
        if not value and not allow_empty:
            raise InvalidParams("the value is empty; pass allow_empty to store an empty secret", param="value")
        if len(value.encode("utf-8")) > MAX_VALUE_BYTES:
            raise InvalidParams("value is larger than 1 MiB")
        if labels is not None and (
            not isinstance(labels, dict)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items())
        ):
            raise InvalidParams("labels must map strings to strings")
        hook = self._hook(refresh_command, refresh_ttl)
        self._require_unlocked()
        target = await self.resolve(vault, repo)
        async with self._key_lock(target, key):
            existed = await self._run(target, target.backend.exists, key)
            if existed and not overwrite:
                raise Conflict(
                    f"secret {key} already exists in vault {target.name}; pass overwrite to replace it"
                )
            await self._store(target, key, value, labels=labels, rotated=False)
            if hook is not None:
                await self._run(target, target.backend.put_refresh_hook, key, hook)
        await self._audit(target, "put", key, caller)
        timestamp = iso_now()
        self._emit("vault.put", target, key, overwritten=existed)
        out = {**target.ident(), "secretKey": key, "overwritten": existed, "timestamp": timestamp}
        if labels:
            out["labels"] = labels
        return out

    def _hook(self, command: str | None, ttl: float | None) -> dict[str, Any] | None:
        if command is None:
            if ttl is not None:
                raise InvalidParams("refresh_ttl needs refresh_command")
            return None
        if not isinstance(command, str) or not command.strip():
            raise InvalidParams("refresh_command must be a non-empty string")
        ttl = 3000.0 if ttl is None else ttl
        if not isinstance(ttl, (int, float)) or isinstance(ttl, bool) or ttl <= 0:
            raise InvalidParams("refresh_ttl must be a positive number of seconds")
        ms = int(ttl * 1000)
        return {"command": command, "ttlMs": ms, "ttl": format_ttl_ms(ms), "lastRefreshedAt": None}

    async def _store(
        self, target: Target, key: str, value: str, *, labels: dict[str, str] | None, rotated: bool
    ) -> None:
        if target.type == HostVault.vault_type:
            await self._run(target, partial(target.backend.put, key, value, labels=labels, rotated=rotated))
            return
        await self._run(target, target.backend.put, key, value)
        name = self._index_name(target)
        if name is not None:
            size = len(value.encode("utf-8"))
            await self._run(
                target, partial(self.index.record_write, name, key, size=size, labels=labels, rotated=rotated)
            )
        if labels:

            def annotate() -> None:
                current = target.backend.get_annotation(key) or {}
                merged = {**current.get("labels", {}), **labels}
                target.backend.put_annotation(key, {**current, "labels": merged, "updatedAt": iso_now()})

            await self._run(target, annotate)

    async def delete(
        self, vault: str | None, key: str, *, repo: str | None = None, caller: str = "swampd"
    ) -> dict[str, Any]:
        """Remove a secret (with its annotation and refresh hook)."""
        validate_key(key)
        self._require_unlocked()
        target = await self.resolve(vault, repo)
        async with self._key_lock(target, key):
            existed = await self._run(target, target.backend.delete, key)
            if (name := self._index_name(target)) is not None:
                await self._run(target, self.index.remove, name, key)
        out: dict[str, Any] = {**target.ident(), "secretKey": key, "timestamp": iso_now()}
        if not existed:
            out["noOp"] = True
            return out
        await self._audit(target, "delete", key, caller)
        self._emit("vault.deleted", target, key)
        return out

    # -- rotation --------------------------------------------------------------------

    async def rotate(
        self,
        vault: str | None,
        key: str,
        *,
        repo: str | None = None,
        length: int | None = None,
        alphabet: str | None = None,
        command: str | None = None,
        timeout: float | None = None,
        caller: str = "swampd",
    ) -> dict[str, Any]:
        """Replace a secret with a new value (policy or refresh command); the old stays on failure."""
        validate_key(key)
        if command is not None and (not isinstance(command, str) or not command.strip()):
            raise InvalidParams("command must be a non-empty string")
        if command is not None and (length is not None or alphabet is not None):
            raise InvalidParams("give either command or length/alphabet, not both")
        if timeout is not None and (
            not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout <= 3600
        ):
            raise InvalidParams("timeout must be seconds in (0, 3600]")
        default = self.settings.default_policy()
        policy = RotationPolicy(
            length=default.length if length is None else length,
            alphabet=default.alphabet if alphabet is None else alphabet,
        ).validate()
        self._require_unlocked()
        target = await self.resolve(vault, repo)
        async with self._key_lock(target, key):
            if not await self._run(target, target.backend.exists, key):
                raise NotFound(f"secret {key} not found in vault {target.name}")
            hook = None
            if command is None:
                hook = await self._run(target, target.backend.get_refresh_hook, key)
                if hook is not None and isinstance(hook.get("command"), str):
                    command = hook["command"]
            source = "policy" if command is None else ("refresh_hook" if hook else "command")
            self._emit("vault.rotate.started", target, key, source=source)
            started = time.monotonic()
            self._rotations += 1
            try:
                if command is None:
                    new_value = policy.generate()
                else:
                    new_value = await anyio.to_thread.run_sync(
                        partial(
                            run_refresh_command,
                            command,
                            timeout=timeout or self.settings.refresh_timeout,
                            cwd=target.repo,
                        )
                    )
                self._require_unlocked()
                await self._store(target, key, new_value, labels=None, rotated=True)
                del new_value
                if hook is not None:
                    await self._run(
                        target, target.backend.put_refresh_hook, key, {**hook, "lastRefreshedAt": iso_now()}
                    )
            except SwampdError as exc:
                self._emit(
                    "vault.rotate.failed",
                    target,
                    key,
                    source=source,
                    error={"kind": exc.kind, "message": exc.message},
                )
                raise
            finally:
                self._rotations -= 1
        rotated_at = iso_now()
        await self._audit(target, "put", key, caller)
        self._emit("vault.rotated", target, key, source=source, rotatedAt=rotated_at)
        return {
            **target.ident(),
            "secretKey": key,
            "source": source,
            "rotatedAt": rotated_at,
            "seconds": round(time.monotonic() - started, 3),
        }

    # -- audit -----------------------------------------------------------------------

    async def audit(
        self,
        *,
        vault: str | None = None,
        key: str | None = None,
        action: str | None = None,
        since: str | float | None = "7d",
        until: str | float | None = None,
        limit: int = 100,
        repo: str | None = None,
    ) -> dict[str, Any]:
        """swamp's `audit-trail` shape: {entries, returnedCount, truncated}, newest `limit`."""
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise InvalidParams("limit must be a positive integer")
        if action is not None and action not in ACTIONS:
            raise InvalidParams(f"action must be one of {', '.join(ACTIONS)} (swamp's audit actions)", param="action")
        now = datetime.now(UTC)
        start = parse_time(since, now=now, param="since") or datetime.fromtimestamp(0, UTC)
        end = parse_time(until, now=now, param="until") or now

        def read() -> list[dict[str, Any]]:
            trails: list[tuple[str | None, AuditTrail]] = []
            if repo is None:
                trails.append((None, self.host_audit))
            trails.extend((r, AuditTrail(os.path.join(r, ".swamp", "audit"))) for r in self._repo_roots(repo))
            out: list[dict[str, Any]] = []
            for root, trail in trails:
                found = trail.read(start, end, vault=vault, key=key, action=action)
                out.extend({**e, "repo": root} for e in found)
            out.sort(key=lambda e: str(e["timestamp"]))
            return out

        await self.flush_audit()
        entries = await anyio.to_thread.run_sync(read)
        truncated = len(entries) > limit
        entries = entries[-limit:]
        return {"entries": entries, "returnedCount": len(entries), "truncated": truncated}

    # -- lock ------------------------------------------------------------------------

    async def lock(self) -> dict[str, Any]:
        """Drop every warm key and refuse value operations until unlock."""
        self._locked = True
        dropped = len(self.keys)
        self.keys.clear()
        self._emit("vault.locked", dropped_keys=dropped)
        return {"locked": True, "droppedKeys": dropped}

    async def unlock(self) -> dict[str, Any]:
        """Allow value operations again (keys are derived again on first use)."""
        was = self._locked
        self._locked = False
        if was:
            self._emit("vault.unlocked")
        return {"locked": False}

    def busy_reason(self) -> str | None:
        """The daemon must not exit on idle while a rotation runs."""
        return f"{self._rotations} vault rotation(s)" if self._rotations else None

    def status(self) -> dict[str, Any]:
        return {
            "locked": self._locked,
            "warmKeys": len(self.keys),
            "keyHits": self.keys.hits,
            "derivations": self.keys.derivations,
            "hostVault": self.host.name,
            "keyringBackend": self.settings.keyring_backend,
        }

    async def aclose(self) -> None:
        """Daemon stop: forget every derived key and all key material; flush and close audit files."""
        self.keys.clear()
        await anyio.to_thread.run_sync(self._audit_writer.close)
        with self._targets_lock:
            targets = [t for _, t in self._targets.values()]
            self._targets.clear()
        for target in targets:
            target.audit.close()
        self.host_audit.close()
