"""The `[extensions]` table of the host config file."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from swampd.config import settings_from_table
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
        settings = settings_from_table(cls, table, "extensions")
        for f in fields(settings):
            if getattr(settings, f.name) <= 0:
                raise InvalidInput(f"[extensions] {f.name} must be a positive number")
        return settings
