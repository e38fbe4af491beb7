"""Wire constants shared by the daemon, the client, the CLI and the console.

Standard library only: the CLI's hot path imports this module.
"""

from __future__ import annotations

PROTOCOL_VERSION = 1
"""Bumped whenever a change to the wire format or a method's meaning breaks old clients."""

MAX_LINE_BYTES = 16 * 1024 * 1024
"""Default longest NDJSON frame; a longer one is refused with INVALID_REQUEST and closes the connection."""

MAX_BATCH = 1000
"""Default most requests in one batch; a larger batch is answered with one INVALID_REQUEST error."""

# JSON-RPC 2.0 standard codes.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
# LSP's code for a request cancelled by `$/cancelRequest`.
REQUEST_CANCELLED = -32800

CANCEL_METHOD = "$/cancelRequest"
EVENT_METHOD = "events.event"

# Daemon errors: -32000..-32099, each with a stable `data.kind`.
DAEMON_ERRORS: dict[str, int] = {
    "error": -32000,
    "backend_unavailable": -32001,
    "not_found": -32002,
    "lock_timeout": -32003,
    "vault_locked": -32004,
    "version_mismatch": -32005,
    "conflict": -32006,
    "permission_denied": -32007,
    "unsupported": -32008,
    "timeout": -32009,
    "shutting_down": -32010,
    "call_failed": -32011,
    "invalid_input": -32012,
    "too_large": -32013,
}

STANDARD_KINDS: dict[int, str] = {
    PARSE_ERROR: "parse_error",
    INVALID_REQUEST: "invalid_request",
    METHOD_NOT_FOUND: "method_not_found",
    INVALID_PARAMS: "invalid_params",
    INTERNAL_ERROR: "internal_error",
    REQUEST_CANCELLED: "request_cancelled",
}


def kind_for_code(code: int) -> str:
    """The stable `data.kind` name for an error code."""
    if code in STANDARD_KINDS:
        return STANDARD_KINDS[code]
    for kind, value in DAEMON_ERRORS.items():
        if value == code:
            return kind
    return "error"
