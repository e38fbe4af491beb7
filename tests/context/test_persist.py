"""persist: a context value written as swamp data that the real swamp's own GC removes after its TTL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from swampd.client import RpcError
from swampd.context.service import PERSIST_TYPE, persist_model_id
from tests.conftest import DaemonProcess, RealSwamp


def age(metadata: Path, minutes: int) -> None:
    """Move a version's createdAt back: swamp's GC expires data when createdAt + lifetime < now,
    so this is the clock moving on without the test waiting for it."""
    past = (datetime.now(UTC) - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    text = metadata.read_text()
    metadata.write_text(re.sub(r'createdAt: "[^"]*"', f'createdAt: "{past}"', text))


def test_persisted_context_is_swamp_data_that_swamps_gc_expires(daemon: DaemonProcess, real_swamp: RealSwamp,
                                                                tmp_path: Path) -> None:
    repo = real_swamp.init_repo(tmp_path / "repo")
    put = daemon.call("context.put", {"scope": "run-7", "key": "summary", "value": {"ok": True, "n": 3},
                                      "ttl": 90, "persist": True, "repo": str(repo)})
    persisted = put["persisted"]
    assert persisted["lifetime"] == "2m"  # 90 s, in swamp's smallest unit, rounded up
    assert (persisted["type"], persisted["model_id"], persisted["name"], persisted["version"]) == \
        (PERSIST_TYPE, persist_model_id("run-7"), "summary", 1)
    name_dir = repo / ".swamp" / "data" / "swampd" / "context" / persist_model_id("run-7") / "summary"
    assert (name_dir / "1" / "raw").read_bytes() == b'{"ok":true,"n":3}'
    metadata = (name_dir / "1" / "metadata.yaml").read_text()
    assert 'lifetime: "2m"' in metadata and 'contentType: "application/json"' in metadata

    # A stale version changes nothing, not even the datastore; nor does a key swamp cannot name.
    with pytest.raises(RpcError) as stale:
        daemon.call("context.put", {"scope": "run-7", "key": "summary", "value": 0, "if_version": put["version"] + 99,
                                    "persist": True, "repo": str(repo)})
    assert stale.value.kind == "conflict"
    with pytest.raises(RpcError) as unnamed:
        daemon.call("context.put", {"scope": "run-7", "key": "a/b", "value": 0, "persist": True, "repo": str(repo)})
    assert unnamed.value.kind == "invalid_params" and "is a swamp data name" in unnamed.value.message
    assert sorted(p.name for p in name_dir.iterdir()) == ["1", "latest"]
    assert [k["key"] for k in daemon.call("context.list", {"scope": "run-7"})["keys"]] == ["summary"]

    fresh = real_swamp.json("data", "gc", "--dry-run", cwd=repo)
    assert fresh["expiredEntries"] == []  # within its lifetime swamp keeps it
    age(name_dir / "1" / "metadata.yaml", minutes=3)
    collected = real_swamp.json("data", "gc", cwd=repo)
    assert [(e["type"], e["modelId"], e["dataName"], e["reason"]) for e in collected["expiredEntries"]] == \
        [("swampd/context", persist_model_id("run-7"), "summary", "duration-expired")]
    assert not (name_dir / "1").exists()
