"""The sliding per-second counter behind "in the last minute" (requests per peer, cache hit rate)."""

from __future__ import annotations

import pytest

from swampd.rates import RollingCounter


def test_counts_within_the_window_and_forgets_what_slid_out() -> None:
    counter = RollingCounter(60, now=1000.0)
    counter.add(5, now=1000.0)
    counter.add(2, now=1000.9)  # the same second
    counter.add(1, now=1030.0)
    assert counter.total(now=1030.5) == 8
    assert counter.total(now=1059.9) == 8  # second 1000 is still within the last 60 (1000..1059)
    assert counter.total(now=1060.0) == 1  # second 1000 slid out; 1030 stays
    assert counter.total(now=1089.0) == 1
    assert counter.total(now=1090.0) == 0


def test_a_long_silence_empties_it_and_counting_resumes() -> None:
    counter = RollingCounter(10, now=500.0)
    for second in range(10):
        counter.add(1, now=500.0 + second)
    assert counter.total(now=509.0) == 10
    counter.add(3, now=10_000.0)
    assert counter.total(now=10_000.0) == 3


def test_the_window_must_be_a_second_or_more() -> None:
    late = RollingCounter(10, now=100.0)
    late.add(1, now=120.0)
    late.add(7, now=105.0)  # from before the window: dropped, not added to a live slot
    assert late.total(now=120.0) == 1
    with pytest.raises(ValueError, match="at least one second"):
        RollingCounter(0)
