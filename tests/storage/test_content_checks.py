"""A version's content is served only with the `metadata.yaml` it matches (sha256 `checksum`, or
`size` where swamp left none). swamp deletes versions and writes a freed number again; a reader
holding the old write's metadata must not pair it with the new write's content."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
import pytest

from swampd.fanout import Coalescer
from swampd.storage.control import Prefetch
from swampd.storage.data import content_matches
from swampd.storage.layout import DataRef, dump_metadata

from .conftest import Events, RepoFactory, make_service

pytestmark = pytest.mark.anyio
MODEL = "99cc0e11-2222-4333-8444-555566667777"


def test_content_matches_checksum_then_size() -> None:
    digest = hashlib.sha256(b"abc").hexdigest()
    assert content_matches({"checksum": digest, "size": 3}, b"abc")
    assert not content_matches({"checksum": digest, "size": 3}, b"abd")
    assert content_matches({"checksum": digest.upper()}, b"abc")
    assert content_matches({"size": 3}, b"abd")  # a streaming append drops the checksum, keeps the size
    assert not content_matches({"size": 4}, b"abc")
    assert content_matches({}, b"anything")


async def _rewrite_version_two(writer: object, repo: str) -> bytes:
    """What swamp's delete of v2 and its next write of v2 leave in the store: other metadata, other content."""
    store = writer.repos.get(repo).store  # type: ignore[attr-defined]
    ref = DataRef.of("t", MODEL, "x")
    old = (await writer.get(repo, "t", MODEL, "x", version=2))["metadata"]  # type: ignore[attr-defined]
    content = b"swamp's new two"
    new = {**old, "id": "0f0f0f0f-aaaa-4bbb-8ccc-dddddddddddd", "createdAt": "2026-11-30T12:00:00.000Z",
           "size": len(content), "checksum": hashlib.sha256(content).hexdigest()}
    store.put(ref.metadata(2), dump_metadata(new))
    store.put(ref.raw(2), content)
    return content


@pytest.mark.parametrize("backend", ["filesystem", pytest.param("s3", marks=pytest.mark.s3),
                                     pytest.param("postgres", marks=pytest.mark.postgres)])
@pytest.mark.parametrize("fanout", [False, True], ids=["key-locks", "fanout"])
async def test_content_is_never_served_with_another_writes_metadata(backend: str, fanout: bool,
                                                                   repos_factory: RepoFactory, workdir: Path,
                                                                   events: Events) -> None:
    """With the daemon's fan-out coordinator too (what a failed shared read raises reaches the reader)."""
    repo = str(repos_factory.make(backend))
    writer = make_service(workdir, events, sub="w")
    coalescer = Coalescer(events) if fanout else None
    if coalescer is not None:
        await coalescer.start()
    reader = make_service(workdir, events, sub="r", staleness=3600, signal_staleness=3600, coalescer=coalescer)
    try:
        for text in (b"one", b"two"):
            await writer.put(repo, "t", MODEL, "x", text, content_type="text/plain")
        # the reader lists the model: it now holds latest and v2's metadata, not v2's content
        assert (await reader.list(repo, "t", MODEL))["data"] == [{"name": "x", "latest": 2}]
        content = await _rewrite_version_two(writer, repo)
        got = await reader.get(repo, "t", MODEL, "x")
        assert got["content"] == content.decode()
        assert got["metadata"]["checksum"] == hashlib.sha256(content).hexdigest()
        # a prefetch keeps a content only beside the metadata it matches (here the hot tier holds
        # an earlier write's metadata of v2, as a reader that listed the model before swamp's rewrite)
        prefetcher = make_service(workdir, events, sub="p", staleness=3600, signal_staleness=3600)
        try:
            handle = prefetcher.repos.get(repo)
            ref = DataRef.of("t", MODEL, "x")
            earlier = {**got["metadata"], "checksum": hashlib.sha256(b"two").hexdigest(), "size": 3}
            prefetcher.hot.set(prefetcher.key(handle, ref.metadata(2)), orjson.dumps(earlier), {"backend": backend})
            Prefetch("p1", prefetcher, handle, ref.name_dir, None)._run()
            assert prefetcher.hot.get(prefetcher.key(handle, ref.raw(2))) is None
            assert prefetcher.hot.get(prefetcher.key(handle, ref.raw(1))).value == b"one"  # with its metadata
        finally:
            prefetcher.close()
    finally:
        reader.close()
        writer.close()
        if coalescer is not None:
            await coalescer.aclose()
