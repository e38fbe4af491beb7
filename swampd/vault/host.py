"""The host-level vault: values in the system keyring, metadata in the index beside it.

Same method names as `LocalEncryptionVault` so the service treats both alike. Blocking
(D-Bus, file IO): call through a worker thread.
"""

from __future__ import annotations

from typing import Any

from swampd.errors import NotFound
from swampd.vault.keyring_backend import KeyringStore
from swampd.vault.local_encryption import validate_key
from swampd.vault.metadata import MetadataIndex


class HostVault:
    vault_type = "keyring"

    def __init__(self, name: str, store: KeyringStore, index: MetadataIndex) -> None:
        self.name = name
        self.store = store
        self.index = index

    def exists(self, key: str) -> bool:
        validate_key(key)
        return self.index.get(self.name, key) is not None or self.store.get(self.name, key) is not None

    def get(self, key: str) -> str:
        validate_key(key)
        value = self.store.get(self.name, key)
        if value is None:
            raise NotFound(f"secret {key} not found in vault {self.name}")
        return value

    def put(
        self, key: str, value: str, *, labels: dict[str, str] | None = None, rotated: bool = False
    ) -> dict[str, Any]:
        validate_key(key)
        self.store.set(self.name, key, value)
        return self.index.record_write(
            self.name, key, size=len(value.encode("utf-8")), labels=labels, rotated=rotated
        )

    def delete(self, key: str) -> bool:
        validate_key(key)
        in_store = self.store.delete(self.name, key)
        in_index = self.index.remove(self.name, key)
        return in_store or in_index

    def list(self) -> list[str]:
        return sorted(self.index.keys(self.name))

    def describe(self, key: str) -> dict[str, Any]:
        validate_key(key)
        entry = self.index.get(self.name, key)
        if entry is None:
            raise NotFound(f"secret {key} not found in vault {self.name}")
        return {
            "sizeBytes": entry.get("size"),
            "createdAt": entry.get("created_at"),
            "updatedAt": entry.get("updated_at"),
            "rotatedAt": entry.get("rotated_at"),
            "version": entry.get("version"),
            "labels": entry.get("labels", {}),
            "hasRefreshHook": "refresh" in entry,
        }

    def get_refresh_hook(self, key: str) -> dict[str, Any] | None:
        entry = self.index.get(self.name, key)
        return entry.get("refresh") if entry else None

    def put_refresh_hook(self, key: str, hook: dict[str, Any]) -> None:
        self.index.set_refresh(self.name, key, hook)
