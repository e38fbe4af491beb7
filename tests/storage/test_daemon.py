"""The storage RPC methods through a real daemon process, and kill -9 in the middle of writes."""

from __future__ import annotations

import base64
import hashlib
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from swampd.client import ConnectionClosed, RpcError

from .conftest import RepoFactory

MODEL = "9a7c0e11-2222-4333-8444-555566667777"


def test_hot_reads_are_answered_now_with_the_same_replies_and_refusals(daemon: Any,
                                                                         repos_factory: RepoFactory) -> None:
    """A hot data.get is answered within the read of the request (no task); misses, wrong params and
    refusals still come from the async handler, unchanged."""
    repo = repos_factory.make("filesystem")
    params = {"repo": "demo", "type": "command/shell", "model": MODEL, "name": "result"}
    with daemon.client() as c:
        c.call("repos.register", {"path": str(repo), "name": "demo"})
        c.call("data.put", {**params, "content": "hello", "content_type": "text/plain"})

        def answered_now() -> int:
            return int(c.call("daemon.status")["requests_answered_now"])

        c.call("cache.evict", {"repo": "demo", "type": "command/shell", "model": MODEL})
        start = answered_now()
        first = c.call("data.get", params)  # a miss: the async handler
        assert answered_now() == start and first["cached"] is False
        hot = [c.call("data.get", params), c.call("data.get", ["demo", "command/shell", MODEL, "result"])]
        assert answered_now() == start + 2
        assert all(reply == {**first, "cached": True} for reply in hot)
        refusals = [({**params, "name": "latest"}, "invalid_params"), ({**params, "version": "1"}, "invalid_params"),
                    ({**params, "extra": 1}, "invalid_params"), ({**params, "path_above": -1}, "invalid_params"),
                    ({**params, "name": "nope"}, "not_found")]
        for bad, kind in refusals:
            with pytest.raises(RpcError) as err:
                c.call("data.get", bad)
            assert err.value.kind == kind, bad
        assert answered_now() == start + 2

        # The client's request lines differ only in their ids: each is answered again from the
        # remembered call, which asks the hot tier every time (a new version, an eviction are seen).
        again = c.call("daemon.status")["requests_answered_again"]
        assert c.call("data.get", params) == hot[0] and answered_now() == start + 3
        assert c.call("daemon.status")["requests_answered_again"] == again + 1
        c.call("data.put", {**params, "content": "hello again", "content_type": "text/plain"})
        newer = c.call("data.get", params)
        assert (newer["version"], newer["content"]) == (2, "hello again")
        c.call("cache.evict", {"repo": "demo", "type": "command/shell", "model": MODEL})
        assert c.call("data.get", params)["cached"] is False


def test_data_rpc_round_trip(daemon: Any, repos_factory: RepoFactory) -> None:
    repo = repos_factory.make("filesystem")
    with daemon.client() as c:
        reg = c.call("repos.register", {"path": str(repo), "name": "demo"})
        assert (reg["name"], reg["backend"]) == ("demo", "filesystem")
        put = c.call("data.put", {"repo": "demo", "type": "command/shell", "model": MODEL, "name": "result",
                                  "content": '{"ok":true}', "content_type": "application/json"})
        assert put["version"] == 1
        blob = os.urandom(200_000)
        c.call("data.put", {"repo": "demo", "type": "command/shell", "model": MODEL, "name": "blob",
                            "content_base64": base64.b64encode(blob).decode()})
        got = c.call("data.get", {"repo": "demo", "type": "command/shell", "model": MODEL, "name": "result"})
        assert (got["content"], got["encoding"]) == ('{"ok":true}', "text")
        as_path = c.call("data.get", {"repo": "demo", "type": "command/shell", "model": MODEL, "name": "blob",
                                      "as_path": True})
        assert as_path["encoding"] == "path"
        assert Path(as_path["path"]).read_bytes() == blob
        inline = c.call("data.get", ["demo", "command/shell", MODEL, "blob"])  # positional params
        assert base64.b64decode(inline["content"]) == blob
        assert c.call("data.versions", {"repo": "demo", "type": "command/shell", "model": MODEL,
                                        "name": "result"})["versions"] == [1]
        names = c.call("data.list", {"repo": "demo", "type": "command/shell", "model": MODEL})["data"]
        assert [n["name"] for n in names] == ["blob", "result"]
        assert [r["name"] for r in c.call("repos.list")] == ["demo"]
        stats = c.call("cache.stats")
        assert stats["overall"]["requests"] >= 3 and "filesystem" in stats["backends"]
        keys = c.call("cache.keys", {"repo": "demo", "filter": "/result/"})
        assert keys["total"] >= 3 and all("/result/" in k["key"] for k in keys["keys"])
        assert c.call("cache.evict", {"repo": "demo", "type": "command/shell", "model": MODEL})["evicted"] >= 3
        assert c.call("cache.keys", {"repo": "demo"})["total"] == 0
        again = c.call("data.get", {"repo": "demo", "type": "command/shell", "model": MODEL, "name": "result"})
        assert again["cached"] is False
        health = c.call("datastore.health")
        assert health["healthy"] is True and health["datastores"][0]["repos"] == ["demo"]
        with pytest.raises(RpcError) as err:
            c.call("data.get", {"repo": "demo", "type": "command/shell", "model": MODEL, "name": "latest"})
        assert err.value.kind == "invalid_params"
        with pytest.raises(RpcError) as err:
            c.call("data.get", {"repo": "demo", "type": "command/shell", "model": MODEL, "name": "nope"})
        assert err.value.kind == "not_found"
        assert c.call("repos.forget", {"name": "demo"}) == {"forgotten": True}
        assert c.call("repos.list") == []


ACKED_BEFORE_THE_KILL = {"s3": 80}
"""An S3 write publishes swamp's index under its global push lock (~0.3 s each here): fewer suffice."""


@pytest.mark.timeout(300)
def test_kill9_during_writes_loses_nothing_acknowledged(backend: str, daemon: Any,
                                                        repos_factory: RepoFactory) -> None:
    enough_acked = ACKED_BEFORE_THE_KILL.get(backend, 300)
    repo = repos_factory.make(backend)
    daemon.call("repos.register", {"path": str(repo), "name": "crash"})
    acked: list[tuple[str, int, str]] = []
    lock = threading.Lock()
    enough = threading.Event()

    def writer(name: str, count: int) -> None:
        try:
            with daemon.client() as c:
                for i in range(count):
                    text = f"{name}-{i}-" + "x" * (i % 50)
                    put = c.call("data.put", {"repo": "crash", "type": "t", "model": MODEL, "name": name,
                                              "content": text})
                    with lock:
                        acked.append((name, put["version"], text))
                        if len(acked) >= enough_acked:
                            enough.set()
        except (OSError, ConnectionClosed):
            return  # the daemon died under us: expected

    threads = [threading.Thread(target=writer, args=(f"n{k}", 250)) for k in range(4)]
    for t in threads:
        t.start()
    enough.wait(timeout=200)
    daemon.kill9()
    for t in threads:
        t.join(timeout=60)
    assert enough_acked <= len(acked) < 1000
    daemon.start()
    with daemon.client() as c:
        for name in ("n0", "n1", "n2", "n3"):
            mine = sorted((v, text) for n, v, text in acked if n == name)
            listed = c.call("data.versions", {"repo": "crash", "type": "t", "model": MODEL, "name": name})
            assert {v for v, _ in mine} <= set(listed["versions"])
            for version in listed["versions"]:  # nothing partial: every listed version is whole
                got = c.call("data.get", {"repo": "crash", "type": "t", "model": MODEL, "name": name,
                                          "version": version})
                assert hashlib.sha256(got["content"].encode()).hexdigest() == got["metadata"]["checksum"]
            for version, text in mine:
                got = c.call("data.get", {"repo": "crash", "type": "t", "model": MODEL, "name": name,
                                          "version": version})
                assert got["content"] == text
            latest = c.call("data.get", {"repo": "crash", "type": "t", "model": MODEL, "name": name})
            assert latest["version"] >= max(v for v, _ in mine)
        # writes go on after the crash (the dead daemon's per-model lock is taken over)
        assert c.call("data.put", {"repo": "crash", "type": "t", "model": MODEL, "name": "n0",
                                   "content": "after"})["version"] >= 1


@pytest.mark.postgres
def test_postgres_down_through_the_daemon(daemon: Any, repos_factory: RepoFactory, pg_cluster: Any) -> None:
    repo = repos_factory.make("postgres")
    daemon.call("repos.register", {"path": str(repo), "name": "pg"})
    ref = {"repo": "pg", "type": "t", "model": MODEL, "name": "x"}
    with daemon.client() as c:
        c.call("data.put", {**ref, "content": "one"})
        assert c.call("data.get", ref)["stale"] is False
        pg_cluster.stop()
        try:
            deadline_reads = [c.call("data.get", ref) for _ in range(3)]
            assert all(r["content"] == "one" for r in deadline_reads)
            assert any(r["stale"] for r in deadline_reads) or c.call("data.get", ref)["stale"]
            with pytest.raises(RpcError) as err:
                c.call("data.put", {**ref, "content": "two"})
            assert err.value.kind == "backend_unavailable"
            health = c.call("datastore.health")
            assert health["datastores"][0]["state"] == "down"
        finally:
            pg_cluster.start()
        assert c.call("data.put", {**ref, "content": "three"})["version"] == 2
        got = c.call("data.get", ref)
        assert (got["content"], got["stale"]) == ("three", False)
        assert c.call("datastore.health")["healthy"] is True


def test_cache_events_reach_subscribers(daemon: Any, repos_factory: RepoFactory) -> None:
    repo = repos_factory.make("filesystem")
    with daemon.client() as c, daemon.client() as watcher:
        c.call("repos.register", {"path": str(repo), "name": "ev"})
        for i in range(3):
            c.call("data.put", {"repo": "ev", "type": "t", "model": MODEL, "name": f"n{i}", "content": "v"})
        c.call("cache.evict", {"repo": "ev", "all": True})
        watcher.subscribe(["cache"])
        job = c.call("cache.prefetch", {"repo": "ev", "type": "t", "model": MODEL})
        seen: list[dict[str, Any]] = []
        while not any(e.get("type") == "cache.prefetch" and e.get("state") == "done" for e in seen):
            note = watcher.next_notification(timeout=30)
            assert note["params"]["topic"] == "cache"
            seen.append(note["params"]["data"])
        done = [e for e in seen if e.get("id") == job["id"] and e["state"] == "done"][-1]
        assert (done["total"], done["fetched"]) == (6, 6)
        for _ in range(200):
            c.call("data.get", {"repo": "ev", "type": "t", "model": MODEL, "name": "n0"})
        activity = watcher.next_notification(timeout=30)["params"]["data"]
        assert activity["type"] == "cache.activity" and activity["hits"] + activity["misses"] >= 1
