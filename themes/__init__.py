"""Themes shipped with `swamp dash`: one TOML file per textual Theme, loaded on demand.

Each `*.toml` here holds the fields of `textual.theme.Theme` (name, dark, primary, ...)
and an optional `[variables]` table. Importing this package costs nothing; `load_themes`
imports textual only when called.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.theme import Theme

THEMES_DIR = Path(__file__).resolve().parent
DEFAULT_THEME = "swamp-dark"
ALIASES = {"dark": "swamp-dark", "light": "swamp-light", "high-contrast": "swamp-high-contrast"}
_FIELDS = {
    "name", "primary", "secondary", "warning", "error", "success", "accent", "foreground",
    "background", "surface", "panel", "boost", "dark", "luminosity_spread", "text_alpha", "variables",
}


class ThemeFileError(ValueError):
    """A theme file that is not valid TOML or names an unknown field."""


def theme_fields(path: Path) -> dict[str, Any]:
    """The Theme keyword arguments in one file (validated, not yet a Theme)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ThemeFileError(f"{path.name}: {exc}") from None
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise ThemeFileError(f"{path.name}: unknown theme field(s) {', '.join(unknown)}")
    if not isinstance(raw.get("name"), str) or not isinstance(raw.get("primary"), str):
        raise ThemeFileError(f"{path.name}: name and primary are required strings")
    return raw


def load_themes(directory: Path | None = None) -> list[Theme]:
    """Every theme in `directory` (default: this package), sorted by name."""
    from textual.theme import Theme

    folder = directory or THEMES_DIR
    return sorted((Theme(**theme_fields(p)) for p in folder.glob("*.toml")), key=lambda t: t.name)


def resolve_name(name: str) -> str:
    """Accept the short names (dark, light, high-contrast) as well as full theme names."""
    return ALIASES.get(name, name)
