"""The one place orjson is used: JSON text fast, byte for byte what the stdlib wrote.

Hashes of requests (``input_sha256``) are stored in manifests and journals, and
``plan --json`` output is diffed between commits, so the text must not change
with the encoder. orjson writes what ``json.dumps`` writes except for:

- floats below 1e-4 (orjson ``0.00001`` and ``1e-7``, Python ``1e-05`` and
  ``1e-07``), and past 1e16 in some versions of orjson;
- NaN and Infinity (orjson ``null``, Python ``NaN``/``Infinity``);
- what it refuses: integers past 64 bits, keys that are not strings, lone
  surrogates, nesting past 254 levels, types JSON has no word for.

In those cases the stdlib's encoder writes the text, as it always did (and
raises what it always raised). A test checks both agree on generated values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import orjson

_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
_INDENTED = json.JSONEncoder(indent=2, ensure_ascii=False)
_SORTED = json.JSONEncoder(sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)


def canonical(value: Any, *, exact: bool = False) -> bytes:
    """``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` in UTF-8.

    ``exact``: the caller knows ``value`` holds no float the encoders write differently
    (``exact(value)`` is true): it is not looked for."""
    if exact or not _odd_float(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass
    return _CANONICAL.encode(value).encode("utf-8")


def written(value: Any) -> bytes:
    """``value`` as compact JSON, anything JSON has no word for (a pending output) written as
    its text: what a request not known yet weighs."""
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_PASSTHROUGH_DATACLASS)
    except orjson.JSONEncodeError:
        return json.dumps(value, default=str, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass")


_SCALARS = (str, int, bool, type(None))


def _odd_float(value: Any) -> bool:
    """``value`` holds a float the two encoders write differently (a request body
    is a few fields: walking it costs less than searching the text for numbers)."""
    if isinstance(value, float):
        return not same_float(value)
    if isinstance(value, dict):
        items: Iterable[Any] = value.values()
    elif isinstance(value, (list, tuple)):
        items = value
    else:
        return False
    for x in items:
        if type(x) not in _SCALARS and _odd_float(x):
            return True
    return False


def exact(value: Any) -> bool:
    """``value`` holds no float that orjson and the stdlib write differently."""
    return not _odd_float(value)


def same_float(x: float) -> bool:
    """Both encoders write ``x`` the same way."""
    return x == 0 or 1e-4 <= abs(x) < 1e16  # False for NaN; Infinity is past 1e16


def indented(value: Any, *, floats: Iterable[float]) -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False)``, keys in insertion order.

    ``floats``: every float ``value`` holds (a plan of 100,000 jobs knows where
    its numbers are; finding them in the text would cost more than writing it).
    """
    if all(same_float(x) for x in floats):
        try:
            return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode("utf-8")
        except orjson.JSONEncodeError:
            pass
    return _INDENTED.encode(value)


def sorted_indented(value: Any) -> str:
    """``json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)``: the
    manifest's text (a run writes it every second; the stdlib's indenting encoder is pure Python).
    NaN and Infinity raise ``ValueError``, as the stdlib does."""
    if not _odd_float(value):
        try:
            return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode("utf-8")
        except orjson.JSONEncodeError:
            pass
    return _SORTED.encode(value)
