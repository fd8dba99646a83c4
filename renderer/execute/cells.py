"""How a value goes into a journal store's cell and comes back unchanged, whichever store it is.

Both stores (SQLite, PostgreSQL) hold what an API or a campaign hands over, and some
of that is odd: a data file's lone surrogate (``"\\udc80"``), an error text with a NUL,
a charge of ``1e400``. SQLite refuses to encode a lone surrogate, PostgreSQL refuses
NUL in text, and neither keeps an integer past 64 bits. So:

- ``text``: a string either store can hold is kept as it is (readable in the database);
  any other is kept as ``MARK`` + its JSON (ASCII escapes), and ``untext`` undoes it.
  The rule is deterministic, so an encoded key still finds its row (``WHERE instance_id = ?``).
- ``num``: a figure as a double; an integer past 2**53 becomes the nearest double (or
  an infinity), NaN (no figure at all) is ``None``, and an integral double reads back
  as an ``int`` (SQLite and PostgreSQL both hand back 50.0 for 50 credits).

Written by hand: it is the one rule both stores must share, and it is ten lines.
"""

from __future__ import annotations

import json
import math
from typing import Any

MARK = "\x01"  # starts an encoded string; a plain string that starts with it is encoded too
EXACT = 2**53  # integers up to this are exact in a double


def text(value: str | None) -> str | None:
    """A string as a cell holds it."""
    if value is None or _plain(value):
        return value
    return MARK + json.dumps(value, ensure_ascii=True)


def _plain(value: str) -> bool:
    """UTF-8 encodable without surrogates, free of NUL, and not mistaken for an encoded one."""
    if value.startswith(MARK) or "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def untext(value: Any) -> Any:
    """A cell's string as it was given (other values pass through)."""
    if isinstance(value, str) and value.startswith(MARK):
        return json.loads(value[len(MARK):])
    return value


def num(value: float | int | None) -> float | int | None:
    """A figure as a double holds it, read back as it will be."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) <= EXACT:
            return value
        try:
            value = float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if math.isnan(value):
        return None
    return int(value) if value.is_integer() and abs(value) <= EXACT else value


def params(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """A statement's parameters: every string through ``text`` (figures are passed through ``num`` by the caller)."""
    return tuple(text(v) if isinstance(v, str) else v for v in values)
