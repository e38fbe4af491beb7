"""Errors raised by swampd services and turned into JSON-RPC errors at the RPC boundary.

    SwampdError                      every error a client may see; code + stable kind
    ├── InvalidParams                wrong, missing or malformed parameters (-32602)
    ├── InvalidInput                 parameters well-formed but refused (bad manifest, bad name)
    ├── NotFound                     a repo, key, job, vault or extension does not exist
    ├── Conflict                     exists already, or is in use (overwrite without flag, linked)
    ├── PermissionDenied             refused by policy (read-only, another uid)
    ├── BackendUnavailable           a datastore, keyring or remote host cannot be reached
    ├── LockTimeout                  a lock could not be taken in time
    ├── VaultLocked                  the vault is locked; unlock first
    ├── VersionMismatch              client and daemon speak different protocols
    ├── TooLarge                     a value, archive or frame over its limit
    ├── Timeout                      an operation ran out of time
    ├── Unsupported                  the backend or platform cannot do this
    ├── ShuttingDown                 the daemon is draining and takes no new work
    └── CallFailed                   a shared (coalesced) call or a job failed

Messages are written for the user and must never contain secret values or raw
exception text from a third-party library: translate at the adapter boundary.
"""

from __future__ import annotations

from typing import Any

from swampd import protocol


class SwampdError(Exception):
    """Raised for any failure that is reported to a client."""

    kind = "error"

    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message)
        self.message = message
        self.data = data

    @property
    def code(self) -> int:
        if self.kind in protocol.STANDARD_KINDS.values():
            return next(c for c, k in protocol.STANDARD_KINDS.items() if k == self.kind)
        return protocol.DAEMON_ERRORS.get(self.kind, protocol.DAEMON_ERRORS["error"])

    def to_error(self) -> dict[str, Any]:
        """The JSON-RPC `error` object."""
        return {"code": self.code, "message": self.message, "data": {"kind": self.kind, **self.data}}


class InvalidParams(SwampdError):
    """Raised when parameters are missing, of the wrong type or malformed."""

    kind = "invalid_params"


class InvalidInput(SwampdError):
    """Raised when parameters are well-formed but their content is refused."""

    kind = "invalid_input"


class NotFound(SwampdError):
    """Raised when the named repo, key, job, vault or extension does not exist."""

    kind = "not_found"


class Conflict(SwampdError):
    """Raised when the target exists already or is in use."""

    kind = "conflict"


class PermissionDenied(SwampdError):
    """Raised when policy refuses the operation."""

    kind = "permission_denied"


class BackendUnavailable(SwampdError):
    """Raised when a datastore, keyring or remote host cannot be reached."""

    kind = "backend_unavailable"


class LockTimeout(SwampdError):
    """Raised when a lock could not be acquired within its budget."""

    kind = "lock_timeout"


class VaultLocked(SwampdError):
    """Raised when a vault operation needs keys and the vault is locked."""

    kind = "vault_locked"


class VersionMismatch(SwampdError):
    """Raised when client and daemon protocol versions differ."""

    kind = "version_mismatch"


class TooLarge(SwampdError):
    """Raised when a value, archive or frame exceeds its limit."""

    kind = "too_large"


class Timeout(SwampdError):
    """Raised when an operation runs out of time."""

    kind = "timeout"


class Unsupported(SwampdError):
    """Raised when the backend or platform cannot perform the operation."""

    kind = "unsupported"


class ShuttingDown(SwampdError):
    """Raised when the daemon is draining and accepts no new work."""

    kind = "shutting_down"


class CallFailed(SwampdError):
    """Raised when a shared call or a job failed; every waiter receives the same error."""

    kind = "call_failed"


ERROR_CLASSES: dict[str, type[SwampdError]] = {
    cls.kind: cls
    for cls in (
        SwampdError, InvalidParams, InvalidInput, NotFound, Conflict, PermissionDenied,
        BackendUnavailable, LockTimeout, VaultLocked, VersionMismatch, TooLarge, Timeout,
        Unsupported, ShuttingDown, CallFailed,
    )
}


def from_error(error: dict[str, Any]) -> SwampdError:
    """Rebuild the error class from a JSON-RPC error object (the inverse of `to_error`)."""
    data = dict(error.get("data") or {})
    kind = data.pop("kind", "error")
    cls = ERROR_CLASSES.get(kind, SwampdError)
    exc = cls(str(error.get("message", "")), **data)
    return exc
