"""`stats.history`: the daemon keeps an hour of counters, so a console (re)started now sees the past."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from swampd.client import RpcError
from swampd.history import History
from tests.conftest import wait_until

MODEL = "9a7c0e11-2222-4333-8444-555566667777"


def swamp_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / ".swamp").mkdir(parents=True)
    (repo / ".swamp.yaml").write_text("swampVersion: 0.1.0\n")
    return repo


class Counters:
    def __init__(self) -> None:
        self.requests = self.hits = self.reads = 0

    def __call__(self) -> tuple[int, int, int]:
        return self.requests, self.hits, self.reads


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_buckets_are_exact_differences_with_honest_coverage() -> None:
    counters, clock = Counters(), Clock()
    history = History(counters, clock=clock)
    history.sample()
    for second in range(120):  # two minutes: 95 % hits the first, 85 % the second
        clock.now += 1
        counters.requests += 10
        counters.reads += 20
        counters.hits += 19 if second < 60 else 17
        history.sample()
    two = history.window(120, 2)
    assert [p["hit_ratio"] for p in two["points"]] == [0.95, 0.85]
    assert [p["requests_per_s"] for p in two["points"]] == [10.0, 10.0]
    assert two["covered"] == 120 and two["overall"]["hit_ratio"] == 0.9
    hour = history.window(3600, 60)  # the daemon is two minutes old: the rest is not made up
    assert hour["covered"] == 120
    assert len(hour["points"]) == 2 and all(p["hit_ratio"] is not None for p in hour["points"])


def test_no_reads_is_no_ratio_not_zero() -> None:
    counters, clock = Counters(), Clock()
    history = History(counters, clock=clock)
    for _ in range(30):
        history.sample()
        clock.now += 1
        counters.requests += 1
    window = history.window(60, 6)
    assert window["points"] and all(p["hit_ratio"] is None for p in window["points"])
    assert window["overall"]["hit_ratio"] is None


@pytest.mark.parametrize("params", [{"window": 5}, {"window": 3601}, {"window": "1h"}, {"points": 0},
                                    {"points": 601}, {"window": True}])
def test_bad_windows_are_refused(daemon: Any, params: dict[str, Any]) -> None:
    with pytest.raises(RpcError) as info:
        daemon.call("stats.history", params)
    assert info.value.kind in ("invalid_params", "invalid_input")


def test_the_daemon_keeps_history_across_clients(daemon: Any, tmp_path: Path) -> None:
    repo = swamp_repo(tmp_path)
    daemon.call("repos.register", {"path": str(repo), "name": "demo"})
    daemon.call("data.put", {"repo": "demo", "type": "t/x", "model": MODEL, "name": "n", "content": "x"})
    for _ in range(5):
        daemon.call("data.get", {"repo": "demo", "type": "t/x", "model": MODEL, "name": "n"})

    def window() -> dict[str, Any]:
        return daemon.call("stats.history", {"window": 60, "points": 60})

    wait_until(lambda: sum(p["reads"] for p in window()["points"]) >= 5, what="reads in the history")
    got = window()  # a new connection: the history is the daemon's, not the caller's
    assert got["window"] == 60 and got["covered"] > 0
    reads = sum(p["reads"] for p in got["points"])
    hits = sum(p["hits"] for p in got["points"])
    assert reads >= 5 and hits >= 4
    assert got["overall"]["reads"] == reads
    assert all(p["requests_per_s"] >= 0 for p in got["points"])


def test_manual_evictions_are_counted(daemon: Any, tmp_path: Path) -> None:
    repo = swamp_repo(tmp_path)
    daemon.call("repos.register", {"path": str(repo), "name": "demo"})
    daemon.call("data.put", {"repo": "demo", "type": "t/x", "model": MODEL, "name": "n", "content": "x"})
    daemon.call("data.get", {"repo": "demo", "type": "t/x", "model": MODEL, "name": "n"})
    evicted = daemon.call("cache.evict", {"all": True})["evicted"]
    assert evicted > 0
    overall = daemon.call("cache.stats")["overall"]
    assert overall["evictions_manual"] == evicted and overall["evictions"] == 0


def test_cache_keys_name_the_model_and_count_hits(daemon: Any, tmp_path: Path) -> None:
    repo = swamp_repo(tmp_path)
    models = repo / "models" / "aws" / "ec2"
    models.mkdir(parents=True)
    (models / "web-1.yaml").write_text(f"id: {MODEL}\nname: web-1\n")
    daemon.call("repos.register", {"path": str(repo), "name": "demo"})
    daemon.call("data.put", {"repo": "demo", "type": "aws/ec2", "model": MODEL, "name": "state", "content": "x"})
    for _ in range(3):
        daemon.call("data.get", {"repo": "demo", "type": "aws/ec2", "model": MODEL, "name": "state"})
    keys = daemon.call("cache.keys", {"filter": "/raw"})["keys"]
    assert keys and all(k["model_name"] == "web-1" for k in keys)
    assert [(k["reads"], k["hits"]) for k in keys] == [(3, 3)]
