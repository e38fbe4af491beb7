"""The layers of docs/internals.md: services and what they use never import the RPC layer (`swampd.api`);
only the server and the in-process runner, which call the handlers, do."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CALLERS_OF_HANDLERS = {"swampd/server/connection.py", "swampd/server/daemon.py", "swampd/server/rpc.py",
                       "swampd/inprocess.py"}


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, also under `if TYPE_CHECKING:` (a type-only import is still a cycle)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_nothing_below_the_rpc_layer_imports_it() -> None:
    offenders = {}
    for path in sorted((ROOT / "swampd").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("swampd/api/") or rel in CALLERS_OF_HANDLERS:
            continue
        bad = sorted(m for m in imported_modules(path) if m == "swampd.api" or m.startswith("swampd.api."))
        if bad:
            offenders[rel] = bad
    assert offenders == {}
