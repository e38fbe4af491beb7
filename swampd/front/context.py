"""What the accelerated command modules share inside the daemon (built once by FrontService)."""

from __future__ import annotations

from dataclasses import dataclass

from swampd.front.definitions import DefinitionIndex
from swampd.front.store import SwampStore


@dataclass
class FrontContext:
    definitions: DefinitionIndex
    store: SwampStore
