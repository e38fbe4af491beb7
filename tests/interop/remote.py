"""Helpers for the remote-datastore conformance tests: a real swamp repo on S3 or PostgreSQL, and a
real swampd daemon whose pointers only move on the backend's change signal."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from swampd.client import RpcError
from tests.conftest import REPO_ROOT, DaemonProcess, RealSwamp, wait_until

REAL = REPO_ROOT / ".swamp-real"
EXTENSIONS = {
    "@swamp/s3-datastore": REAL / "ext" / "s3-datastore" / "datastore" / "s3",
    "@webframp/postgres-datastore": REAL / "ext" / "postgres-datastore" / "datastore" / "postgres",
}
SHELL = "command/shell"


def swamp_repo_on(swamp: RealSwamp, path: Path, datastore: dict[str, Any], *, run: str = "echo hi") -> Path:
    """A swamp repo whose datastore is `datastore` (the hand-written block a teammate's clone has),
    with the extension loaded from its source and a shell model `hello` that runs `run`."""
    swamp.init_repo(path)
    std = REAL / "jsr" / "std"
    (path / "deno.json").write_text(json.dumps({"links": [str(std / "path"), str(std / "fs"), str(std / "internal")]}))
    swamp.json("extension", "source", "add", str(EXTENSIONS[datastore["type"]]), "--only", "datastores", cwd=path)
    marker_file = path / ".swamp.yaml"
    marker = yaml.safe_load(marker_file.read_text())
    marker["datastore"] = datastore
    marker_file.write_text(yaml.safe_dump(marker, sort_keys=False))
    swamp.json("model", "create", SHELL, "hello", cwd=path)
    definition = path / "models" / "command" / "shell" / "hello.yaml"
    definition.write_text(definition.read_text().replace(
        "methods: {}", f"methods:\n  execute:\n    arguments:\n      run: {run}\n"))
    return path


def swamp_json(swamp: RealSwamp, *args: str, cwd: Path) -> Any:
    """swamp's `--json` document. The datastore extensions print their own notes to stdout around
    it (the S3 one "[s3-sync] Index is using monolithic format...", the PostgreSQL one each server
    NOTICE as a JS object): swamp's answer is the object that parses as JSON."""
    out = swamp.run(*args, "--json", cwd=cwd, check=True).stdout
    lines = out.splitlines(keepends=True)
    for start, line in enumerate(lines):
        if line.startswith("{"):
            try:
                return json.JSONDecoder().raw_decode("".join(lines[start:]))[0]
            except ValueError:
                continue
    raise AssertionError(f"swamp {' '.join(args)} printed no JSON: {out[:500]!r}")


def a_fresh_clone_sees_the_notes(swamp: RealSwamp, repo: Path, workdir: Path) -> None:
    """A teammate's fresh clone (the repo's files without `.swamp/`, a swamp home of its own: an empty
    local cache) pulls swampd's two `note` versions like any other: `data list`, and `data query`
    over swamp's catalog, rebuilt from the pulled files (it answers the latest version)."""
    clone = workdir / "clone"
    shutil.copytree(repo, clone, ignore=shutil.ignore_patterns(".swamp"))
    (workdir / "teammate-home").mkdir()
    teammate = RealSwamp(swamp.executable, workdir / "teammate-home")
    swamp_json(teammate, "datastore", "sync", "--pull", cwd=clone)
    groups = swamp_json(teammate, "data", "list", "hello", cwd=clone)["groups"]
    assert {i["name"]: i["version"] for g in groups for i in g["items"]}.get("note") == 2, groups
    found = swamp_json(teammate, "data", "query", 'modelName == "hello" && name == "note"', cwd=clone)["results"]
    assert [(r["version"], r["isLatest"], r["size"], r["contentType"]) for r in found] == [(2, True, 3, "text/plain")]


def set_run(repo: Path, run: str) -> None:
    """What the shell model `hello` runs from now on."""
    definition = repo / "models" / "command" / "shell" / "hello.yaml"
    definition.write_text(re.sub(r"run: .*", f"run: {run}", definition.read_text(), count=1))


def model_id(repo: Path) -> str:
    return str(yaml.safe_load((repo / "models" / "command" / "shell" / "hello.yaml").read_text())["id"])


def signal_only_daemon(home: Path, env: dict[str, str]) -> Iterator[DaemonProcess]:
    """A daemon that trusts a pointer for an hour while the backend's change signal is live, and
    polls the S3 index every 0.2 s: it can only notice another writer through the signal."""
    (home / "config.toml").write_text("[cache]\nstaleness = 0.2\nsignal_staleness = 3600.0\n")
    proc = DaemonProcess(home, env).start()
    try:
        yield proc
    finally:
        proc.stop()
        proc.kill9()


def rpc_kind(call: Any) -> str | None:
    """The error kind of an RPC call (None when it succeeds)."""
    try:
        call()
    except RpcError as exc:
        return str((exc.data or {}).get("kind"))
    return None


def swamp_deletes_then_renames(swamp: RealSwamp, repo: Path, client: Any, at: dict[str, str]) -> None:
    """swamp deletes version 1 of `result` and renames `note` to `memo`: swampd stops serving the
    deleted version and follows the rename (through the change signal alone, see signal_only_daemon)."""
    swamp_json(swamp, "data", "delete", "hello", "result", "--version", "1", "--yes", cwd=repo)
    wait_until(lambda: rpc_kind(lambda: client.call("data.get", {**at, "name": "result", "version": 1}))
               == "not_found", timeout=30, what="swampd drops the version swamp deleted")
    assert client.call("data.versions", {**at, "name": "result"})["versions"] == [2]
    swamp_json(swamp, "data", "rename", "hello", "note", "memo", cwd=repo)
    wait_until(lambda: client.call("data.get", {**at, "name": "note"})["name"] == "memo", timeout=30,
               what="swampd follows the rename")
    assert client.call("data.get", {**at, "name": "note"})["content"] == "two"


def _run_version(run: dict[str, Any]) -> tuple[int, str]:
    """The version of `result` a swamp method run wrote, and its stdout."""
    assert run["status"] == "succeeded", run
    artifact = next(a for a in run["dataArtifacts"] if a["name"] == "result")
    found = re.search(r"/result/(\d+)$", artifact["path"])
    assert found is not None, artifact
    return int(found.group(1)), str(artifact["attributes"]["stdout"])


def swamp_and_swampd_write_one_name(swamp: RealSwamp, repo: Path, client: Any, at: dict[str, str], *,
                                    swamp_runs: int = 2, max_puts: int = 8) -> None:
    """swamp runs the model (writing `result`) `swamp_runs` times in a row while swampd writes
    `result` too, as fast as the locks let it: every write of either side gets its own version
    (none reused, none lost), swampd serves each one as its writer wrote it, and swamp, after a
    pull, lists the same versions with the same checksums."""
    set_run(repo, "cat /proc/sys/kernel/random/uuid")  # every run's output differs
    before = client.call("data.versions", {**at, "name": "result"})["versions"]
    ours: dict[int, str] = {}
    with ThreadPoolExecutor(1) as pool:
        swamp_side = pool.submit(lambda: [swamp_json(swamp, "model", "method", "run", "hello", "execute", cwd=repo)
                                          for _ in range(swamp_runs)])
        while not swamp_side.done() and len(ours) < max_puts:
            text = f"swampd-{len(ours)}"
            put = client.call("data.put", {**at, "name": "result", "content": text, "content_type": "text/plain"})
            assert put["version"] not in ours
            ours[put["version"]] = text
            try:  # let the swamp side take the lock between our writes
                swamp_side.result(timeout=0.3)
            except TimeoutError:
                pass
        theirs = dict(_run_version(run) for run in swamp_side.result())
    assert len(theirs) == swamp_runs and ours, (theirs, ours)
    assert not theirs.keys() & ours.keys(), f"a version written by both: {theirs.keys() & ours.keys()}"
    listed = client.call("data.versions", {**at, "name": "result"})["versions"]
    new = [v for v in listed if v not in before]
    assert new == sorted(theirs.keys() | ours.keys()) == list(range(max(before) + 1, max(before) + 1 + len(new)))
    checksums = {}
    for version in listed:
        got = client.call("data.get", {**at, "name": "result", "version": version})
        checksums[version] = got["metadata"]["checksum"]
        if version in ours:
            assert got["content"] == ours[version]
        elif version in theirs:
            assert json.loads(got["content"])["stdout"] == theirs[version]
    swamp_json(swamp, "datastore", "sync", "--pull", cwd=repo)
    agreed = swamp_json(swamp, "data", "versions", "hello", "result", cwd=repo)["versions"]
    assert {v["version"]: v.get("checksum") for v in agreed} == checksums


def swamp_overwrites_a_version_swampd_served(swamp: RealSwamp, repo: Path, client: Any, at: dict[str, str]) -> None:
    """swamp deletes the newest version (which swampd has just served, so it is hot) and its
    next run claims the freed number again with other content: swampd serves the new content
    (through the change signal alone, see signal_only_daemon), never the old one for longer."""
    top = client.call("data.versions", {**at, "name": "result"})["versions"][-1]
    old = client.call("data.get", {**at, "name": "result", "version": top})
    assert client.call("data.get", {**at, "name": "result", "version": top})["cached"]
    swamp_json(swamp, "data", "delete", "hello", "result", "--version", str(top), "--yes", cwd=repo)
    version, stdout = _run_version(swamp_json(swamp, "model", "method", "run", "hello", "execute", cwd=repo))
    assert version == top, "swamp claims a freed version number again"

    def served() -> str:
        got = client.call("data.get", {**at, "name": "result", "version": top})
        return str(got["metadata"]["checksum"])

    wait_until(lambda: rpc_kind(served) is None and served() != old["metadata"]["checksum"], timeout=30,
               what="swampd serves the version swamp wrote again")
    got = client.call("data.get", {**at, "name": "result", "version": top})
    assert json.loads(got["content"])["stdout"] == stdout
