"""`[vault]` in the host config file.

[vault]
keyring_backend = "keyring.backends.SecretService.Keyring"  # never plaintext/fail
keyring_service = "swampd"     # Secret Service items: service "<this>:<vault>"
host_vault = "host"            # the name of the host-level (keyring) vault
keyring_timeout = 15.0         # seconds a keyring call may take
rotation_length = 32           # default policy for vault.rotate
rotation_alphabet = "alnum"    # alnum | hex | urlsafe | printable | digits | literal chars
refresh_timeout = 30.0         # seconds a refresh command may run (swamp's default)
max_warm_keys = 4096           # derived keys kept in memory
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from swampd.config import settings_from_table
from swampd.vault.rotation import RotationPolicy


@dataclass(frozen=True)
class VaultSettings:
    keyring_backend: str = "keyring.backends.SecretService.Keyring"
    keyring_service: str = "swampd"
    host_vault: str = "host"
    keyring_timeout: float = 15.0
    rotation_length: int = 32
    rotation_alphabet: str = "alnum"
    refresh_timeout: float = 30.0
    max_warm_keys: int = 4096

    @classmethod
    def from_mapping(cls, table: Mapping[str, Any]) -> VaultSettings:
        settings = settings_from_table(cls, table, "vault")
        settings.default_policy().validate()
        return settings

    def default_policy(self) -> RotationPolicy:
        return RotationPolicy(length=self.rotation_length, alphabet=self.rotation_alphabet)
