from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from swampd.context.service import ContextService
from swampd.context.settings import ContextSettings


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Events:
    """What a service published: (topic, data, detail) in order."""

    def __init__(self) -> None:
        self.items: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []

    def __call__(self, topic: str, data: dict[str, Any], detail: dict[str, Any] | None = None) -> None:
        self.items.append((topic, data, detail))

    def types(self) -> list[str]:
        return [d["type"] for _, d, _ in self.items]


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
async def service(tmp_path: Path, events: Events) -> AsyncIterator[ContextService]:
    svc = ContextService(ContextSettings(max_value_bytes=1024, max_store_bytes=8192, default_ttl=60, max_ttl=600),
                         str(tmp_path / "context"), events)
    try:
        yield svc
    finally:
        await svc.aclose()
