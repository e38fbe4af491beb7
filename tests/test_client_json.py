"""The client's JSON (C accelerators without `json`) agrees with the standard library."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from swampd.client import dumps, loads

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=30,
)


@given(values)
def test_round_trip_matches_json(value):
    text = dumps(value)
    assert json.loads(text) == value
    assert loads(text) == value
    assert "\n" not in text  # one frame per line


@given(st.text(max_size=40))
def test_loads_raises_value_error_where_json_does(text):
    try:
        expected = json.loads(text)
    except ValueError:
        with pytest.raises(ValueError):
            loads(text)
    else:
        assert loads(text) == expected or expected != expected
