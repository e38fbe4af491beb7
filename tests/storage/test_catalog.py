"""swamp's `_catalog.db` after swampd's writes: the row upserted as swamp does, or the catalog
invalidated when it cannot be; the write itself never fails over it. (That swamp's own query and
doctor agree is checked with the real CLI in tests/interop/test_data_filesystem.py.)"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from swampd.storage import catalog

from .conftest import write_marker

pytestmark = pytest.mark.anyio

MODEL = "7e1d2c3b-1111-4222-8333-444455556666"


def _repo(workdir: Path) -> Path:
    repo = workdir / "repo"
    (repo / ".swamp" / "data").mkdir(parents=True)
    write_marker(repo, None)
    return repo


def _execute(repo: Path, sql: str) -> None:
    db = sqlite3.connect(catalog.catalog_path(str(repo)), isolation_level=None)
    try:
        db.execute(sql)
    finally:
        db.close()


def _query(repo: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(catalog.catalog_path(str(repo)))
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


async def test_rows_follow_swamps_upsert_new_version(workdir: Path, service: Any) -> None:
    repo = _repo(workdir)
    for text in ("one", "two"):
        await service.put(str(repo), "command/shell", MODEL, "note", text.encode(), content_type="text/plain")
    rows = _query(repo, "SELECT version, is_latest, data_type, owner_type, owner_ref, namespace, size FROM catalog "
                        "WHERE data_name = 'note' ORDER BY version")
    assert rows == [(1, 0, "resource", "model-method", MODEL, "", 3), (2, 1, "resource", "model-method", MODEL, "", 3)]
    assert _query(repo, "SELECT value FROM catalog_meta WHERE key = 'schema_version'") == [("4",)]
    assert _query(repo, "PRAGMA journal_mode") == [("wal",)]
    assert not _query(repo, "SELECT value FROM catalog_meta WHERE key = 'populated'")  # swamp backfills once


async def test_another_schema_version_is_invalidated_not_written(workdir: Path, service: Any) -> None:
    repo = _repo(workdir)
    db = sqlite3.connect(catalog.catalog_path(str(repo)))
    db.executescript("CREATE TABLE catalog_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                     "INSERT INTO catalog_meta VALUES ('schema_version', '5'), ('populated', 'true');")
    db.close()
    put = await service.put(str(repo), "command/shell", MODEL, "x", b"v", content_type="text/plain")
    assert put["version"] == 1
    assert _query(repo, "SELECT key FROM catalog_meta ORDER BY key") == [("schema_version",)]
    assert not _query(repo, "SELECT name FROM sqlite_master WHERE name = 'catalog'")


async def test_a_locked_catalog_never_fails_the_write(workdir: Path, service: Any, monkeypatch: Any) -> None:
    """A catalog held by another writer beyond the busy timeout: the data is written and acknowledged."""
    repo = _repo(workdir)
    await service.put(str(repo), "command/shell", MODEL, "x", b"1", content_type="text/plain")
    monkeypatch.setattr(catalog, "BUSY_TIMEOUT_MS", 100)
    holder = sqlite3.connect(catalog.catalog_path(str(repo)), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        put = await service.put(str(repo), "command/shell", MODEL, "x", b"2", content_type="text/plain")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert put["version"] == 2
    assert (await service.get(str(repo), "command/shell", MODEL, "x"))["content"] == "2"
    assert _query(repo, "SELECT version, is_latest FROM catalog WHERE data_name = 'x'") == [(1, 1)]
    # the missed row is made good by swamp's backfill: the next write invalidates the catalog
    _execute(repo, "INSERT OR REPLACE INTO catalog_meta (key, value) VALUES ('populated', 'true')")
    await service.put(str(repo), "command/shell", MODEL, "x", b"3", content_type="text/plain")
    assert not _query(repo, "SELECT value FROM catalog_meta WHERE key = 'populated'")
    assert _query(repo, "SELECT version FROM catalog WHERE data_name = 'x' AND is_latest = 1") == [(3,)]


def test_no_repo_dir_no_catalog(tmp_path: Path) -> None:
    meta = {"name": "n", "id": "i", "version": 1, "createdAt": "2026-01-01T00:00:00.000Z"}
    assert catalog.record_version(str(tmp_path / "nowhere"), None, "t", MODEL, meta) == "skipped"
    assert not (tmp_path / "nowhere").exists()
