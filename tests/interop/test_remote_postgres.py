"""swampd and the real swamp (`@webframp/postgres-datastore`) on one PostgreSQL schema, both ways.

swamp pulls `{schema}.files` rows only when `sync_state.commit_seq` moved, and applies tombstones;
swampd writes rows in one transaction with that stamp, and learns of swamp's pushes from the
NOTIFY trigger it adds to `{schema}.files`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import DaemonProcess, RealSwamp

from .remote import (
    SHELL,
    a_fresh_clone_sees_the_notes,
    model_id,
    signal_only_daemon,
    swamp_and_swampd_write_one_name,
    swamp_deletes_then_renames,
    swamp_json,
    swamp_overwrites_a_version_swampd_served,
    swamp_repo_on,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def swampd(swampd_home: Path, daemon_env: dict[str, str]) -> Iterator[DaemonProcess]:
    yield from signal_only_daemon(swampd_home, daemon_env)


@pytest.mark.timeout(480)  # one story of ~30 real swamp calls (~1.3 s each, several times that under load)
def test_swamp_and_swampd_share_a_postgres_datastore(real_swamp: RealSwamp, pg_up: Any, swampd: Any,
                                                     tmp_path: Path) -> None:
    schema = f"interop_{uuid.uuid4().hex[:8]}"
    block = {"type": "@webframp/postgres-datastore",
             "config": {"connectionString": pg_up.url, "schema": schema, "ssl": "disable"}}
    repo = swamp_repo_on(real_swamp, tmp_path / "repo", block, run="echo from-swamp")
    mid = model_id(repo)
    client = swampd.client()
    at = {"repo": str(repo), "type": SHELL, "model": "hello"}

    # swampd writes first (it creates the extension's tables, locks included) -> swamp pulls them
    for text in ("one", "two"):
        client.call("data.put", {**at, "name": "note", "content": text, "content_type": "text/plain"})
    with psycopg.connect(pg_up.dsn, autocommit=True) as conn:
        seq = conn.execute(f"SELECT value FROM {schema}.sync_state WHERE key = 'commit_seq'").fetchone()
        assert seq == (2,)  # one stamp per write, as one push
        rows = conn.execute(f"SELECT path, size, deleted_at FROM {schema}.files ORDER BY path").fetchall()
        name_dir = f"data/{SHELL}/{mid}/note"
        assert [(p, s) for p, s, d in rows if d is None] == [
            (f"{name_dir}/1/metadata.yaml", rows[0][1]), (f"{name_dir}/1/raw", 3),
            (f"{name_dir}/2/metadata.yaml", rows[2][1]), (f"{name_dir}/2/raw", 3), (f"{name_dir}/latest", 1)]
    assert swamp_json(real_swamp, "datastore", "sync", "--pull", cwd=repo)["filesPulled"] == 5
    pulled = swamp_json(real_swamp, "data", "get", "hello", "note", cwd=repo)
    assert (pulled["version"], pulled["content"]) == (2, "two")
    listed = swamp_json(real_swamp, "data", "versions", "hello", "note", cwd=repo)["versions"]
    assert [v["version"] for v in listed] == [2, 1]
    groups = swamp_json(real_swamp, "data", "list", "hello", cwd=repo)["groups"]
    assert {i["name"]: i["version"] for g in groups for i in g["items"]} == {"note": 2}
    a_fresh_clone_sees_the_notes(real_swamp, repo, tmp_path)

    # swamp writes (two method runs) -> swampd reads them (only NOTIFY can tell this daemon: it
    # trusts a pointer for an hour while the signal is live)
    for _ in range(2):
        assert swamp_json(real_swamp, "model", "method", "run", "hello", "execute", cwd=repo)["status"] == "succeeded"
    got = client.call("data.get", {**at, "name": "result"})
    assert (got["version"], json.loads(got["content"])["stdout"]) == (2, "from-swamp")
    assert client.call("data.get", {**at, "name": "result", "version": 1})["version"] == 1
    assert {"name": "result", "latest": 2} in client.call("data.list", at)["data"]

    # swamp deletes (tombstones) and renames -> swampd stops serving them. The extension tombstones
    # only rows not updated since its last full pull (rows newer than that could be another
    # client's), and method runs pull scoped (no watermark): a full pull first, as its users do.
    swamp_json(real_swamp, "datastore", "sync", "--pull", cwd=repo)
    swamp_deletes_then_renames(real_swamp, repo, client, at)

    # swampd writes next to swamp's versions of the same model: swamp pulls them on its next run
    client.call("data.put", {**at, "name": "later", "content": "after-swamp", "content_type": "text/plain"})
    assert swamp_json(real_swamp, "model", "method", "run", "hello", "execute", cwd=repo)["status"] == "succeeded"
    assert swamp_json(real_swamp, "data", "get", "hello", "later", cwd=repo)["content"] == "after-swamp"

    # swamp and swampd write the same name at the same time; then swamp reuses a number it freed
    swamp_and_swampd_write_one_name(real_swamp, repo, client, at)
    swamp_overwrites_a_version_swampd_served(real_swamp, repo, client, at)
