"""The `[extensions]` table of the host config file."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from swampd.errors import InvalidInput

MIB = 1024 * 1024


@dataclass(frozen=True)
class ExtensionSettings:
    max_file_bytes: int = 1 * MIB
    """Largest single file in an extension (swamp's push limit)."""
    max_total_bytes: int = 10 * MIB
    """Largest sum of file sizes in an extension (swamp's push limit)."""
    max_files: int = 150
    """Most files in an extension (swamp's push limit)."""
    max_archive_bytes: int = 10 * MIB
    """Largest extension.tar.gz accepted, compressed."""
    lock_timeout: float = 30.0
    """Seconds an install, remove or link waits for the store's lock before `lock_timeout`."""

    @classmethod
    def from_mapping(cls, table: dict[str, Any]) -> ExtensionSettings:
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(table) - set(known))
        if unknown:
            raise InvalidInput(f"unknown [extensions] keys: {', '.join(unknown)}")
        values: dict[str, Any] = {}
        for key, value in table.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise InvalidInput(f"[extensions] {key} must be a positive number")
            values[key] = float(value) if key == "lock_timeout" else int(value)
        return cls(**values)
