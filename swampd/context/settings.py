"""The `[context]` table of the host config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from swampd.config import settings_from_table
from swampd.errors import InvalidInput


@dataclass(frozen=True)
class ContextSettings:
    default_ttl: float = 3600.0
    """Seconds a value lives when the caller gives no ttl."""
    max_ttl: float = 86400.0
    """The longest ttl a caller may ask for (scratch space outlives a process, not the day)."""
    max_value_bytes: int = 1 << 20
    """Largest value (its compact JSON text) one key may hold."""
    max_store_bytes: int = 256 << 20
    """Bytes of values the whole store may hold (every scope together)."""

    @classmethod
    def from_mapping(cls, raw: dict[str, Any]) -> ContextSettings:
        settings = settings_from_table(cls, raw, "context")
        if not 0 < settings.default_ttl <= settings.max_ttl:
            raise InvalidInput("[context] default_ttl must be > 0 and <= max_ttl")
        if settings.max_value_bytes < 1 or settings.max_store_bytes < settings.max_value_bytes:
            raise InvalidInput("[context] max_value_bytes must be >= 1 and max_store_bytes >= max_value_bytes")
        return settings
