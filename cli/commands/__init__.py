"""Command groups of `swamp`: one module each, found automatically.

Each module defines NAME, HELP, configure(parser) and run(args, ctx) -> int.
"""

from __future__ import annotations

from types import ModuleType


def load_commands() -> dict[str, ModuleType]:
    """Every command module (for help and listings; running one command imports only its module)."""
    import importlib
    import pkgutil

    commands: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        commands[module.NAME] = module
    return commands
