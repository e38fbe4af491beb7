"""swampd and the real swamp (`@swamp/s3-datastore`) on one S3 bucket (a moto server), both ways.

swamp syncs through the extension's index: what is not in the index is never pulled, and what it
deletes leaves the bucket and the index. swampd publishes its writes to the index (monolith for a
v1 index, shards and `commitSeq` for v2) and takes the index as its change signal.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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

pytestmark = [pytest.mark.s3, pytest.mark.slow]


@pytest.fixture
def swampd(swampd_home: Path, daemon_env: dict[str, str]) -> Iterator[DaemonProcess]:
    yield from signal_only_daemon(swampd_home, daemon_env)


def _s3_block(server: Any, bucket: str) -> dict[str, Any]:
    return {"type": "@swamp/s3-datastore",
            "config": {"bucket": bucket, "prefix": "team", "region": "us-east-1", "endpoint": server.endpoint,
                       "forcePathStyle": True}}


def _object(server: Any, bucket: str, key: str) -> Any:
    return json.loads(server.client().get_object(Bucket=bucket, Key=f"team/{key}")["Body"].read())


@pytest.mark.timeout(480)  # one story of ~30 real swamp calls (~1.3 s each, several times that under load)
def test_swamp_and_swampd_share_an_s3_datastore(real_swamp: RealSwamp, moto_up: Any, swampd: Any,
                                                tmp_path: Path) -> None:
    bucket = f"interop-{uuid.uuid4().hex[:10]}"
    moto_up.client().create_bucket(Bucket=bucket)
    repo = swamp_repo_on(real_swamp, tmp_path / "repo", _s3_block(moto_up, bucket), run="echo from-swamp")
    mid = model_id(repo)
    client = swampd.client()
    at = {"repo": str(repo), "type": SHELL, "model": "hello"}

    # swamp writes (two method runs) -> swampd reads them
    for _ in range(2):
        assert swamp_json(real_swamp, "model", "method", "run", "hello", "execute", cwd=repo)["status"] == "succeeded"
    got = client.call("data.get", {**at, "name": "result"})
    assert (got["version"], json.loads(got["content"])["stdout"]) == (2, "from-swamp")
    assert client.call("data.get", {**at, "name": "result", "version": 1})["version"] == 1
    assert client.call("data.versions", {**at, "name": "result"})["versions"] == [1, 2]
    assert {"name": "result", "latest": 2} in client.call("data.list", at)["data"]

    # swampd writes -> published to swamp's v1 index (monolith + shards) -> swamp pulls them
    for text in ("one", "two"):
        client.call("data.put", {**at, "name": "note", "content": text, "content_type": "text/plain"})
    name_dir = f"data/{SHELL}/{mid}/note"
    entries = _object(moto_up, bucket, ".datastore-index.json")["entries"]
    assert entries[f"{name_dir}/2/raw"]["size"] == 3 and entries[f"{name_dir}/latest"]["size"] == 1
    shard = _object(moto_up, bucket, f"_index/data--command--shell--{mid}.json")["entries"]
    assert f"{name_dir}/2/metadata.yaml" in shard
    assert f"{name_dir}/latest" in _object(moto_up, bucket, "_index/data--command--shell.json")["entries"]
    assert swamp_json(real_swamp, "datastore", "sync", "--pull", cwd=repo)["filesPulled"] >= 5
    pulled = swamp_json(real_swamp, "data", "get", "hello", "note", cwd=repo)
    assert (pulled["version"], pulled["content"]) == (2, "two")
    listed = swamp_json(real_swamp, "data", "versions", "hello", "note", cwd=repo)["versions"]
    assert [v["version"] for v in listed] == [2, 1]
    a_fresh_clone_sees_the_notes(real_swamp, repo, tmp_path)

    # swamp deletes a version and renames a name -> swampd stops serving them (only the index
    # watcher can tell it: this daemon trusts a pointer for an hour while the signal is live)
    swamp_deletes_then_renames(real_swamp, repo, client, at)

    # a v2 index (shards authoritative, commitSeq): swampd's writes bump commitSeq, swamp pulls them
    swamp_json(real_swamp, "datastore", "migrate-index", cwd=repo)
    seq = _object(moto_up, bucket, "_index/_meta.json")["commitSeq"]
    client.call("data.put", {**at, "name": "fresh", "content": "v2-index", "content_type": "text/plain"})
    meta = _object(moto_up, bucket, "_index/_meta.json")
    assert (meta["version"], meta["commitSeq"]) == (2, seq + 1)
    assert swamp_json(real_swamp, "datastore", "sync", "--pull", cwd=repo)["filesPulled"] >= 3
    assert swamp_json(real_swamp, "data", "get", "hello", "fresh", cwd=repo)["content"] == "v2-index"

    # swamp and swampd write the same name at the same time; then swamp reuses a number it freed
    swamp_and_swampd_write_one_name(real_swamp, repo, client, at)
    swamp_overwrites_a_version_swampd_served(real_swamp, repo, client, at)
