"""Per-file sha256 and the extension checksum.

The checksum of an extension is defined over the files of its content tree (the
`extension/` directory: manifest.yaml, models/, bundles, files/ ...), never over
directories, modes or timestamps:

    1. every regular file gets `sha256(content)` as lowercase hex;
    2. the files are sorted by their `/`-separated relative path, compared as UTF-8 bytes;
    3. each contributes one line `<hex>  <path>\\n` (two spaces: sha256sum's format);
    4. the checksum is the lowercase hex sha256 of those lines concatenated.

So `(cd extension && find . -type f | sed 's|^\\./||' | LC_ALL=C sort | xargs sha256sum |
sha256sum)` prints the same value for paths without spaces or newlines.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field

CHUNK = 1024 * 1024
SYMLINK_MARK = "symlink"
"""The hash recorded for a symlink found in a tree (it never equals a real sha256)."""


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def tree_hashes(root: str) -> dict[str, str]:
    """`{relative path: sha256}` for every file below `root`; symlinks are not followed."""
    out: dict[str, str] = {}
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        with os.scandir(os.path.join(root, rel_dir)) as it:
            for entry in it:
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_ISDIR(mode):
                    stack.append(rel)
                elif stat.S_ISREG(mode):
                    out[rel] = file_sha256(entry.path)
                else:
                    out[rel] = SYMLINK_MARK
    return out


def tree_checksum(hashes: dict[str, str]) -> str:
    """The extension checksum (module docstring) of a `{path: sha256}` map."""
    digest = hashlib.sha256()
    for path in sorted(hashes, key=lambda p: p.encode("utf-8")):
        digest.update(f"{hashes[path]}  {path}\n".encode())
    return digest.hexdigest()


@dataclass
class Drift:
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.changed or self.missing or self.added)

    def to_dict(self) -> dict[str, list[str]]:
        return {"changed": self.changed, "missing": self.missing, "added": self.added}


def diff(expected: dict[str, str], actual: dict[str, str]) -> Drift:
    """Which files changed, went missing or were added, each list sorted."""
    return Drift(
        changed=sorted(p for p in expected if p in actual and actual[p] != expected[p]),
        missing=sorted(p for p in expected if p not in actual),
        added=sorted(p for p in actual if p not in expected),
    )
