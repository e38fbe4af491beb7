"""What the accelerated command modules share inside the daemon (built once by FrontService)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from swampd.front.definitions import DefinitionIndex
from swampd.front.repo import Markers
from swampd.front.store import SwampStore
from swampd.front.typefacts import TypeFacts


@dataclass
class FrontContext:
    definitions: DefinitionIndex
    store: SwampStore
    types: TypeFacts
    markers: Markers
    reveal: Callable[[str, str, str, str], Awaitable[str]] | None = None
    """(vault, key, repo, caller) -> a repo vault's value from the daemon's vault, warm keys, unaudited."""
