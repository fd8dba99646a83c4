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

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from renderer.errors import BadReference, Location
from renderer.vocabulary import OUTPUT_FIELDS, Pending
from renderer.campaign import schemas

# where pending values sit (list positions folded into one) and which outputs they are
Layout = frozenset[tuple[tuple[Any, ...], str]]

_NONE = object()
_NO_LAYOUT: frozenset[tuple[tuple[Any, ...], str]] = frozenset()
_PLAIN = frozenset({str, int, float, bool, type(None)})  # values that hold no pending value
_URLS = ("result_url", "thumbnail_url")
_URL = [f"https://pending.invalid/{n}" for n in range(16)]  # the first few, made once
_STRINGS = ("request_id", "session_id", "status")
_NUMBERS = ("credits_charged", "duration")


class Filled(NamedTuple):  # one per pending body: a tuple is quicker to make than a frozen dataclass
    """A body with a placeholder for each pending value, and where those were."""

    value: Any
    layout: Layout
    unknown: bool  # a pending value with no declared shape (`response`, or a field of it)


def _nowhere() -> Location:  # pragma: no cover - only with needs, which come with a place
    return Location("")


def fill(value: Any, needs: Collection[str] | None = None, where: Callable[[], Location] = _nowhere) -> Filled:
    """``value`` with placeholders (see ``PendingChecks``). With ``needs``, each pending value
    must name one of those upstream instances and one of their outputs: pending values
    travel through template text as "\\x00pending:<id>.<output>\\x00" markers, a campaign
    can write that text itself ("\\0pending:..." in YAML), and a forged marker would skip
    the plan's checks and its price (a located BadReference at ``where()``)."""
    filler = _Filler(needs, where)
    out = filler.walk(value, ())
    return Filled(out, frozenset(filler.layout) if filler.layout else _NO_LAYOUT, filler.unknown)


@dataclass(slots=True)
class PendingChecks:
    """The layouts whose bodies the full check found clean, by job."""

    clean: set[tuple[str, Layout]] = field(default_factory=set)
    # the last filled body the fast check passed, by schema: the bodies of a job's
    # instances often differ only in which upstream instance is pending, so once filled
    # they are equal, and comparing is quicker than checking
    last: dict[str, Any] = field(default_factory=dict)

    def passes(self, job: str, schema: str, value: Any) -> tuple[str, Layout] | bool:
        """True: no error now; else the key to ``remember`` once the full check finds none.

        ``value``: a body, or one ``fill`` made already."""
        filled = value if isinstance(value, Filled) else fill(value)
        if filled.unknown:  # `response` or a field of it: no declared shape
            return False
        key = (job, filled.layout)
        if filled.value != self.last.get(schema, _NONE):
            if not schemas.fast_check(schema)(filled.value):
                return False
            self.last[schema] = filled.value
        return True if key in self.clean else key

    def remember(self, key: tuple[str, Layout]) -> None:
        self.clean.add(key)


class _Filler:
    """A copy of a body with placeholders for its pending values (a method, not a
    closure calling itself: that would be a reference cycle per body)."""

    __slots__ = ("layout", "unknown", "_seen", "_needs", "_where")

    def __init__(self, needs: Collection[str] | None, where: Callable[[], Location]) -> None:
        self.layout: set[tuple[tuple[Any, ...], str]] = set()
        self.unknown = False
        self._seen: dict[tuple[str, str], Any] = {}
        self._needs = needs
        self._where = where

    def walk(self, value: Any, path: tuple[Any, ...]) -> Any:
        # text and numbers stay as they are: no call (and no path) for each of them
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                c = v.__class__
                out[k] = v if c in _PLAIN else self._pending(v, path + (k,)) if c is Pending else self.walk(v, path + (k,))
            return out
        if isinstance(value, list):
            items = []
            for v in value:
                c = v.__class__
                items.append(v if c in _PLAIN else self._pending(v, path + (-1,)) if c is Pending else self.walk(v, path + (-1,)))
            return items
        return self._pending(value, path) if isinstance(value, Pending) else value

    def _pending(self, value: Pending, path: tuple[Any, ...]) -> Any:
        """A placeholder of ``value``'s shape; equal pending values get equal placeholders."""
        instance, output = value.instance, value.output
        if self._needs is not None and (instance not in self._needs or output not in OUTPUT_FIELDS):
            raise BadReference(
                f"a value is pending on {instance}.{output}, which is not an output this instance "
                "needs (a \\0pending marker written in the campaign?)", self._where())
        self.layout.add((path, output))
        seen = (instance, output)  # a tuple hashes in C; the dataclass's __hash__ is Python
        known = self._seen.get(seen)
        if known is not None:
            return known
        n = len(self._seen) + 1
        if output in _URLS:
            placeholder: Any = _URL[n] if n < len(_URL) else f"https://pending.invalid/{n}"
        elif output in _STRINGS:
            placeholder = f"pending-{n}"
        elif output in _NUMBERS:
            placeholder = n
        elif output == "result_urls":
            placeholder = [f"https://pending.invalid/{n}"]
        else:
            self.unknown = True
            placeholder = None
        self._seen[seen] = placeholder
        return placeholder
