"""Build extensions, archives and projects on disk for the extension tests."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import yaml

NAME = "@acme/tools"
VERSION = "2026.01.15.1"
MODEL_TYPE = "@acme/server"


def model_source(type_name: str = MODEL_TYPE, kind: str = "model") -> str:
    return (
        'import { z } from "zod";\n\n'
        f"export const {kind} = {{\n"
        f'  type: "{type_name}",\n'
        '  version: "2026.01.15.1",\n'
        "  globalArguments: z.object({ host: z.string() }),\n"
        "  methods: { ping: { description: \"ping\", execute: async () => ({}) } },\n"
        "};\n"
    )


def make_extension(
    root: Path,
    *,
    name: str = NAME,
    version: str = VERSION,
    models: dict[str, str] | None = None,
    vaults: dict[str, str] | None = None,
    extra: dict[str, bytes | str] | None = None,
    manifest: dict | None = None,
) -> Path:
    """An extension directory in swamp's layout: manifest.yaml, models/, vaults/, files/..."""
    models = {"server.ts": model_source()} if models is None else models
    vaults = vaults or {}
    root.mkdir(parents=True, exist_ok=True)
    for sub, files in (("models", models), ("vaults", vaults)):
        for rel, text in files.items():
            path = root / sub / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    for rel, data in (extra or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)
    doc = manifest if manifest is not None else {
        "manifestVersion": 1,
        "name": name,
        "version": version,
        "description": "test tools",
        **({"models": sorted(models)} if models else {}),
        **({"vaults": sorted(vaults)} if vaults else {}),
    }
    (root / "manifest.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return root


def make_archive(src: Path, out: Path, prefix: str = "extension") -> Path:
    """extension.tar.gz in swamp's layout: every file below `extension/`."""
    with tarfile.open(out, "w:gz") as tar:
        tar.add(src, arcname=prefix)
    return out


def raw_archive(out: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    """A tar.gz with hand-made members (for malicious archives)."""
    with tarfile.open(out, "w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return out


def member(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mode = 0o644
    return info


def manifest_bytes(name: str = NAME, version: str = VERSION) -> bytes:
    return yaml.safe_dump({"manifestVersion": 1, "name": name, "version": version, "models": ["server.ts"]}).encode()


def store_files(root: Path) -> list[str]:
    """Every path below the store root except lock files (what an install leaves behind)."""
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*")
        if p.is_file() and p.suffix != ".lock" and p.name != "links.json"
    )
