"""`swamp data|cache|repo` through the real console script and a real daemon."""

from __future__ import annotations

from typing import Any

from .conftest import RepoFactory

MODEL = "1c2d3e4f-1111-4222-8333-444455556666"


def test_data_cache_repo_commands(daemon: Any, run_cli: Any, run_swampd: Any, repos_factory: RepoFactory) -> None:
    repo = repos_factory.make("filesystem")
    added = run_swampd("--json", "repo", "add", str(repo), "--name", "cli-repo")
    assert added.returncode == 0, added
    assert added.json()["name"] == "cli-repo"
    put = run_swampd("--json", "data", "put", "command/shell", MODEL, "result", "--text", "hello", cwd=str(repo))
    assert put.returncode == 0, put
    assert put.json()["version"] == 1
    put2 = run_swampd("data", "put", "--repo", "cli-repo", "command/shell", MODEL, "result", input="second")
    assert put2.returncode == 0 and "version 2" in put2.stdout, put2
    got = run_swampd("data", "get", "command/shell", MODEL, "result", cwd=str(repo))
    assert (got.returncode, got.stdout) == (0, "second")
    pinned = run_swampd("data", "get", "--repo", "cli-repo", "--version", "1", "command/shell", MODEL, "result")
    assert pinned.stdout == "hello"
    large = "0123456789abcdef\n" * 5000  # above READ_FILE_ABOVE: read from the cached file, same output
    run_swampd("data", "put", "--repo", "cli-repo", "command/big", MODEL, "large", input=large)
    assert run_swampd("data", "get", "--repo", "cli-repo", "command/big", MODEL, "large").stdout == large
    versions = run_swampd("--json", "data", "versions", "--repo", "cli-repo", "command/shell", MODEL, "result")
    assert versions.json()["versions"] == [1, 2]
    listing = run_swampd("data", "ls", "--repo", "cli-repo", "command/shell", MODEL)
    assert listing.stdout.split() == ["result", "2"]
    stats = run_cli("--json", "cache", "stats")
    assert stats.json()["overall"]["requests"] >= 2
    keys = run_cli("--json", "cache", "ls", "--repo", "cli-repo")
    assert keys.json()["total"] >= 5
    evicted = run_cli("--json", "cache", "evict", "--repo", "cli-repo", "--model", "command/shell", MODEL)
    assert evicted.json()["evicted"] >= 5
    warmed = run_cli("--json", "cache", "prefetch", "--repo", "cli-repo", "--model", "command/shell", MODEL,
                     "--wait")
    assert (warmed.json()["state"], warmed.json()["fetched"]) == ("done", 4)
    missing = run_swampd("--json", "data", "get", "--repo", "cli-repo", "command/shell", MODEL, "nope")
    assert missing.returncode != 0 and "not_found" in missing.stderr
    theirs = run_swampd("data", "put", "--repo", "cli-repo", "--owner", "manual:alice", "command/shell", MODEL,
                        "result", "--text", "not hers")
    assert theirs.returncode != 0 and "conflict" in theirs.stderr and "manual:alice" in theirs.stderr
    hers = run_swampd("--json", "data", "put", "--repo", "cli-repo", "--owner", "manual:alice", "command/shell",
                      MODEL, "hers", "--text", "mine")
    assert hers.json()["version"] == 1
    assert run_swampd("--json", "repo", "ls").json()[0]["name"] == "cli-repo"
    assert run_swampd("repo", "rm", "cli-repo").returncode == 0
    assert run_swampd("--json", "repo", "ls").json() == []


def test_swamp_datastore_from_the_callers_shell(daemon: Any, run_swampd: Any, daemon_env: dict[str, str],
                                                repos_factory: RepoFactory, workdir: Any) -> None:
    """The daemon's environment is not the caller's: the CLI passes SWAMP_DATASTORE along."""
    repo = repos_factory.make("filesystem")
    elsewhere = workdir / "elsewhere"
    elsewhere.mkdir()
    env = {**daemon_env, "SWAMP_DATASTORE": f"filesystem:{elsewhere}"}
    put = run_swampd("--json", "data", "put", "t", MODEL, "x", "--text", "hi", cwd=str(repo), env=env)
    assert put.returncode == 0, put
    assert (elsewhere / "data" / "t" / MODEL / "x" / "latest").read_bytes() == b"1"
    # only swamp's catalog, which lives in the repo's local tier whatever the datastore
    assert {p.name for p in (repo / ".swamp" / "data").iterdir()} <= {"_catalog.db", "_catalog.db-wal",
                                                                      "_catalog.db-shm"}
    listed = run_swampd("--json", "repo", "ls").json()
    assert listed[0]["datastore"]["source"] == "env"
