"""The async face of the extension store: what `swampd/api/extensions.py` calls.

Every store operation blocks (file IO, hashing, tar extraction), so each runs in a worker
thread. Changes are published on the `extensions` topic.
"""

from __future__ import annotations

import builtins
import functools
import os
import threading
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread

from swampd.extensions.resolve import Resolver
from swampd.extensions.settings import ExtensionSettings
from swampd.extensions.store import ExtensionStore

TOPIC = "extensions"
Publish = Callable[[str, dict[str, Any]], None]


class ExtensionService:
    def __init__(self, store: ExtensionStore, publish: Publish) -> None:
        self.store = store
        self.resolver = Resolver(store)
        self.publish = publish
        self._started = False
        self._start_lock = threading.Lock()

    @classmethod
    def from_config(cls, data_dir: str, table: dict[str, Any], publish: Publish) -> ExtensionService:
        settings = ExtensionSettings.from_mapping(table)
        return cls(ExtensionStore(os.path.join(data_dir, "extensions"), settings), publish)

    async def _run(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await anyio.to_thread.run_sync(functools.partial(self._call, func, *args, **kwargs))

    def _call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self._ensure_started()
        return func(*args, **kwargs)

    def _ensure_started(self) -> None:
        with self._start_lock:
            if self._started:
                return
            removed = self.store.cleanup_stale()
            self._started = True
        if removed:
            self.publish(TOPIC, {"type": "extension.cleaned", "removed": len(removed)})

    async def start(self) -> None:
        """Create the layout and remove staging dirs left by killed installs (once)."""
        await anyio.to_thread.run_sync(self._ensure_started)

    async def install(self, source: str, *, force: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = await self._run(self.store.install, source, force=force)
        if result["status"] != "unchanged":
            self.publish(TOPIC, {
                "type": "extension.installed",
                "name": result["name"],
                "version": result["version"],
                "checksum": result["checksum"],
                "status": result["status"],
            })
        return result

    async def list(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._run(self.store.list)
        return result

    async def remove(self, name: str, version: str | None = None, *, force: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = await self._run(self.store.remove, name, version, force=force)
        for key in result["removed"]:
            self.publish(TOPIC, {"type": "extension.removed", "extension": key})
        return result

    async def verify(self, name: str | None = None, version: str | None = None) -> dict[str, Any]:
        reports: list[dict[str, Any]] = await self._run(self.store.verify, name, version)
        drifted = [r for r in reports if not r["ok"]]
        for report in drifted:
            self.publish(TOPIC, {
                "type": "extension.drift",
                "extension": f"{report['name']}@{report['version']}",
                "changed": len(report["changed"]),
                "missing": len(report["missing"]),
                "added": len(report["added"]),
            })
        return {"ok": not drifted, "entries": reports}

    async def resolve(self, project: str, type_name: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._run(self.resolver.resolve, project, type_name)
        return result

    async def link(self, project: str, extensions: builtins.list[str] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = await self._run(self.store.link, project, extensions)
        self.publish(TOPIC, {"type": "extension.linked", "project": result["project"], "linked": result["linked"]})
        return result

    async def unlink(self, project: str, extensions: builtins.list[str] | None = None) -> dict[str, Any]:
        result: dict[str, Any] = await self._run(self.store.unlink, project, extensions)
        self.publish(TOPIC, {
            "type": "extension.unlinked", "project": result["project"], "unlinked": result["unlinked"],
        })
        return result
