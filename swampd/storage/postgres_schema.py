"""The tables of `@webframp/postgres-datastore`, and the one thing swampd adds to them.

The extension creates (with `IF NOT EXISTS`, so either side may come first):
- `{schema}.files(path PK, hash sha256 hex, size, content bytea, updated_at, deleted_at)`: one row
  per cache-relative path; a delete is a tombstone (`deleted_at`), not a row removal;
- `{schema}.sync_state(key PK, value jsonb, updated_at)`: `commit_seq` (from the sequence
  `{schema}.commit_seq`) and `last_pushed_at`, stamped in the transaction of every push; a swamp
  pull skips everything when `commit_seq` is not newer than the one it saw last;
- `{schema}.locks(key PK, holder, hostname, pid, acquired_at, ttl_ms, nonce)`: swamp's locks.

swampd adds an `AFTER` row trigger on `{schema}.files` that NOTIFYs `swampd_changes` with
`{schema}\\t{writer}\\t{path}` for every write and tombstone, swamp's as well as swampd's, so every
daemon on every host drops the changed entries at once (`writer` is the writing daemon's id,
empty for swamp). A notification payload must stay under 8000 bytes: a longer one says `*`.
"""

from __future__ import annotations

import re

CHANNEL = "swampd_changes"
SCHEMA_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
"""The extension's `schema` rule. It writes the name unquoted, so PostgreSQL folds it to lower case."""

TABLES = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.files (
  path       TEXT PRIMARY KEY,
  hash       TEXT NOT NULL,
  size       BIGINT NOT NULL,
  content    BYTEA NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS idx_{s}_files_updated_at ON {s}.files (updated_at);
CREATE TABLE IF NOT EXISTS {s}.sync_state (
  key        TEXT PRIMARY KEY,
  value      JSONB NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE SEQUENCE IF NOT EXISTS {s}.commit_seq AS BIGINT;
CREATE INDEX IF NOT EXISTS idx_{s}_files_path_prefix ON {s}.files (path text_pattern_ops);
CREATE TABLE IF NOT EXISTS {s}.locks (
  key         TEXT PRIMARY KEY,
  holder      TEXT NOT NULL,
  hostname    TEXT NOT NULL,
  pid         INTEGER NOT NULL,
  acquired_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  ttl_ms      INTEGER NOT NULL DEFAULT 30000,
  nonce       TEXT NOT NULL
);
"""

NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION {s}.swampd_notify_files() RETURNS trigger AS $$
DECLARE
  msg text;
BEGIN
  msg := TG_TABLE_SCHEMA || chr(9) || coalesce(current_setting('swampd.writer', true), '') || chr(9)
         || CASE WHEN TG_OP = 'DELETE' THEN OLD.path ELSE NEW.path END;
  IF octet_length(msg) > 7900 THEN
    msg := TG_TABLE_SCHEMA || chr(9) || chr(9) || '*';
  END IF;
  PERFORM pg_notify('swampd_changes', msg);
  RETURN NULL;
END $$ LANGUAGE plpgsql;
"""

NOTIFY_TRIGGER = """
CREATE TRIGGER swampd_notify AFTER INSERT OR UPDATE OR DELETE ON {s}.files
FOR EACH ROW EXECUTE FUNCTION {s}.swampd_notify_files();
"""

HAS_TRIGGER = """
SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relname = 'files' AND t.tgname = 'swampd_notify'
"""

STAMP = """
INSERT INTO {s}.sync_state (key, value, updated_at) VALUES ('commit_seq', to_jsonb(nextval('{s}.commit_seq')), now())
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now();
INSERT INTO {s}.sync_state (key, value, updated_at) VALUES ('last_pushed_at', to_jsonb(clock_timestamp()::text), now())
ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now();
"""
"""What the extension's push does in its transaction: the next `commit_seq`, and `last_pushed_at`."""


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
