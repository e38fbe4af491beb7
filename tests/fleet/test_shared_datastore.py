"""Data written by a remote job lands in the repo's shared PostgreSQL datastore, and the local hot tier
sees it through NOTIFY alone (the local daemon's staleness is an hour: polling cannot explain it)."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import wait_until
from tests.storage.conftest import write_marker
from tests.storage.servers import PostgresCluster

MODEL = "5c2d3a4e-1f2b-4c5d-8e9f-0a1b2c3d4e5f"


@pytest.fixture(scope="module")
def pg_tcp() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster(tcp=True)  # the remote account reaches it over loopback TCP
    cluster.start()
    yield cluster
    cluster.destroy()


@pytest.fixture
def daemon_env(daemon_env: dict[str, str], swampd_home: Path) -> dict[str, str]:
    config = swampd_home / "config.toml"
    config.write_text(config.read_text() + "\n[cache]\nstaleness = 3600.0\nsignal_staleness = 3600.0\n")
    return daemon_env


@pytest.mark.postgres
def test_a_remote_jobs_write_reaches_the_local_hot_tier_through_notify(daemon, remote_home, pg_tcp,
                                                                        tmp_path: Path) -> None:
    block = {"type": "@webframp/postgres-datastore",
             "config": {"connectionString": pg_tcp.url, "schema": f"f_{uuid.uuid4().hex[:10]}", "ssl": "disable"}}
    local_repo = tmp_path / "repo"
    local_repo.mkdir()
    write_marker(local_repo, block)
    there = remote_home.mkdir("repo")
    write_marker(there, block)
    (there / ".swamp.yaml").chmod(0o644)
    here = daemon.call("repos.register", {"path": str(local_repo)})
    put = {"type": "swampd/test", "model": MODEL, "name": "state"}
    daemon.call("data.put", {**put, "repo": here["name"], "content": "v1 from here"})
    assert daemon.call("data.get", {**put, "repo": here["name"]})["content"] == "v1 from here"
    wait_until(lambda: any(r.get("change_signal") for r in daemon.call("datastore.health")["datastores"]), 30,
               "the local daemon's LISTEN connection")
    writer = ("import json, sys\nfrom swampd.client import connect\n"
              "print(json.dumps(connect().call('data.put', json.loads(sys.argv[1]))))\n")
    record = daemon.call("jobs.submit", {"kind": "command", "target": "remote", "argv": [
        sys.executable, "-c", writer, json.dumps({**put, "repo": str(there), "content": "v2 from remote"})]})
    assert record["state"] == "succeeded", daemon.call("jobs.logs", {"id": record["id"]})
    written = json.loads(daemon.call("jobs.logs", {"id": record["id"]})["lines"][-1])
    assert written["version"] == 2
    wait_until(lambda: daemon.call("data.get", {**put, "repo": here["name"]})["content"] == "v2 from remote",
               30, "the local hot tier to see the remote write")
    assert daemon.call("data.get", {**put, "repo": here["name"]})["version"] == 2
