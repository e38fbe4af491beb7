"""Installing, listing, verifying and removing host store entries (service level)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from swampd.errors import Conflict, InvalidParams, NotFound
from swampd.extensions.checksum import tree_checksum, tree_hashes
from swampd.extensions.store import ExtensionStore

from .helpers import MODEL_TYPE, NAME, VERSION, make_archive, make_extension, model_source, store_files


def test_install_from_directory_and_archive_give_the_same_entry(tmp_path: Path, store: ExtensionStore) -> None:
    src = make_extension(tmp_path / "src", vaults={"keys.ts": model_source("@acme/keys", "vault")})
    first = store.install(str(src))
    assert first["status"] == "installed"
    assert (first["name"], first["version"]) == (NAME, VERSION)
    assert first["types"] == {"model": [MODEL_TYPE], "vault": ["@acme/keys"]}
    assert first["kinds"] == ["models", "vaults"]
    archive = make_archive(src, tmp_path / "extension.tar.gz")
    again = store.install(str(archive))
    assert again["status"] == "unchanged"
    assert again["checksum"] == first["checksum"]
    content = Path(first["path"])
    assert (content / "models" / "server.ts").read_text() == model_source()
    assert not os.access(content / "manifest.yaml", os.W_OK) or os.geteuid() == 0
    assert oct((content / "manifest.yaml").stat().st_mode & 0o777) == "0o444"


def test_list_reports_types_size_checksum_and_links(tmp_path: Path, store: ExtensionStore) -> None:
    store.install(str(make_extension(tmp_path / "a")))
    store.install(str(make_extension(tmp_path / "b", version="2026.02.01.3")))
    project = tmp_path / "proj"
    project.mkdir()
    store.link(str(project), [f"{NAME}@2026.02.01.3"])
    listing = store.list()
    assert [(e["name"], e["version"]) for e in listing] == [(NAME, VERSION), (NAME, "2026.02.01.3")]
    newest = listing[1]
    files = sorted(p for p in (tmp_path / "b").rglob("*") if p.is_file())
    assert newest["size"] == sum(p.stat().st_size for p in files)
    assert newest["files"] == len(files)
    assert newest["types"] == {"model": [MODEL_TYPE]}
    assert newest["linked_projects"] == [str(project.resolve())]
    assert listing[0]["linked_projects"] == []


def test_checksum_matches_the_documented_sha256sum_pipeline(tmp_path: Path, store: ExtensionStore) -> None:
    src = make_extension(tmp_path / "src", extra={"files/notes.txt": "hello\n", "models/lib/util.ts": "export {};\n"})
    result = store.install(str(src))
    if shutil.which("sha256sum") is None:
        pytest.skip("sha256sum not installed")
    script = "find . -type f | sed 's|^\\./||' | LC_ALL=C sort | xargs sha256sum | sha256sum"
    out = subprocess.run(["sh", "-c", script], cwd=src, capture_output=True, text=True, check=True)
    assert result["checksum"] == out.stdout.split()[0]


def test_reinstall_with_other_content_conflicts_unless_forced(tmp_path: Path, store: ExtensionStore) -> None:
    store.install(str(make_extension(tmp_path / "a")))
    changed = make_extension(tmp_path / "b", models={"server.ts": model_source() + "// v2\n"})
    with pytest.raises(Conflict, match="different checksum"):
        store.install(str(changed))
    replaced = store.install(str(changed), force=True)
    assert replaced["status"] == "replaced"
    assert store.verify()[0]["ok"]
    assert store.find(NAME).checksum == replaced["checksum"]


def test_verify_reports_changed_missing_and_added_files(tmp_path: Path, store: ExtensionStore) -> None:
    src = make_extension(tmp_path / "src", extra={"files/notes.txt": "hello\n"})
    entry = store.install(str(src))
    content = Path(entry["path"])
    assert store.verify(NAME, VERSION) == [
        {
            "name": NAME, "version": VERSION, "ok": True, "checksum": entry["checksum"],
            "actual_checksum": entry["checksum"], "record_consistent": True,
            "changed": [], "missing": [], "added": [],
        }
    ]
    tampered = content / "models" / "server.ts"
    tampered.chmod(0o644)
    tampered.write_text(model_source() + "fetch('https://evil.example');\n")
    (content / "files" / "notes.txt").unlink()
    (content / "models" / "extra.ts").write_text("export {};\n")
    report = store.verify(NAME)[0]
    assert report["ok"] is False
    assert report["changed"] == ["models/server.ts"]
    assert report["missing"] == ["files/notes.txt"]
    assert report["added"] == ["models/extra.ts"]
    assert report["actual_checksum"] != entry["checksum"]
    assert report["actual_checksum"] == tree_checksum(tree_hashes(str(content)))


def test_reinstall_repairs_a_tampered_entry(tmp_path: Path, store: ExtensionStore) -> None:
    src = make_extension(tmp_path / "src")
    entry = store.install(str(src))
    target = Path(entry["path"]) / "models" / "server.ts"
    target.chmod(0o644)
    target.write_text("tampered\n")
    assert store.install(str(src))["status"] == "repaired"
    assert store.verify()[0]["ok"]
    assert hashlib.sha256(target.read_bytes()).hexdigest() == hashlib.sha256(model_source().encode()).hexdigest()


def test_remove_refused_while_linked_unless_forced(tmp_path: Path, store: ExtensionStore) -> None:
    store.install(str(make_extension(tmp_path / "src")))
    project = tmp_path / "proj"
    project.mkdir()
    store.link(str(project))
    with pytest.raises(Conflict, match="linked by 1 project"):
        store.remove(NAME)
    assert len(store.entries()) == 1
    result = store.remove(NAME, force=True)
    assert result == {"removed": [f"{NAME}@{VERSION}"], "unlinked_projects": [str(project.resolve())]}
    assert store.entries() == []
    assert not (project / ".swamp-sources.yaml").exists()
    assert store_files(Path(store.root)) == []


def test_remove_unlinked_and_missing(tmp_path: Path, store: ExtensionStore) -> None:
    store.install(str(make_extension(tmp_path / "src")))
    assert store.remove(NAME, VERSION)["removed"] == [f"{NAME}@{VERSION}"]
    with pytest.raises(NotFound):
        store.remove(NAME)
    with pytest.raises(NotFound):
        store.install(str(tmp_path / "nope"))
    with pytest.raises(InvalidParams):
        store.install("relative/path")


@pytest.mark.anyio
async def test_service_publishes_extension_events(tmp_path: Path, service, events) -> None:
    src = make_extension(tmp_path / "src")
    await service.install(str(src))
    await service.install(str(src))  # unchanged: no event
    project = tmp_path / "proj"
    project.mkdir()
    await service.link(str(project))
    await service.unlink(str(project))
    await service.remove(NAME)
    assert [(t, d["type"]) for t, d in events] == [
        ("extensions", "extension.installed"),
        ("extensions", "extension.linked"),
        ("extensions", "extension.unlinked"),
        ("extensions", "extension.removed"),
    ]
    assert (await service.verify())["ok"] is True
