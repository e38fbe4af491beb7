"""Fixtures for the extension store tests: a store in a temp data dir, the async service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from swampd.extensions.service import ExtensionService
from swampd.extensions.settings import ExtensionSettings
from swampd.extensions.store import ExtensionStore


@pytest.fixture
def store_root(tmp_path: Path) -> Path:
    return tmp_path / "data" / "extensions"


@pytest.fixture
def store(store_root: Path) -> ExtensionStore:
    return ExtensionStore(str(store_root), ExtensionSettings())


@pytest.fixture
def events() -> list[tuple[str, dict[str, Any]]]:
    return []


@pytest.fixture
def service(store: ExtensionStore, events: list[tuple[str, dict[str, Any]]]) -> ExtensionService:
    return ExtensionService(store, lambda topic, data: events.append((topic, data)))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
