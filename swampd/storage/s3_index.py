"""The index of `@swamp/s3-datastore`, which swamp syncs through (reference §4.2).

swamp never lists a bucket once it has an index: it pulls what the index names. An object that is
not in the index is invisible to every swamp client, so swampd publishes its writes the way the
extension's `commitPush` does, under swamp's global lock:

- `_index/_meta.json` version 2 (after `swamp datastore migrate-index`): the shards under
  `_index/{partitionKey}.json` are authoritative; the dirty shards are read, merged and written,
  then `_meta.json` with `commitSeq + 1` (the change signal every client compares).
- otherwise the monolith `.datastore-index.json` (`version: 1`) is authoritative: it is read,
  merged and written, then the dirty shards and a version-1 `_meta.json` (the dual write).
- no index at all: nothing to publish; swamp builds its index from a bucket listing on its next pull.

Keys are relative to the store (`{prefix}/[{ns}/]`); entries are `{key, size, lastModified, sha256}`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from swampd.storage.base import NOT_MODIFIED, Blob, Stat
from swampd.storage.layout import iso_now

MONOLITH = ".datastore-index.json"
META = "_index/_meta.json"
_SINGLE_SHARD = ("workflows-evaluated", "auto-definitions", "audit", "telemetry", "logs", "files")

Entry = dict[str, Any]


def shard_path(partition: str) -> str:
    return f"_index/{partition}.json"


def partition_key(rel: str) -> str | None:
    """The extension's `partitionKeyFromPath`, exactly (a data name's `latest` is one segment
    shorter than its version files and so lands in a coarser shard)."""
    segments = rel.split("/")
    if len(segments) < 2:
        return "_root" if len(segments) == 1 and segments[0] else None
    subdir = segments[0]
    if subdir in ("data", "outputs", "definitions-evaluated"):
        if len(segments) < 4:
            return None
        end = len(segments) - 3 if len(segments) >= 6 else len(segments) - 1
        return "--".join(segments[:end])
    if subdir == "workflow-runs":
        return f"{subdir}--{segments[1]}" if len(segments) >= 3 else None
    if subdir in _SINGLE_SHARD:
        return subdir
    return None


def is_internal(rel: str) -> bool:
    """The extension's `isInternalCacheFile`: never an index entry."""
    if rel in (MONOLITH, ".push-queue.json", ".datastore.lock", ".datastore-sync-state.json"):
        return True
    if rel in ("_index", "_control") or rel.startswith(("_index/", "_control/")):
        return True
    base = rel.rsplit("/", 1)[-1]
    return base in (".lock", ".namespace.json") or base == "_catalog.db" or base.startswith("_catalog.db-")


def entry(rel: str, size: int, sha256: str | None = None, last_modified: str | None = None) -> Entry:
    """An index entry in the extension's key order (`localMtime` is per-machine: never set here)."""
    out: Entry = {"key": rel, "size": size, "lastModified": last_modified or iso_now()}
    if sha256 is not None:
        out["sha256"] = sha256
    return out


def dumps(value: Any) -> bytes:
    """`JSON.stringify` (compact, insertion order)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def _load(blob: object) -> dict[str, Any] | None:
    if not isinstance(blob, Blob):
        return None
    try:
        value = json.loads(blob.data)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _entries(doc: dict[str, Any] | None) -> dict[str, Entry]:
    entries = (doc or {}).get("entries")
    return entries if isinstance(entries, dict) else {}


@dataclass(frozen=True)
class Meta:
    version: int
    partitions: list[str]
    commit_seq: int | None

    @classmethod
    def parse(cls, doc: dict[str, Any] | None) -> Meta | None:
        if doc is None or doc.get("version") not in (1, 2) or not isinstance(doc.get("partitions"), list):
            return None
        seq = doc.get("commitSeq")
        return cls(int(doc["version"]), [str(p) for p in doc["partitions"]],
                   int(seq) if isinstance(seq, (int, float)) else None)


def exists(store: Any) -> bool:
    """Whether the bucket has an index: `_index/_meta.json` (every push writes it, v1 or v2), or
    the monolith alone (written by older clients and by swamp's bucket-listing discovery)."""
    return store.head(META) is not None or store.head(MONOLITH) is not None


def read_meta(store: Any) -> Meta | None:
    return Meta.parse(_load(store.get(META)))


def publish(store: Any, new: Mapping[str, Entry], orphans: Iterable[str] = ()) -> str:
    """Merge `new` entries into the index (caller holds swamp's global lock).

    `orphans` are version dirs found in the bucket (`…/{name}/{N}`) that may be missing from the
    index (a write of this daemon killed before it published): each one not in the index is added
    when both its `metadata.yaml` and `raw` exist. Returns the format written: `v2`, `v1` or `none`.
    """
    meta = read_meta(store)
    if meta is not None and meta.version == 2:
        _publish_v2(store, meta, new, orphans)
        return "v2"
    monolith = _load(store.get(MONOLITH))
    if monolith is None:
        return "none"
    _publish_v1(store, monolith, new, orphans)
    return "v1"


def _recovered(store: Any, known: Mapping[str, Entry], orphans: Iterable[str]) -> dict[str, Entry]:
    found: dict[str, Entry] = {}
    for version_dir in orphans:
        files = [f"{version_dir}/metadata.yaml", f"{version_dir}/raw"]
        if all(f in known for f in files):
            continue
        stats = [store.head(f) for f in files]
        if all(isinstance(s, Stat) for s in stats):
            for rel, stat in zip(files, stats, strict=True):
                found.setdefault(rel, entry(rel, stat.size))
    return found


def _publish_v2(store: Any, meta: Meta, new: Mapping[str, Entry], orphans: Iterable[str]) -> None:
    shards: dict[str, dict[str, Entry]] = {}

    def shard(partition: str) -> dict[str, Entry]:
        if partition not in shards:
            shards[partition] = _entries(_load(store.get(shard_path(partition))))
        return shards[partition]

    orphans = list(orphans)
    for rel in [*new, *(f"{d}/raw" for d in orphans)]:
        if (partition := partition_key(rel)) is not None:
            shard(partition)
    known = {rel: e for entries in shards.values() for rel, e in entries.items()}
    wanted = {**_recovered(store, known, orphans), **new}
    partitions = set(meta.partitions)
    for partition, entries in _group(wanted).items():
        merged = shard(partition)
        merged.update(entries)
        store.put(shard_path(partition), dumps({"version": 1, "entries": merged}))
        partitions.add(partition)
    seq = (meta.commit_seq or 0) + 1
    store.put(META, dumps({"version": 2, "partitions": sorted(partitions), "commitSeq": seq}))


def _publish_v1(store: Any, monolith: dict[str, Any], new: Mapping[str, Entry], orphans: Iterable[str]) -> None:
    entries = _entries(monolith)
    dirty = set(_group(new))
    recovered = _recovered(store, entries, orphans)
    dirty.update(p for p in (partition_key(rel) for rel in recovered) if p)
    entries.update(recovered)
    entries.update(new)
    document = {"version": 1, "lastPulled": iso_now(), "entries": entries}
    store.put(MONOLITH, dumps(document))
    groups = _group(entries)
    for partition in dirty:
        store.put(shard_path(partition), dumps({"version": 1, "entries": groups.get(partition, {})}))
    current = read_meta(store)
    if current is None or current.version != 2:
        store.put(META, dumps({"version": 1, "partitions": list(groups)}))


def _group(entries: Mapping[str, Entry]) -> dict[str, dict[str, Entry]]:
    """`groupEntriesByPartition`: first-seen order; entries no partition takes are left out."""
    groups: dict[str, dict[str, Entry]] = {}
    for rel, value in entries.items():
        partition = partition_key(rel)
        if partition is not None:
            groups.setdefault(partition, {})[rel] = value
    return groups


UNCHANGED = object()
"""`snapshot`'s answer when the index is what it was at the previous call."""


def snapshot(store: Any, etags: dict[str, str], cached: dict[str, dict[str, Any]]) -> dict[str, Entry] | object | None:
    """Every entry of the index, read with conditional GETs: a v2 index whose `_meta.json` is
    unchanged costs one 304, a v1 index two (`_meta.json` could announce a migration to v2).

    `etags`/`cached` carry the validators and documents of the previous call (updated in place).
    Returns `UNCHANGED`, the entries, or None when the bucket has no index.
    """
    before = dict(etags)
    meta = Meta.parse(_conditional(store, META, etags, cached))
    if meta is not None and meta.version == 2:
        if META in before and etags.get(META) == before[META] and before.get(MONOLITH) is None:
            return UNCHANGED
        etags.pop(MONOLITH, None)
        cached.pop(MONOLITH, None)
        out: dict[str, Entry] = {}
        for partition in meta.partitions:
            out.update(_entries(_conditional(store, shard_path(partition), etags, cached)))
        wanted = {META, *(shard_path(p) for p in meta.partitions)}
        for stale in [k for k in cached if k not in wanted]:
            cached.pop(stale, None)
            etags.pop(stale, None)
        return {rel: e for rel, e in out.items() if not is_internal(rel)}
    monolith = _conditional(store, MONOLITH, etags, cached)
    if monolith is None:
        return None
    if MONOLITH in before and etags.get(MONOLITH) == before[MONOLITH]:
        return UNCHANGED
    return {rel: e for rel, e in _entries(monolith).items() if not is_internal(rel)}


def _conditional(store: Any, path: str, etags: dict[str, str], cached: dict[str, dict[str, Any]]
                 ) -> dict[str, Any] | None:
    got = store.get(path, if_none_match=etags.get(path))
    if got is NOT_MODIFIED:
        return cached.get(path)
    doc = _load(got)
    if doc is None:
        etags.pop(path, None)
        cached.pop(path, None)
        return None
    assert isinstance(got, Blob)
    etags[path] = got.etag
    cached[path] = doc
    return doc
