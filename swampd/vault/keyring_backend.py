"""The host vault's values in the operating system's keyring (Secret Service on Linux).

The backend class is chosen explicitly from config (default
`keyring.backends.SecretService.Keyring`), never by keyring's auto-detection, and the
plaintext and fail backends are refused. Items are stored as service `<prefix>:<vault>`,
username `<key>`. All calls block on D-Bus: run them in a worker thread. keyring and D-Bus
errors become swampd errors here, without their text.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
from collections.abc import Iterator
from typing import Any

from swampd.errors import BackendUnavailable, InvalidInput, VaultLocked

VAULT_TYPE = "keyring"

_REFUSED = (
    "keyring.backends.fail",
    "keyring.backends.null",
    "keyring.backends.chainer",
    "keyrings.alt.file",
)


def load_backend(import_path: str) -> Any:
    """Instantiate the keyring backend class named by `module.Class`."""
    module_name, _, cls_name = import_path.rpartition(".")
    if not module_name or module_name.startswith(_REFUSED) or "Plaintext" in cls_name:
        raise InvalidInput(f"vault.keyring_backend {import_path} is refused: it would not protect secrets")
    try:
        cls = getattr(importlib.import_module(module_name), cls_name)
    except (ImportError, AttributeError):
        raise InvalidInput(f"vault.keyring_backend {import_path} cannot be imported") from None
    return cls()


class KeyringStore:
    """get/set/delete of host secrets in one keyring backend; serialized, thread-safe."""

    vault_type = VAULT_TYPE

    def __init__(self, backend_path: str, service_prefix: str) -> None:
        self.backend_path = backend_path
        self.service_prefix = service_prefix
        self._backend: Any = None
        self._lock = threading.Lock()

    def _service(self, vault: str) -> str:
        return f"{self.service_prefix}:{vault}"

    @contextlib.contextmanager
    def _mapped(self, action: str) -> Iterator[Any]:
        from keyring import errors as kerr

        with self._lock:
            try:
                if self._backend is None:
                    backend = load_backend(self.backend_path)
                    _ = backend.priority  # raises when the Secret Service is unreachable
                    self._backend = backend
                yield self._backend
            except kerr.KeyringLocked:
                raise VaultLocked(f"the system keyring is locked; unlock it to {action}") from None
            except (kerr.KeyringError, RuntimeError, OSError, ConnectionError):
                raise BackendUnavailable(
                    f"the system keyring ({self.backend_path.rsplit('.', 2)[-2]}) is unreachable"
                    f" while trying to {action}; is a Secret Service running on this D-Bus session?"
                ) from None
            except Exception as exc:  # jeepney/secretstorage raise their own classes
                if type(exc).__module__.split(".")[0] in ("jeepney", "secretstorage", "keyring"):
                    raise BackendUnavailable(f"the system keyring failed while trying to {action}") from None
                raise

    def check(self) -> None:
        """Raise BackendUnavailable unless the backend answers."""
        with self._mapped("connect"):
            pass

    def get(self, vault: str, key: str) -> str | None:
        with self._mapped("read a secret") as backend:
            value: str | None = backend.get_password(self._service(vault), key)
            return value

    def set(self, vault: str, key: str, value: str) -> None:
        with self._mapped("store a secret") as backend:
            backend.set_password(self._service(vault), key, value)

    def delete(self, vault: str, key: str) -> bool:
        from keyring import errors as kerr

        with self._mapped("delete a secret") as backend:
            try:
                backend.delete_password(self._service(vault), key)
            except kerr.PasswordDeleteError:
                return False
            return True
