"""Property tests of swamp's metadata format and path rules."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from swampd.storage.layout import (
    DataRef,
    build_metadata,
    dump_metadata,
    format_latest,
    load_metadata,
    normalize_type,
    parse_latest,
)

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)


@settings(max_examples=200, deadline=None)
@given(tags=st.dictionaries(texts.filter(bool), texts, max_size=6), content=st.binary(max_size=256),
       content_type=st.sampled_from(["text/plain", "application/json", "application/octet-stream"]))
def test_metadata_round_trips(tags: dict[str, str], content: bytes, content_type: str) -> None:
    """Whatever the tag text (yes/no/null/":"/unicode...), what we write reads back identical."""
    tags.pop("type", None)
    meta = build_metadata(DataRef.of("t", "m", "n"), 3, content, content_type=content_type, tags=tags)
    assert load_metadata(dump_metadata(meta)) == meta


@given(st.integers(min_value=1, max_value=10**12))
def test_latest_round_trips(version: int) -> None:
    assert parse_latest(format_latest(version)) == version
    assert parse_latest(format_latest(version) + b"\n") == version
    assert parse_latest(f"{version}/".encode()) == version


@given(st.lists(st.text(alphabet=string.ascii_letters + string.digits + "-_@", min_size=1, max_size=8),
                min_size=1, max_size=4),
       st.sampled_from(["::", ".", " ", "/", "//"]))
def test_type_normalisation_is_idempotent(segments: list[str], sep: str) -> None:
    normalized = normalize_type(sep.join(segments))
    assert normalize_type(normalized) == normalized
    assert normalized == "/".join(s.lower() for s in segments)


def test_transient_errors_are_retried_a_bounded_number_of_times() -> None:
    import pytest

    from swampd.storage.base import StoreDown, TransientError, retry

    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise TransientError("connection reset")
        return "ok"

    assert retry(flaky, base_delay=0.001) == "ok" and len(calls) == 3
    calls.clear()

    def down() -> str:
        calls.append(1)
        raise TransientError("unreachable")

    with pytest.raises(StoreDown):
        retry(down, attempts=4, base_delay=0.001)
    assert len(calls) == 4
