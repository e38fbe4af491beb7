"""Model data on a filesystem datastore, the real swamp and swampd on one repo, both directions:
get, list, versions, query, delete, gc, prune, rename, ownership, and swamp's catalog.

One repo state is built per module (the real CLI costs ~1.3 s a call); the tests run in file
order and each uses its own data names.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from swampd.client import RpcError
from swampd.storage import catalog
from swampd.storage.layout import load_metadata
from tests.conftest import DaemonProcess, RealSwamp, wait_until

from .conftest import swampd_beside, write_shell_model

TYPE = "command/shell"
SEEN_WITHIN = 15.0  # seconds: far above the staleness bound (1 s), far below "over a minute"


class World:
    def __init__(self, real: RealSwamp, repo: Path, daemon: DaemonProcess, model_id: str) -> None:
        self.real, self.repo, self.daemon, self.model_id = real, repo, daemon, model_id

    def swamp(self, *args: str) -> Any:
        return self.real.json(*args, cwd=self.repo)

    def call(self, method: str, **params: Any) -> Any:
        return self.daemon.call(method, {"repo": str(self.repo), "type": TYPE, **params})

    def put(self, name: str, text: str, **params: Any) -> dict[str, Any]:
        return self.call("data.put", model="hello", name=name, content=text, **params)

    def get(self, name: str, version: int | None = None, model: str = "hello") -> dict[str, Any]:
        params: dict[str, Any] = {"model": model, "name": name}
        if version is not None:
            params["version"] = version
        return self.call("data.get", **params)

    def gone(self, name: str, version: int | None = None, model: str = "hello") -> bool:
        try:
            self.get(name, version, model)
        except RpcError as exc:
            assert exc.kind == "not_found", exc
            return True
        return False

    def names(self) -> list[str]:
        return [d["name"] for d in self.call("data.list", model="hello")["data"]]

    def swamp_names(self) -> list[str]:
        listed = self.swamp("data", "list", "hello")
        return sorted(item["name"] for group in listed["groups"] for item in group["items"])


@pytest.fixture(scope="module")
def world(module_real_swamp: RealSwamp, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    repo = module_real_swamp.init_repo(tmp_path_factory.mktemp("data") / "repo")
    model_id = write_shell_model(repo, "hello", 'echo "hi-${{ inputs.msg }}"', inputs={"msg": {"type": "string"}})
    for msg in ("one", "two"):
        module_real_swamp.json("model", "method", "run", "hello", "execute", "--input", f"msg={msg}", cwd=repo)
    with swampd_beside(module_real_swamp) as daemon:
        yield World(module_real_swamp, repo, daemon, model_id)


def test_what_swamp_wrote_reads_the_same_through_swampd(world: World) -> None:
    theirs = world.swamp("data", "get", "hello", "result")
    ours = world.get("result")
    assert (ours["model_id"], ours["version"]) == (world.model_id, theirs["version"]) == (world.model_id, 2)
    assert json.loads(ours["content"]) == theirs["content"]
    assert json.loads(ours["content"])["stdout"] == "hi-two"
    assert json.loads(world.get("result", 1)["content"])["stdout"] == "hi-one"
    assert ours["metadata"]["ownerDefinition"] == theirs["ownerDefinition"]
    versions = world.swamp("data", "versions", "hello", "result")
    assert world.call("data.versions", model="hello", name="result")["versions"] == sorted(
        v["version"] for v in versions["versions"])
    assert world.names() == world.swamp_names()


def test_swampd_builds_the_catalog_row_swamp_builds(world: World) -> None:
    """The row swampd upserts for a version is the row swamp wrote for it, column for column."""
    name_dir = world.repo / ".swamp" / "data" / "command" / "shell" / world.model_id / "result"
    metadata = load_metadata((name_dir / "2" / "metadata.yaml").read_bytes())
    db = sqlite3.connect(catalog.catalog_path(str(world.repo)))
    try:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM catalog WHERE data_name = 'result' AND version = 2").fetchone()
    finally:
        db.close()
    assert row is not None and row["is_latest"] == 1
    ours = catalog.catalog_row("", TYPE, world.model_id, metadata)
    assert dict(zip(row.keys(), ours, strict=True)) == dict(row)


def test_what_swampd_wrote_reads_the_same_through_swamp_and_its_catalog(world: World) -> None:
    """issue 10 #3: after swampd's writes `data query` (from the populated catalog) and `doctor
    datastores` (catalog_completeness) agree with the files."""
    world.swamp("data", "query", 'modelName == "hello"')  # the catalog is now populated
    world.put("note", "first")
    written = world.put("note", "second note")
    assert written["version"] == 2
    theirs = world.swamp("data", "get", "hello", "note")
    assert (theirs["version"], theirs["content"]) == (2, "second note")
    assert [v["version"] for v in world.swamp("data", "versions", "hello", "note")["versions"]] == [2, 1]
    assert "note" in world.swamp_names()
    doctor = world.swamp("doctor", "datastores")
    completeness = next(f for f in doctor["healthFindings"] if f["check"] == "catalog_completeness")
    assert completeness["passed"] is True, doctor
    assert doctor["overallStatus"] == "pass"
    query = world.swamp("data", "query", 'name == "note"')
    assert [(r["version"], r["isLatest"]) for r in query["results"]] == [(2, True)]
    # swampd tags a model given by name as swamp tags its data, so queries by model name find it
    assert theirs["tags"]["modelName"] == "hello"
    by_model = world.swamp("data", "query", 'modelName == "hello" && name == "note"')
    assert len(by_model["results"]) == 1


def test_a_write_by_swampd_never_locks_the_model_out_of_its_data(world: World) -> None:
    """issue 10 #4: swampd's default owner is the model's own (what its method runs write), so after
    a swampd write the model's next real run still writes that name."""
    assert world.put("result", json.dumps({"stdout": "from-swampd"}), content_type="application/json")["version"] == 3
    run = world.real.run("model", "method", "run", "hello", "execute", "--input", "msg=three", "--json",
                         cwd=world.repo)
    assert run.returncode == 0 and "Ownership validation failed" not in run.stderr, run
    assert json.loads(world.get("result")["content"])["stdout"] == "hi-three"
    assert world.get("result", 3)["metadata"]["ownerDefinition"] == {"ownerType": "model-method",
                                                                      "ownerRef": world.model_id}


def test_ownership_follows_swamps_rule(world: World) -> None:
    """issue 10 #4: a write whose owner differs from the name's owner is refused, naming both; the
    caller can state the owner."""
    with pytest.raises(RpcError) as refused:
        world.put("result", "not mine", owner={"ownerType": "manual", "ownerRef": "alice"})
    assert refused.value.kind == "conflict"
    assert f"model-method:{world.model_id}" in refused.value.message and "manual:alice" in refused.value.message
    assert refused.value.data["existing_owner"] == {"ownerType": "model-method", "ownerRef": world.model_id}
    assert world.get("result")["version"] == 4  # nothing written
    world.put("alices", "hers", owner={"ownerType": "manual", "ownerRef": "alice"})
    with pytest.raises(RpcError) as not_the_model:
        world.put("alices", "the model's")
    assert not_the_model.value.kind == "conflict"
    assert world.put("alices", "hers again", owner={"ownerType": "manual", "ownerRef": "alice"})["version"] == 2
    assert world.swamp("data", "get", "hello", "alices")["ownerDefinition"] == {"ownerType": "manual",
                                                                                "ownerRef": "alice"}


def test_a_version_swamp_deletes_stops_being_served(world: World) -> None:
    """issue 10 #1: `data delete --version` is seen within the staleness bound, pinned and latest."""
    assert world.get("note", 2)["content"] == "second note"  # both versions in swampd's hot tier
    assert world.get("note", 1)["content"] == "first"
    deleted = world.swamp("data", "delete", "hello", "note", "--version", "2", "--force")
    assert deleted["versionsDeleted"] == 1
    wait_until(lambda: world.gone("note", 2), timeout=SEEN_WITHIN, what="deleted version 2 not served")
    assert (world.get("note")["version"], world.get("note")["content"]) == (1, "first")
    assert world.call("data.versions", model="hello", name="note")["versions"] == [1]
    # the freed number is claimed again by the next write: the new content, never the deleted one
    assert world.put("note", "a new second")["version"] == 2
    assert world.get("note", 2)["content"] == "a new second"


def test_versions_swamp_collects_stop_being_served(world: World) -> None:
    """issue 10 #1: `data gc` (version cap) is seen within the staleness bound."""
    for i in range(1, 4):
        world.put("capped", f"v{i}", garbage_collection=2)
        assert world.get("capped", i)["content"] == f"v{i}"
    gc = world.swamp("data", "gc", "--force")
    assert gc["versionsDeleted"] >= 1
    wait_until(lambda: world.gone("capped", 1), timeout=SEEN_WITHIN, what="collected version 1 not served")
    assert world.call("data.versions", model="hello", name="capped")["versions"] == [2, 3]
    assert world.get("capped")["content"] == "v3"


def test_data_swamp_prunes_stops_being_served(world: World) -> None:
    """issue 10 #1: `data prune` (data whose model definition is gone) is seen within the staleness bound."""
    orphan_model = str(uuid.uuid4())
    world.call("data.put", model=orphan_model, name="orphan", content="left behind")
    assert world.get("orphan", model=orphan_model)["content"] == "left behind"
    assert world.get("orphan", 1, model=orphan_model)["content"] == "left behind"
    pruned = world.swamp("data", "prune", "--force")
    assert pruned["dataEntriesReclaimed"] >= 1
    wait_until(lambda: world.gone("orphan", 1, model=orphan_model), timeout=SEEN_WITHIN, what="pruned data served")
    assert world.gone("orphan", model=orphan_model)
    assert world.call("data.list", model=orphan_model)["data"] == []  # swamp deletes each name's dir


def test_a_name_swamp_renames_is_listed_and_read_as_swamp_does(world: World) -> None:
    """issue 10 #2: after `data rename` the old name leaves the listing; latest reads follow `renamedTo`."""
    assert "note" in world.names()
    renamed = world.swamp("data", "rename", "hello", "note", "notes")
    tombstone = renamed["copiedVersion"] + 1
    wait_until(lambda: "note" not in world.names(), timeout=SEEN_WITHIN, what="renamed name still listed")
    assert "notes" in world.names()
    followed = world.get("note")
    assert (followed["name"], followed["version"], followed["content"]) == ("notes", 1, "a new second")
    pinned = world.get("note", tombstone)
    assert pinned["name"] == "note"
    assert (pinned["metadata"]["lifecycle"], pinned["metadata"]["renamedTo"]) == ("deleted", "notes")
    assert world.names() == world.swamp_names()
    assert world.call("data.versions", model="hello", name="note")["versions"] == [1, 2, tombstone]


def test_when_swampd_writes_first_swamp_accepts_the_catalog_it_made(world: World, tmp_path: Path) -> None:
    """No catalog yet: swampd creates it with swamp's schema; swamp keeps it (no rebuild) and agrees."""
    repo = world.real.init_repo(tmp_path / "fresh")
    assert not Path(catalog.catalog_path(str(repo))).exists()
    model = str(uuid.uuid4())
    world.daemon.call("data.put", {"repo": str(repo), "type": TYPE, "model": model, "name": "first",
                                   "content": "swampd was here"})
    doctor = world.real.json("doctor", "datastores", cwd=repo)
    assert doctor["overallStatus"] == "pass", doctor
    query = world.real.json("data", "query", 'name == "first"', cwd=repo)
    assert [(r["modelId"], r["version"]) for r in query["results"]] == [(model, 1)]


def test_names_like_internal_files_are_listed_by_both(world: World) -> None:
    """swamp's walker lists every directory of a model: a data name `x.tmp` or `_index` is data like any other."""
    for name in ("x.tmp", "_index"):
        world.put(name, f"named {name}")
    assert {"x.tmp", "_index"} <= set(world.names())
    assert world.names() == world.swamp_names()
