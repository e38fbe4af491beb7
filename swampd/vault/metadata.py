"""The host vault's metadata index: names, labels, times, version counter, size; never values.

The keyring cannot list its items, so this file is also how `vault.list` knows the keys.
One JSON file (0600, in a 0700 dir under `data_dir`), rewritten atomically; thread-safe.

    {"version": 1, "vaults": {"host": {"<key>": {"labels": {}, "created_at": ...,
      "updated_at": ..., "rotated_at": null, "version": 3, "size": 24,
      "refresh": {"command": "...", "timeout": 30.0} | absent}}}}
"""

from __future__ import annotations

import copy
import json
import os
import threading
import time
from typing import Any

from swampd.errors import BackendUnavailable

INDEX_VERSION = 1


class MetadataIndex:
    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._data: dict[str, Any] | None = None

    def _load(self) -> dict[str, Any]:
        if self._data is None:
            try:
                with open(self.path, encoding="utf-8") as fh:
                    data = json.load(fh)
                if not isinstance(data, dict) or not isinstance(data.get("vaults"), dict):
                    raise ValueError
            except FileNotFoundError:
                data = {"version": INDEX_VERSION, "vaults": {}}
            except (OSError, ValueError):
                raise BackendUnavailable(f"vault metadata index {self.path} is unreadable") from None
            self._data = data
        return self._data

    def _save(self, data: dict[str, Any]) -> None:
        directory = os.path.dirname(self.path)
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            tmp = f"{self.path}.tmp.{os.getpid()}.{threading.get_ident()}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=1, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except OSError:
            raise BackendUnavailable(f"vault metadata index {self.path} cannot be written") from None

    def keys(self, vault: str) -> dict[str, dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._load()["vaults"].get(vault, {}))

    def get(self, vault: str, key: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._load()["vaults"].get(vault, {}).get(key)
            return copy.deepcopy(entry) if entry is not None else None

    def record_write(
        self,
        vault: str,
        key: str,
        *,
        size: int,
        labels: dict[str, str] | None = None,
        rotated: bool = False,
        now: float | None = None,
    ) -> dict[str, Any]:
        """Note a stored value (new or replaced); returns the updated entry."""
        now = time.time() if now is None else now
        with self._lock:
            data = copy.deepcopy(self._load())
            entry = (
                data["vaults"]
                .setdefault(vault, {})
                .setdefault(key, {"labels": {}, "created_at": now, "rotated_at": None, "version": 0})
            )
            entry["updated_at"] = now
            entry["size"] = size
            entry["version"] = int(entry.get("version", 0)) + 1
            if labels:
                entry["labels"] = {**entry.get("labels", {}), **labels}
            if rotated:
                entry["rotated_at"] = now
            self._save(data)
            self._data = data
            return copy.deepcopy(entry)

    def set_refresh(self, vault: str, key: str, refresh: dict[str, Any] | None) -> None:
        with self._lock:
            data = copy.deepcopy(self._load())
            entry = data["vaults"].get(vault, {}).get(key)
            if entry is None:
                return
            if refresh is None:
                entry.pop("refresh", None)
            else:
                entry["refresh"] = refresh
            self._save(data)
            self._data = data

    def remove(self, vault: str, key: str) -> bool:
        with self._lock:
            data = copy.deepcopy(self._load())
            existed = data["vaults"].get(vault, {}).pop(key, None) is not None
            if existed:
                self._save(data)
                self._data = data
            return existed
