"""What swamp-compatible remote datastores cost and buy, on a moto S3 server and PostgreSQL 15.

    .venv/bin/python benchmarks/bench_remote.py [--quick]

- PostgreSQL, the NOTIFY trigger swampd adds to `{schema}.files`: a push shaped like the
  extension's (one transaction, one `INSERT … ON CONFLICT` per file, the `sync_state` stamp) with
  and without the trigger, a LISTEN connection draining notifications as a daemon's does.
- PostgreSQL, how late another daemon learns of a write: the NOTIFY listener vs polling
  `sync_state.commit_seq` once a second (the alternative), measured the same way.
- S3, `data.put` on a bucket without an index, with a v1 index and with a v2 index of 2000 entries
  (the publish adds swamp's global lock and the index merge), and PostgreSQL `data.put`.
- S3, how late the index watcher reports another daemon's publish (polling every 0.2 s), and what
  one idle poll costs (conditional GETs answered 304).

Writes benchmarks/results/remote.json and remote.md.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "storage"))

import anyio
import psycopg
import yaml
from servers import MotoServer, PostgresCluster

from benchmarks._common import machine_info, percentiles, write_results
from swampd.storage import s3_index
from swampd.storage.data import DataService
from swampd.storage.hottier import CacheSettings, HotTier
from swampd.storage.postgres import PostgresConfig, PostgresStore, ensure_schema
from swampd.storage.repos import RepoRegistry
from swampd.storage.s3 import S3Config, S3Store
from swampd.storage.s3_watch import IndexWatcher

MODEL = "b0b0b0b0-1111-4222-8333-444455556666"
os.environ.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1")


def ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"p50_ms": round(statistics.median(ordered) * 1e3, 2),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * (len(ordered) - 1)))] * 1e3, 2),
            "mean_ms": round(statistics.fmean(ordered) * 1e3, 2), "n": len(ordered)}


# -- PostgreSQL ---------------------------------------------------------------------------------

def push(conn: Any, schema: str, files: list[tuple[str, bytes]]) -> float:
    """The extension's push transaction (`commitPush`): one upsert per file, then the stamp."""
    start = time.perf_counter()
    with conn.transaction():
        for path, data in files:
            conn.execute(
                f"INSERT INTO {schema}.files (path, hash, size, content, updated_at, deleted_at) "
                f"VALUES (%s, %s, %s, %s, now(), NULL) ON CONFLICT (path) DO UPDATE SET hash = EXCLUDED.hash, "
                f"size = EXCLUDED.size, content = EXCLUDED.content, updated_at = now(), deleted_at = NULL",
                (path, hashlib.sha256(data).hexdigest(), len(data), data))
        seq = conn.execute(f"SELECT nextval('{schema}.commit_seq')").fetchone()[0]
        conn.execute(f"INSERT INTO {schema}.sync_state (key, value) VALUES ('commit_seq', to_jsonb(%s::bigint)) "
                     f"ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()", (seq,))
    return time.perf_counter() - start


def drain(dsn: str, stop: threading.Event, seen: list[int]) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("LISTEN swampd_changes")
        while not stop.is_set():
            seen[0] += sum(1 for _ in conn.notifies(timeout=0.2))


def bench_trigger(pg: PostgresCluster, files: int, rounds: int) -> dict[str, Any]:
    schema = "bench_trigger"
    seen = [0]
    stop = threading.Event()
    with psycopg.connect(pg.tcp_dsn, autocommit=True) as conn:
        ensure_schema(conn, schema)
        listener = threading.Thread(target=drain, args=(pg.tcp_dsn, stop, seen), daemon=True)
        listener.start()
        time.sleep(0.5)
        out: dict[str, Any] = {}
        for label in ("with_trigger", "without_trigger"):
            samples = []
            for r in range(rounds):
                batch = [(f"data/bench/{MODEL}/n{r}-{i}/1/raw", os.urandom(1024)) for i in range(files)]
                samples.append(push(conn, schema, batch))
            out[label] = ms(samples)
            if label == "with_trigger":
                conn.execute(f"DROP TRIGGER swampd_notify ON {schema}.files")
        stop.set()
        listener.join()
    out["files_per_push"] = files
    out["notifications_delivered"] = seen[0]
    return out


def bench_pg_latency(pg: PostgresCluster, samples: int) -> dict[str, Any]:
    """Time from a writer's COMMIT until another daemon knows: NOTIFY vs a 1 s commit_seq poll."""
    schema = "bench_latency"
    store = PostgresStore(PostgresConfig.from_mapping({"connectionString": pg.url, "schema": schema, "ssl": "disable"}))
    heard: dict[str, float] = {}
    store.set_listener(lambda path: heard.setdefault(path, time.perf_counter()))
    store.ping()
    deadline = time.monotonic() + 20
    while not store.has_change_signal and time.monotonic() < deadline:
        time.sleep(0.05)
    notify = []
    with psycopg.connect(pg.tcp_dsn, autocommit=True) as conn:
        for i in range(samples):
            path = f"data/bench/{MODEL}/n/{i}/raw"
            committed = time.perf_counter() + push(conn, schema, [(path, b"x")])
            while path not in heard:
                time.sleep(0.0005)
            notify.append(heard[path] - committed)
        poll_cost = []
        for _ in range(200):
            start = time.perf_counter()
            conn.execute(f"SELECT value FROM {schema}.sync_state WHERE key = 'commit_seq'").fetchone()
            poll_cost.append(time.perf_counter() - start)
        polled = poll_latency(conn, schema, max(5, samples // 5))
    store.close()
    return {"notify": ms(notify), "commit_seq_poll_every_1s": ms(polled), "one_commit_seq_poll": percentiles(poll_cost)}


def poll_latency(conn: Any, schema: str, samples: int) -> list[float]:
    """A poller thread reads commit_seq once a second; a writer commits at random moments."""
    out: list[float] = []
    seq_sql = f"SELECT (value #>> '{{}}')::bigint FROM {schema}.sync_state WHERE key = 'commit_seq'"
    seen: dict[int, float] = {}
    stop = threading.Event()

    def poll() -> None:
        with psycopg.connect(conn.info.dsn, autocommit=True) as poller:
            while not stop.is_set():
                seen.setdefault(poller.execute(seq_sql).fetchone()[0], time.perf_counter())
                stop.wait(1.0)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        for i in range(samples):
            time.sleep(random.uniform(0, 1.0))
            committed = time.perf_counter() + push(conn, schema, [(f"data/bench/{MODEL}/p/{i}/raw", b"x")])
            seq = conn.execute(seq_sql).fetchone()[0]
            while seq not in seen:
                time.sleep(0.005)
            out.append(seen[seq] - committed)
    finally:
        stop.set()
        thread.join()
    return out


# -- data.put on S3 and PostgreSQL ------------------------------------------------------------------

def service(root: Path) -> DataService:
    settings = CacheSettings()
    return DataService(RepoRegistry(str(root / "data")), HotTier(str(root / "cache"), settings), settings,
                       lambda topic, data: None)


def repo_with(root: Path, block: dict[str, Any]) -> str:
    repo = root / f"repo-{uuid.uuid4().hex[:6]}"
    repo.mkdir()
    (repo / ".swamp.yaml").write_text(yaml.safe_dump({"repoId": str(uuid.uuid4()), "datastore": block}))
    return str(repo)


def seed_index(client: Any, bucket: str, version: int, entries: int) -> None:
    """An index the size of a busy repo: `entries` data files over 100 models."""
    rels = {}
    for i in range(entries):
        rel = f"data/bench/m{i % 100:08d}-0000-4000-8000-000000000000/n{i // 100}/1/raw"
        rels[rel] = s3_index.entry(rel, 1024, "0" * 64)
    groups: dict[str, dict[str, Any]] = {}
    for rel, e in rels.items():
        groups.setdefault(s3_index.partition_key(rel) or "", {})[rel] = e
    for part, group in groups.items():
        client.put_object(Bucket=bucket, Key=f"team/{s3_index.shard_path(part)}",
                          Body=s3_index.dumps({"version": 1, "entries": group}))
    if version == 1:
        client.put_object(Bucket=bucket, Key="team/.datastore-index.json",
                          Body=s3_index.dumps({"version": 1, "lastPulled": "", "entries": rels}))
        meta: dict[str, Any] = {"version": 1, "partitions": list(groups)}
    else:
        meta = {"version": 2, "partitions": sorted(groups), "commitSeq": 1}
    client.put_object(Bucket=bucket, Key="team/_index/_meta.json", Body=s3_index.dumps(meta))


def time_puts(svc: DataService, repo: str, n: int) -> dict[str, float]:
    async def run() -> list[float]:
        out = []
        for i in range(n):
            start = time.perf_counter()
            await svc.put(repo, "bench", MODEL, f"name{i % 5}", b"x" * 1024)
            out.append(time.perf_counter() - start)
        return out

    return ms(anyio.run(run))


def bench_puts(moto: MotoServer, pg: PostgresCluster, root: Path, n: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    client = moto.client()
    for label, version in (("s3_no_index", 0), ("s3_v1_index_2000_entries", 1), ("s3_v2_index_2000_entries", 2)):
        bucket = f"put-{version}-{uuid.uuid4().hex[:6]}"
        client.create_bucket(Bucket=bucket)
        if version:
            seed_index(client, bucket, version, 2000)
        block = {"type": "@swamp/s3-datastore", "config": {"bucket": bucket, "prefix": "team",
                                                           "endpoint": moto.endpoint, "forcePathStyle": True}}
        svc = service(root / label)
        try:
            out[label] = time_puts(svc, repo_with(root, block), n)
        finally:
            svc.close()
    block = {"type": "@webframp/postgres-datastore",
             "config": {"connectionString": pg.url, "schema": "bench_put", "ssl": "disable"}}
    svc = service(root / "pg")
    try:
        out["postgres"] = time_puts(svc, repo_with(root, block), n)
    finally:
        svc.close()
    return out


def bench_s3_watch(moto: MotoServer, root: Path, samples: int) -> dict[str, Any]:
    client = moto.client()
    bucket = f"watch-{uuid.uuid4().hex[:6]}"
    client.create_bucket(Bucket=bucket)
    seed_index(client, bucket, 2, 2000)
    config = S3Config.from_mapping({"bucket": bucket, "prefix": "team", "endpoint": moto.endpoint,
                                    "forcePathStyle": True})
    reader = S3Store(config)
    heard: dict[str, float] = {}
    watcher = IndexWatcher(reader, lambda path: heard.setdefault(path, time.perf_counter()), 0.2, time.monotonic)
    watcher.poll()  # first look
    idle = []
    for _ in range(50):
        start = time.perf_counter()
        watcher.poll()
        idle.append(time.perf_counter() - start)
    watcher.start()
    block = {"type": "@swamp/s3-datastore", "config": {"bucket": bucket, "prefix": "team",
                                                       "endpoint": moto.endpoint, "forcePathStyle": True}}
    svc = service(root / "watch")
    repo = repo_with(root, block)
    latency = []

    async def writes() -> None:
        for i in range(samples):
            await anyio.sleep(random.uniform(0, 0.2))
            put = await svc.put(repo, "bench", MODEL, f"w{i}", b"x")
            done = time.perf_counter()
            path = f"data/bench/{MODEL}/w{i}/{put['version']}/raw"
            while path not in heard:
                await anyio.sleep(0.001)
            latency.append(heard[path] - done)

    try:
        anyio.run(writes)
    finally:
        watcher.stop()
        svc.close()
        reader.close()
    return {"poll_interval_s": 0.2, "publish_to_signal": ms(latency), "idle_poll_v2_2000_entries": ms(idle)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer iterations")
    opts = parser.parse_args()
    n = 20 if opts.quick else 100
    moto, pg = MotoServer(), PostgresCluster(tcp=True)
    root = Path(tempfile.mkdtemp(prefix="sbr-", dir="/tmp"))
    results: dict[str, Any] = {}
    try:
        moto.start()
        pg.start()
        results["pg_push_trigger"] = bench_trigger(pg, files=500, rounds=5 if opts.quick else 11)
        results["pg_change_latency"] = bench_pg_latency(pg, samples=n)
        results["data_put"] = bench_puts(moto, pg, root, n)
        results["s3_index_watch"] = bench_s3_watch(moto, root, samples=max(10, n // 4))
    finally:
        moto.stop()
        pg.destroy()
        shutil.rmtree(root, ignore_errors=True)
    trig = results["pg_push_trigger"]
    puts = results["data_put"]
    ratios = {
        "pg_push_with_trigger_vs_without": round(trig["with_trigger"]["p50_ms"] / trig["without_trigger"]["p50_ms"], 3),
        "pg_notify_vs_1s_poll_latency": round(results["pg_change_latency"]["notify"]["p50_ms"]
                                              / results["pg_change_latency"]["commit_seq_poll_every_1s"]["p50_ms"], 4),
        "s3_put_v1_index_vs_no_index": round(puts["s3_v1_index_2000_entries"]["p50_ms"]
                                             / puts["s3_no_index"]["p50_ms"], 2),
        "s3_put_v2_index_vs_no_index": round(puts["s3_v2_index_2000_entries"]["p50_ms"]
                                             / puts["s3_no_index"]["p50_ms"], 2),
    }
    out = {"machine": {**machine_info(), "quick": opts.quick}, "results": results, "ratios": ratios}
    write_results("remote", out, markdown(out))
    print(markdown(out))
    return 0


def markdown(out: dict[str, Any]) -> str:
    r = out["results"]
    lines = [
        "# Remote datastores (benchmarks/bench_remote.py)", "",
        f"Machine: {out['machine']['cpu']} ({out['machine']['cpus']} CPUs), Python {out['machine']['python']}, "
        f"{out['machine']['date']}{' (quick)' if out['machine']['quick'] else ''}. moto server and PostgreSQL 15 on "
        "loopback: absolute times are for this machine; the ratios are what the docs cite.", "",
        "| measurement | p50 ms | p95 ms | n |", "|---|---|---|---|",
    ]

    def row(label: str, m: dict[str, Any]) -> None:
        lines.append(f"| {label} | {m['p50_ms']} | {m['p95_ms']} | {m['n']} |")

    trig = r["pg_push_trigger"]
    row(f"PostgreSQL push of {trig['files_per_push']} files, with swampd's NOTIFY trigger", trig["with_trigger"])
    row(f"PostgreSQL push of {trig['files_per_push']} files, without it", trig["without_trigger"])
    row("PostgreSQL write → other daemon knows, NOTIFY", r["pg_change_latency"]["notify"])
    row("PostgreSQL write → other daemon knows, commit_seq polled every 1 s", r["pg_change_latency"]["commit_seq_poll_every_1s"])
    for label, m in r["data_put"].items():
        row(f"data.put 1 KiB, {label.replace('_', ' ')}", m)
    row("S3 publish → index watcher reports it (0.2 s polls)", r["s3_index_watch"]["publish_to_signal"])
    row("S3 one idle index poll (v2, 2000 entries)", r["s3_index_watch"]["idle_poll_v2_2000_entries"])
    lines += ["", "| ratio | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in out["ratios"].items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
