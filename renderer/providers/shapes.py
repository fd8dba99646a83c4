"""Shape checks of values taken from an API's answers, before anything uses or stores them.

The docs give every field a shape: ids are short non-empty strings, URLs are http(s)
strings, ``result_urls`` a list of URLs, statuses strings, credits numbers. An answer
is data from the network: a value of another shape raises ``ShapeError`` (the job
fails with that reason) or, for an optional field, is dropped (``optional_url``).
"""

from __future__ import annotations

import math
from typing import Any
from renderer.text import CONTROL, utf8_safe

MAX_ID = 256
MAX_URL = 8192
MAX_URLS = 1000
MAX_STATUS = 64
MAX_TEXT = 2000
MAX_CREDITS = 2**53  # whole credits a float counts exactly; sums of a million such stay finite


class ShapeError(ValueError):
    """An answer's value is not of the shape the docs give (the message says which)."""


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _printable(text: str) -> bool:
    return CONTROL.search(text) is None  # the one rule of renderer.text


def is_id(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID and _printable(value) and value.strip() == value


def is_url(value: Any) -> bool:
    return (isinstance(value, str) and 0 < len(value) <= MAX_URL and value.startswith(("http://", "https://"))
            and len(value) > len("https://") and _printable(value) and " " not in value)


def ident(value: Any, field: str) -> str:
    """A request/session id: a non-empty, bounded, printable string."""
    if not is_id(value):
        raise ShapeError(f"{field} is {_kind(value)}, not an id (a non-empty string of at most {MAX_ID} characters)")
    return value


def optional_id(value: Any) -> str | None:
    return value if is_id(value) else None


def url(value: Any, field: str) -> str:
    if not is_url(value):
        raise ShapeError(f"{field} is {_kind(value)}, not an http(s) URL")
    return value


def storage_path(value: Any, field: str) -> str:
    """A URL or a provider's storage path ("outputs/..."): a non-empty, bounded, printable string."""
    if not (isinstance(value, str) and 0 < len(value) <= MAX_URL and _printable(value) and value.strip() == value):
        raise ShapeError(f"{field} is {_kind(value)}, not a URL or storage path")
    return value


def optional_url(value: Any) -> str | None:
    """An optional URL (thumbnails): dropped when it is not one."""
    return value if is_url(value) else None


def urls(value: Any, field: str) -> tuple[str, ...]:
    """A list of URLs; absent (None) is the empty list."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ShapeError(f"{field} is {_kind(value)}, not a list of http(s) URLs")
    if len(value) > MAX_URLS:
        raise ShapeError(f"{field} lists {len(value)} URLs (more than {MAX_URLS})")
    return tuple(url(v, f"{field}[{i}]") for i, v in enumerate(value))


def status_text(value: Any, field: str = "status") -> str | None:
    """A status string (None when absent)."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_STATUS:
        raise ShapeError(f"{field} is {_kind(value)}, not a status string")
    return value


def text(value: Any) -> str | None:
    """A free text of the API's (an error message) as a bounded string, whatever it was."""
    if value is None or value == "":
        return None
    out = value if isinstance(value, str) else repr(value)
    return utf8_safe(out[:MAX_TEXT])


def credits(value: Any) -> tuple[float | None, str | None]:
    """(credits, problem): a finite, non-negative number of at most ``MAX_CREDITS``; anything
    else is an unknown charge (the budget then holds the job at its estimate)."""
    if value is None:
        return None, None
    if isinstance(value, bool):
        return None, f"credits charged is {_kind(value)}"
    try:
        number = float(value)
    except OverflowError:  # an integer past float range (10^400)
        return None, f"credits charged is a number of {len(str(abs(value))):,} digits: past what renderer counts"
    except (TypeError, ValueError):
        return None, f"credits charged is {_kind(value)} {utf8_safe(str(value)[:40])!r}, not a number"
    if not math.isfinite(number) or number < 0:
        return None, f"credits charged is {utf8_safe(str(value)[:40])!r}: not a finite, non-negative number"
    if number > MAX_CREDITS:  # sums of such figures pass float range: no budget counts them
        return None, f"credits charged is {number:g}: more than renderer counts (2^53)"
    return (int(number) if number.is_integer() else number), None
