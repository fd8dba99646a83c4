"""renderer.jsonfast writes exactly the stdlib's text: stored hashes and diffed plans depend on it."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from renderer import jsonfast

scalars = st.one_of(
    st.none(), st.booleans(), st.text(max_size=12),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e-3, max_value=1e-3),  # where orjson and Python part ways
    st.sampled_from([1e-05, 1e16, 1.5e22, -0.0, 5e-324, 0.1, 100.0]),
)
keys = st.one_of(st.text(max_size=6), st.sampled_from(["a", "é", "😀", "\uffff", "Z", "null", "0.00001"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                      max_leaves=20)


def stdlib_canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def stdlib_indented(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


@settings(max_examples=200, deadline=None)
@given(values)
def test_canonical_is_the_stdlib_text(value: Any) -> None:
    assert jsonfast.canonical(value) == stdlib_canonical(value)


@settings(max_examples=200, deadline=None)
@given(values)
def test_indented_is_the_stdlib_text(value: Any) -> None:
    assert jsonfast.indented(value, floats=floats_in(value)) == stdlib_indented(value)


@settings(max_examples=200, deadline=None)
@given(values)
def test_sorted_indented_is_the_stdlib_text(value: Any) -> None:
    try:
        expected = json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)
    except (ValueError, TypeError) as exc:  # NaN, Infinity; keys of mixed types
        with pytest.raises(type(exc)):
            jsonfast.sorted_indented(value)
        return
    assert jsonfast.sorted_indented(value) == expected


def floats_in(value: Any) -> list[float]:
    if isinstance(value, float):
        return [value]
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return [x for v in items for x in floats_in(v)]


@pytest.mark.parametrize("value", [
    {"x": 1e-05}, {"x": 7.7e-9}, {"x": 1e16}, {"x": 2**64}, {1: "int key"}, {"x": [[[]]], "y": {}},
    {"s": "\x00\x1f\x7f\u2028\"\\/ 日本"}, {"x": math.nan}, {"x": -math.inf}, {"h": "a4ceb7d2076a0ec93d3eae7"},
    {"s": "[1e-5, 0.00001]"}, {"x": [1e-4, 0.0001, 9999999999999998.0, 1e15, -0.0]},
])
def test_values_orjson_writes_otherwise(value: Any) -> None:
    assert jsonfast.canonical(value) == stdlib_canonical(value)
    assert jsonfast.indented(value, floats=floats_in(value)) == stdlib_indented(value)


def test_nan_is_written_as_python_writes_it() -> None:
    assert jsonfast.indented({"x": math.nan}, floats=[math.nan]) == '{\n  "x": NaN\n}'


def test_a_lone_surrogate_is_written_as_the_stdlib_writes_it() -> None:
    assert jsonfast.indented({"x": "\ud800"}, floats=[]) == '{\n  "x": "\ud800"\n}'


@pytest.mark.parametrize("value", [{"x": "\ud800"}, {"x": object()}, {(1, 2): 3}])
def test_what_the_stdlib_refuses_is_refused_as_before(value: Any) -> None:
    with pytest.raises(Exception) as want:
        stdlib_canonical(value)
    with pytest.raises(type(want.value)):
        jsonfast.canonical(value)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=1e-4, max_value=9.999e15) | st.floats(min_value=-9.999e15, max_value=-1e-4), max_size=50))
def test_floats_both_write_the_same_take_the_fast_path(xs: list[float]) -> None:
    assert all(jsonfast.same_float(x) for x in xs)
    assert jsonfast.indented(xs, floats=xs) == stdlib_indented(xs)


@settings(max_examples=200, deadline=None)
@given(values)
def test_a_value_known_exact_skips_the_search_and_writes_the_same(value: Any) -> None:
    """``exact(value)``: no float the encoders write differently, so ``exact=True`` may skip looking."""
    if jsonfast.exact(value):
        assert jsonfast.canonical(value, exact=True) == stdlib_canonical(value)
    else:
        assert any(not jsonfast.same_float(x) for x in floats_in(value))


def test_a_pending_request_is_sized_by_its_written_markers() -> None:
    from renderer.vocabulary import Pending

    pending = Pending("a[x=1]", "result_url")
    body = {"image_urls": [pending], "n": 2**70}  # a 70-bit integer: the stdlib writes it
    written = jsonfast.written(body)
    assert written == json.dumps({"image_urls": [str(pending)], "n": 2**70}, separators=(",", ":"),
                                 ensure_ascii=False).encode()
    assert jsonfast.written({"image_urls": [pending]}) == b'{"image_urls":["\\u0000pending:a[x=1].result_url\\u0000"]}'
