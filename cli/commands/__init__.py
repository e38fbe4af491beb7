"""Command groups of `swamp`: one module each, found automatically.

Each module defines NAME, HELP, configure(parser) and run(args, ctx) -> int.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def load_commands() -> dict[str, ModuleType]:
    commands: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        commands[module.NAME] = module
    return commands
