"""Bodies with pending values, checked by the fast validator.

A pending value (an upstream output the run will know) is checked by its
declared shape: a placeholder of that shape stands in for it (a URL for a
`result_url`, a string for an id, a number for a `duration`) and the compiled
validator checks the whole body. The full check (jsonschema, which words the
errors and lets errors under pending values wait for the run) runs once per job
and layout of pending values, and for any body the fast check refuses: its
errors and their locations are the only ones ever shown.

Equal pending values get equal placeholders and different ones different
placeholders, so `uniqueItems` judges them as it judges the pending values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from renderer.vocabulary import Pending
from renderer.campaign import schemas

# where pending values sit (list positions folded into one) and which outputs they are
Layout = frozenset[tuple[tuple[Any, ...], str]]

_URLS = ("result_url", "thumbnail_url")
_STRINGS = ("request_id", "session_id", "status")
_NUMBERS = ("credits_charged", "duration")


@dataclass(slots=True)
class PendingChecks:
    """The layouts whose bodies the full check found clean, by job."""

    clean: set[tuple[str, Layout]] = field(default_factory=set)

    def passes(self, job: str, schema: str, value: Any) -> tuple[str, Layout] | bool:
        """True: no error now; else the key to ``remember`` once the full check finds none."""
        filled = _Filler()
        value = filled.walk(value, ())
        if filled.unknown:  # `response` or a field of it: no declared shape
            return False
        key = (job, frozenset(filled.layout))
        if not schemas.is_valid(schema, value):
            return False
        return True if key in self.clean else key

    def remember(self, key: tuple[str, Layout]) -> None:
        self.clean.add(key)


class _Filler:
    """A copy of a body with placeholders for its pending values (a method, not a
    closure calling itself: that would be a reference cycle per body)."""

    __slots__ = ("layout", "unknown", "_seen")

    def __init__(self) -> None:
        self.layout: set[tuple[tuple[Any, ...], str]] = set()
        self.unknown = False
        self._seen: dict[Pending, Any] = {}

    def walk(self, value: Any, path: tuple[Any, ...]) -> Any:
        if isinstance(value, Pending):
            self.layout.add((path, value.output))
            return self._placeholder(value)
        if isinstance(value, dict):
            return {k: self.walk(v, path + (k,)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.walk(v, path + (-1,)) for v in value]
        return value

    def _placeholder(self, p: Pending) -> Any:
        known = self._seen.get(p)
        if known is not None:
            return known
        n = len(self._seen) + 1
        if p.output in _URLS:
            value: Any = f"https://pending.invalid/{n}"
        elif p.output in _STRINGS:
            value = f"pending-{n}"
        elif p.output in _NUMBERS:
            value = n
        elif p.output == "result_urls":
            value = [f"https://pending.invalid/{n}"]
        else:
            self.unknown = True
            value = None
        self._seen[p] = value
        return value
