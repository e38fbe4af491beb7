"""Which types a model/vault/datastore/report source file provides, found without running it.

The heuristic (documented in docs/extensions.md): swamp loads a file when it exports an
object named `model`, `vault`, `datastore` or `report` (reference §2.1). We look for
`const <kind> = ...{` (declared with `export const`, or exported later with
`export { <kind> }`), take the first object literal after the `=`, and read the
`type: "<@collective/name>"` property at the top level of that object (nested objects,
strings, template literals and comments are skipped). Files exporting only `extension`
(methods added to an existing type) provide no type. Compiled `.js` bundles are scanned
the same way.
"""

from __future__ import annotations

import os
import re

EXPORT_KINDS = ("model", "vault", "datastore", "report")
SCANNED_SUFFIXES = (".ts", ".js", ".mjs")
_DECL = re.compile(r"\b(?:export\s+)?(?:const|let|var)\s+(model|vault|datastore|report)\b[^=]*=")
_EXPORT_LIST = re.compile(r"\bexport\s*\{([^}]*)\}")
_TYPE_KEY = re.compile(r"""(?:type|["']type["'])\s*:\s*(["'`])(@[^"'`\s]+)\1""")


def _skip_string(text: str, i: int) -> int:
    quote = text[i]
    i += 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == quote:
            return i + 1
        i += 1
    return i


def _top_level_type(text: str, start: int) -> str | None:
    """The `type:` string at depth 1 of the object literal opening at `text[start] == '{'`."""
    depth = 0
    i = start
    n = len(text)
    while i < n:
        c = text[i]
        if depth == 1 and c in "t\"'":
            prev = text[i - 1] if i else ""
            if not (prev.isalnum() or prev in "_$."):
                match = _TYPE_KEY.match(text, i)
                if match:
                    return match.group(2)
        if c in "\"'`":
            i = _skip_string(text, i)
            continue
        if text.startswith("//", i):
            nl = text.find("\n", i)
            i = n if nl < 0 else nl
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if c in "{[(":
            depth += 1
        elif c in "}])":
            depth -= 1
            if depth == 0:
                return None
        i += 1
    return None


def _exported_names(text: str) -> set[str]:
    names: set[str] = set()
    for match in _EXPORT_LIST.finditer(text):
        for item in match.group(1).split(","):
            words = item.split()
            if words:
                names.add(words[-1])  # `x as model` exports `model`
    return names


def types_in_source(text: str) -> list[tuple[str, str]]:
    """`[(kind, type)]` provided by one source file (kind is model/vault/datastore/report)."""
    found: list[tuple[str, str]] = []
    listed = _exported_names(text)
    for decl in _DECL.finditer(text):
        kind = decl.group(1)
        exported = decl.group(0).lstrip().startswith("export") or kind in listed
        if not exported:
            continue
        brace = text.find("{", decl.end())
        if brace < 0:
            continue
        type_name = _top_level_type(text, brace)
        if type_name and (kind, type_name) not in found:
            found.append((kind, type_name))
    return found


def scan_tree(root: str) -> list[tuple[str, str, str]]:
    """`[(kind, type, relative path)]` for every scanned file below `root`, sorted by path."""
    out: list[tuple[str, str, str]] = []
    if not os.path.isdir(root):
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "node_modules")
        for name in sorted(filenames):
            if not name.endswith(SCANNED_SUFFIXES):
                continue
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                continue
            try:
                with open(path, encoding="utf-8", errors="replace") as fh:
                    text = fh.read(4 * 1024 * 1024)
            except OSError:
                continue
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            out.extend((kind, type_name, rel) for kind, type_name in types_in_source(text))
    return out
