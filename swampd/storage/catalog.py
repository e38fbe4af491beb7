"""swamp's data catalog (`{repo}/.swamp/data/_catalog.db`), kept right for swampd's writes.

swamp answers `swamp data query` from this SQLite index once its `populated` flag is set, and
`swamp doctor datastores` compares its latest rows with the files. swamp keeps it by writing
through: every save upserts the version's row and clears `is_latest` on the name's older rows,
in one `BEGIN IMMEDIATE` transaction (src/infrastructure/persistence/catalog_store.ts,
`upsertNewVersion`). swampd does the same after each write, with swamp's schema, busy timeout
and transaction, so neither a query nor the doctor has to wait for a rebuild. When the file has
another schema version (a newer swamp) the row is not written; the `populated` flag is cleared
instead, which is what swamp's own sync does after a pull: its next query re-reads every
version from the files (an additive backfill).

Blocking SQLite work: called from a worker thread, under the per-model lock of the write.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from typing import Any

log = logging.getLogger(__name__)

SCHEMA_VERSION = "4"
BUSY_TIMEOUT_MS = 5000

# swamp's CatalogStore.createSchema (schema version 4), statement for statement (alignment aside).
_SCHEMA = """
CREATE TABLE IF NOT EXISTS catalog (
  namespace       TEXT NOT NULL DEFAULT '',
  type_normalized TEXT NOT NULL,
  model_id        TEXT NOT NULL,
  data_name       TEXT NOT NULL,
  id              TEXT NOT NULL,
  version         INTEGER NOT NULL,
  is_latest       INTEGER NOT NULL DEFAULT 1,
  model_name      TEXT NOT NULL,
  spec_name       TEXT NOT NULL DEFAULT '',
  data_type       TEXT NOT NULL DEFAULT '',
  content_type    TEXT NOT NULL DEFAULT '',
  lifetime        TEXT NOT NULL DEFAULT '',
  owner_type      TEXT NOT NULL DEFAULT '',
  streaming       INTEGER NOT NULL DEFAULT 0,
  size            INTEGER NOT NULL DEFAULT 0,
  created_at      TEXT NOT NULL,
  tags            TEXT NOT NULL DEFAULT '{}',
  owner_ref       TEXT NOT NULL DEFAULT '',
  workflow_run_id TEXT NOT NULL DEFAULT '',
  workflow_name   TEXT NOT NULL DEFAULT '',
  job_name        TEXT NOT NULL DEFAULT '',
  step_name       TEXT NOT NULL DEFAULT '',
  source          TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (namespace, type_normalized, model_id, data_name, version)
);
CREATE INDEX IF NOT EXISTS idx_catalog_model_name      ON catalog(model_name);
CREATE INDEX IF NOT EXISTS idx_catalog_spec_name       ON catalog(spec_name);
CREATE INDEX IF NOT EXISTS idx_catalog_data_type       ON catalog(data_type);
CREATE INDEX IF NOT EXISTS idx_catalog_created_at      ON catalog(created_at);
CREATE INDEX IF NOT EXISTS idx_catalog_workflow_run_id ON catalog(workflow_run_id);
CREATE INDEX IF NOT EXISTS idx_catalog_step_name       ON catalog(step_name);
CREATE INDEX IF NOT EXISTS idx_namespace               ON catalog(namespace);
CREATE INDEX IF NOT EXISTS idx_catalog_is_latest ON catalog(namespace, type_normalized, model_id, data_name, is_latest);
CREATE INDEX IF NOT EXISTS idx_catalog_latest_lookup ON catalog(model_name, data_name, is_latest, namespace);
CREATE TABLE IF NOT EXISTS catalog_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
"""

_COLUMNS = ("namespace", "type_normalized", "model_id", "data_name", "id", "version", "is_latest", "model_name",
            "spec_name", "data_type", "content_type", "lifetime", "owner_type", "streaming", "size", "created_at",
            "tags", "owner_ref", "workflow_run_id", "workflow_name", "job_name", "step_name", "source")
_UPSERT = (f"INSERT OR REPLACE INTO catalog ({', '.join(_COLUMNS)}) "
           f"VALUES ({', '.join('?' for _ in _COLUMNS)})")
_CLEAR_LATEST = ("UPDATE catalog SET is_latest = 0 WHERE namespace = ? AND type_normalized = ? AND model_id = ? "
                 "AND data_name = ? AND step_name = ? AND is_latest = 1")


def catalog_path(repo_root: str) -> str:
    """swamp's `catalogDbPath`: the local tier's data dir, whatever the datastore."""
    return os.path.join(repo_root, ".swamp", "data", "_catalog.db")


def catalog_row(namespace: str, type_normalized: str, model_id: str, metadata: dict[str, Any]) -> tuple[Any, ...]:
    """The row swamp's `catalogUpsert` builds from a version's metadata (`Data`)."""
    tags: dict[str, Any] = metadata["tags"] if isinstance(metadata.get("tags"), dict) else {}
    owner: dict[str, Any] = metadata["ownerDefinition"] if isinstance(metadata.get("ownerDefinition"), dict) else {}
    row = {
        "namespace": namespace, "type_normalized": type_normalized, "model_id": model_id,
        "data_name": metadata["name"], "id": metadata["id"], "version": metadata["version"], "is_latest": 1,
        "model_name": tags.get("modelName", ""), "spec_name": tags.get("specName", ""),
        "data_type": tags.get("type", ""), "content_type": metadata.get("contentType", ""),
        "lifetime": str(metadata.get("lifetime", "")), "owner_type": owner.get("ownerType", ""),
        "streaming": 1 if metadata.get("streaming") else 0, "size": metadata.get("size") or 0,
        "created_at": metadata["createdAt"],
        "tags": json.dumps(tags, separators=(",", ":"), ensure_ascii=False),  # JSON.stringify
        "owner_ref": owner.get("ownerRef", ""), "workflow_run_id": owner.get("workflowRunId", ""),
        "workflow_name": owner.get("workflowName", ""), "job_name": owner.get("jobName", ""),
        "step_name": owner.get("stepName", ""), "source": owner.get("source", ""),
    }
    return tuple(row[c] for c in _COLUMNS)


def _connect(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return db


def _schema_version(db: sqlite3.Connection) -> str | None:
    try:
        row = db.execute("SELECT value FROM catalog_meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.OperationalError:
        return None  # no catalog_meta table: an empty file
    return row[0] if row else None


def _create(db: sqlite3.Connection) -> None:
    """A new catalog as swamp's CatalogStore makes one (WAL, schema, version; not populated)."""
    if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        db.execute("PRAGMA journal_mode=WAL")
    db.execute("BEGIN IMMEDIATE")
    try:
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        if _schema_version(db) is None:
            db.execute("INSERT OR REPLACE INTO catalog_meta (key, value) VALUES ('schema_version', ?)",
                       (SCHEMA_VERSION,))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def record_version(repo_root: str, namespace: str | None, type_normalized: str, model_id: str,
                   metadata: dict[str, Any]) -> str:
    """Upsert a new latest version's row as swamp does; returns what was done: `upserted`,
    `invalidated` (another schema: swamp rebuilds from the files) or `skipped` (no repo dir)."""
    if not os.path.isdir(os.path.join(repo_root, ".swamp")):
        return "skipped"
    path = catalog_path(repo_root)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    db = _connect(path)
    try:
        version = _schema_version(db)
        if version is None:
            _create(db)
            version = _schema_version(db)
        if version != SCHEMA_VERSION:
            db.execute("DELETE FROM catalog_meta WHERE key = 'populated'")
            return "invalidated"
        row = catalog_row(namespace or "", type_normalized, model_id, metadata)
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(_CLEAR_LATEST, (row[0], row[1], row[2], row[3], row[_COLUMNS.index("step_name")]))
            db.execute(_UPSERT, row)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return "upserted"
    finally:
        db.close()


def invalidate(repo_root: str) -> bool:
    """Clear `populated` so swamp's next query re-reads the files (swamp's own `invalidate`)."""
    path = catalog_path(repo_root)
    if not os.path.exists(path):
        return False
    db = _connect(path)
    try:
        if _schema_version(db) is None:
            return False
        db.execute("DELETE FROM catalog_meta WHERE key = 'populated'")
        return True
    finally:
        db.close()
