"""manifest.yaml: parsing, validation, and the policy every file of an extension must meet.

The rules follow swamp's (reference §2.3): `manifestVersion: 1`, an `@collective/name`,
a CalVer `YYYY.MM.DD.MICRO` version, at least one content list, relative downward paths,
no hidden files, only `.ts/.json/.md/.yaml/.yml/.txt` files (plus compiled `.js` inside
`*-bundles/` directories, which pulled archives carry), and size/count limits.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from swampd.errors import InvalidInput

MANIFEST_NAME = "manifest.yaml"
CONTENT_KINDS = ("models", "workflows", "vaults", "drivers", "datastores", "reports", "skills")
"""Manifest lists of which at least one must be present and non-empty."""
SOURCE_SUFFIXES = (".ts", ".json", ".md", ".yaml", ".yml", ".txt")
BUNDLE_SUFFIXES = (".js", ".mjs", ".map")
MAX_RELEASE_NOTES = 5000

_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9_.-]*"
NAME_RE = re.compile(rf"^@([a-z0-9][a-z0-9_-]*)/{_SEGMENT}(?:/{_SEGMENT})*$")
VERSION_RE = re.compile(r"^(\d{4})\.(\d{2})\.(\d{2})\.(\d+)$")


@dataclass(frozen=True)
class Manifest:
    name: str
    version: str
    description: str
    content: dict[str, tuple[str, ...]]
    """Each present content list (`models`, `vaults`, ...) with its paths."""
    base: str
    """`typedDir` (paths relative to `<kind>/`) or `manifest` (relative to the manifest)."""
    additional_files: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def collective(self) -> str:
        return self.name.split("/", 1)[0][1:]

    @property
    def kinds(self) -> list[str]:
        return sorted(k for k, v in self.content.items() if v)


def check_name(name: Any) -> str:
    """An extension name `@collective/name[/...]`, or InvalidInput."""
    if not isinstance(name, str) or not NAME_RE.match(name) or any(
        part in (".", "..") for part in name.split("/")
    ):
        raise InvalidInput(
            f"extension name {name!r} is not of the form @collective/name "
            "(lowercase collective; letters, digits, '.', '_', '-')"
        )
    return name


def check_version(version: Any) -> str:
    """A CalVer `YYYY.MM.DD.MICRO` version, or InvalidInput."""
    if not isinstance(version, str):
        raise InvalidInput(f"version {version!r} must be a string YYYY.MM.DD.MICRO")
    match = VERSION_RE.match(version)
    if not match:
        raise InvalidInput(f"version {version!r} is not CalVer YYYY.MM.DD.MICRO")
    year, month, day, _ = (int(g) for g in match.groups())
    try:
        datetime.date(year, month, day)
    except ValueError:
        raise InvalidInput(f"version {version!r} does not start with a real date") from None
    return version


def check_relative_path(value: Any, where: str) -> str:
    """A relative path that stays inside its base (no absolute, no `..`, no backslash)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{where}: path {value!r} must be a non-empty string")
    if "\\" in value or "\0" in value:
        raise InvalidInput(f"{where}: path {value!r} contains a backslash or NUL")
    if value.startswith("/") or re.match(r"^[A-Za-z]:", value) or value.startswith("~"):
        raise InvalidInput(f"{where}: path {value!r} must be relative")
    parts = [p for p in value.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise InvalidInput(f"{where}: path {value!r} must point downward (no '..')")
    return "/".join(parts)


def check_file_policy(rel: str) -> None:
    """Refuse a file an extension may not carry: hidden, or of a type swamp does not accept."""
    parts = rel.split("/")
    if any(p.startswith(".") for p in parts):
        raise InvalidInput(f"hidden file or directory not allowed in an extension: {rel}")
    lower = rel.lower()
    if lower.endswith(SOURCE_SUFFIXES):
        return
    in_bundles = any(p == "bundles" or p.endswith("-bundles") for p in parts[:-1])
    if in_bundles and lower.endswith(BUNDLE_SUFFIXES):
        return
    raise InvalidInput(
        f"file type not allowed in an extension: {rel} "
        f"(allowed: {', '.join(SOURCE_SUFFIXES)}; compiled .js only inside *-bundles/)"
    )


def _str_list(raw: dict[str, Any], key: str) -> list[Any]:
    value = raw.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"manifest.yaml: {key} must be a list")
    return value


def _optional_str(raw: dict[str, Any], key: str, limit: int | None = None) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"manifest.yaml: {key} must be a string")
    if limit is not None and len(value) > limit:
        raise InvalidInput(f"manifest.yaml: {key} is longer than {limit} characters")
    return value


def parse_manifest(data: bytes) -> Manifest:
    """Parse and validate manifest.yaml; raise InvalidInput naming the first rule broken."""
    try:
        raw = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError):
        raise InvalidInput("manifest.yaml is not valid UTF-8 YAML") from None
    if not isinstance(raw, dict):
        raise InvalidInput("manifest.yaml must be a mapping")
    if raw.get("manifestVersion") != 1 or isinstance(raw.get("manifestVersion"), bool):
        raise InvalidInput("manifest.yaml: manifestVersion must be 1")
    if "name" not in raw:
        raise InvalidInput("manifest.yaml: name is required")
    if "version" not in raw:
        raise InvalidInput("manifest.yaml: version is required")
    name = check_name(raw["name"])
    version = check_version(raw["version"])
    content: dict[str, tuple[str, ...]] = {}
    for kind in CONTENT_KINDS:
        entries = _str_list(raw, kind)
        content[kind] = tuple(check_relative_path(e, f"manifest.yaml {kind}") for e in entries)
    if not any(content.values()):
        raise InvalidInput(
            "manifest.yaml must list at least one of: " + ", ".join(CONTENT_KINDS)
        )
    paths = raw.get("paths") or {}
    if not isinstance(paths, dict):
        raise InvalidInput("manifest.yaml: paths must be a mapping")
    base = paths.get("base", "typedDir")
    if base not in ("typedDir", "manifest"):
        raise InvalidInput("manifest.yaml: paths.base must be 'typedDir' or 'manifest'")
    for key in ("include",):
        for entry in _str_list(raw, key):
            check_relative_path(entry, f"manifest.yaml {key}")
    additional = tuple(
        check_relative_path(e, "manifest.yaml additionalFiles")
        for e in _str_list(raw, "additionalFiles")
    )
    for key in ("labels", "platforms", "dependencies"):
        if any(not isinstance(e, str) for e in _str_list(raw, key)):
            raise InvalidInput(f"manifest.yaml: {key} must be a list of strings")
    for key in ("repository",):
        _optional_str(raw, key)
    _optional_str(raw, "releaseNotes", MAX_RELEASE_NOTES)
    description = _optional_str(raw, "description")
    return Manifest(
        name=name,
        version=version,
        description=description,
        content=content,
        base=base,
        additional_files=additional,
        raw=raw,
    )


def check_listed_files(manifest: Manifest, files: set[str]) -> None:
    """Every model/vault/datastore/report/workflow the manifest lists must be in `files`.

    A listed path is looked up as `<kind>/<path>` (base `typedDir`) and as `<path>`
    (base `manifest`); a pulled archive may carry only the compiled bundle, so a `.js`
    file of the same stem inside a `*bundles/` directory is accepted too.
    """
    bundled = {
        f.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        for f in files
        if f.endswith(".js") and any(p.endswith("bundles") for p in f.split("/")[:-1])
    }
    for kind in ("models", "vaults", "datastores", "reports", "workflows"):
        for path in manifest.content.get(kind, ()):
            if f"{kind}/{path}" in files or path in files:
                continue
            if path.rsplit("/", 1)[-1].rsplit(".", 1)[0] in bundled:
                continue
            raise InvalidInput(
                f"manifest.yaml lists {kind} {path!r} but the file is not in the extension"
            )
