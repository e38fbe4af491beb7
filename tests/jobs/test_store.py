"""The SQLite job store: round trips, filters, unfinished records, retention."""

from __future__ import annotations

from pathlib import Path

from swampd.jobs.states import Job, JobKind, JobState
from swampd.jobs.store import JobStore


def make(job_id: str, state: JobState, created: float) -> Job:
    return Job(id=job_id, kind=JobKind.SWAMP, state=state, created_at=created,
               spec={"model": "m", "method": "x", "inputs": {"n": 1}, "repo": "/r"},
               result={"status": "succeeded", "big": 2**70 + 1} if state is JobState.SUCCEEDED else None,
               error={"message": "boom", "code": "exit_status"} if state is JobState.FAILED else None)


def test_round_trip_filters_and_retention(tmp_path: Path) -> None:
    store = JobStore(str(tmp_path / "db" / "jobs.sqlite3"))
    store.open()
    try:
        jobs = [make("a", JobState.SUCCEEDED, 1), make("b", JobState.FAILED, 2),
                make("c", JobState.RUNNING, 3), make("d", JobState.CANCELLED, 4),
                make("e", JobState.QUEUED, 5)]
        for job in jobs:
            store.save(job)
        assert store.get("a") == jobs[0]
        assert store.get("b") == jobs[1]
        assert store.get("zz") is None
        assert [j.id for j in store.list()] == ["e", "d", "c", "b", "a"]
        assert [j.id for j in store.list(["failed", "succeeded"])] == ["b", "a"]
        assert [j.id for j in store.list(limit=2)] == ["e", "d"]
        assert sorted(j.id for j in store.unfinished()) == ["c", "e"]
        assert store.purge(keep=1) == 2  # terminal a, b go; d (newest terminal) stays
        assert sorted(j.id for j in store.list()) == ["c", "d", "e"]
        jobs[2].state = JobState.SUCCEEDED
        store.save(jobs[2])
        assert store.get("c").state is JobState.SUCCEEDED
    finally:
        store.close()
    assert (tmp_path / "db").stat().st_mode & 0o777 == 0o700


def test_a_database_from_before_remote_jobs_gets_the_column(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "jobs.sqlite3"
    from swampd.jobs.store import SCHEMA

    old_schema = SCHEMA
    old_schema = old_schema.replace("    daemon_pid INTEGER,\n    remote TEXT\n", "    daemon_pid INTEGER\n")
    assert "remote" not in old_schema
    db = sqlite3.connect(path)
    db.executescript(old_schema)
    db.execute("INSERT INTO jobs (id, kind, state, spec, created_at) VALUES ('old', 'swamp', 'succeeded', '{}', 1)")
    db.commit()
    db.close()
    store = JobStore(str(path))
    store.open()
    try:
        assert store.get("old").remote is None
        job = make("new", JobState.RUNNING, 2)
        job.remote = {"via": "ssh", "host": "h", "id": "abc"}
        store.save(job)
        assert store.get("new").remote == {"via": "ssh", "host": "h", "id": "abc"}
    finally:
        store.close()
