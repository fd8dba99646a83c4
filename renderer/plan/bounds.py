"""What one template may cost, and what a request may hold: the bounds, without Jinja.

The template compiler (``templates.py``) renders most templates itself (plain
substitutions) and needs Jinja only for the rest; the bounded environment
(``jinja_env.py``) meters Jinja's work. Both use what is here: the limits, the
meter a render charges, the written size of a value, and the rule that only
JSON data becomes text. Importing this costs nothing of Jinja (7 MB and 15 ms
that `validate` of a campaign of plain substitutions does not pay).
"""

from __future__ import annotations

import math
import sys
import time
from contextvars import ContextVar
from dataclasses import dataclass
from itertools import chain
from typing import Any

from renderer.vocabulary import Pending


@dataclass(frozen=True, slots=True)
class TemplateLimits:
    max_output_chars: int = 1_000_000
    max_seconds: float = 2.0  # for one value of one instance
    max_range: int = 10_000
    max_built_chars: int = 8_000_000  # all that one render builds: operators, filters, output
    max_total_seconds: float = 60.0  # every compile and render of one campaign
    max_template_chars: int = 100_000  # the source of one template
    max_int_bits: int = 10_000  # ~3,000 digits; Python will not print past 4,300
    max_total_chars: int = 500_000_000  # all text the renders of one campaign produce



# -- bounds on the work of one render ------------------------------------------
# The sandbox keeps templates away from Python's internals, not from working
# hard: `'a' * 10**9`, `9 ** (9 ** 9)`, `'%0999999999d' % 1`, `x|center(10**9)`,
# a macro calling itself twice per call, loops nested three deep. Operators,
# filters and str methods that grow a value are checked before they run and
# charge what they build to a meter; compiled templates tick the meter on every
# block, call and output, and it stops a render past its time or size budget.


class Overrun(Exception):
    """A render passed a TemplateLimits bound; shown as a located LimitError."""


@dataclass(slots=True)
class Meter:
    deadline: float
    late: str  # the message once the deadline has passed
    chars_left: int
    max_built: int

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise Overrun(self.late)

    def spend(self, chars: int) -> None:
        self.chars_left -= chars
        if self.chars_left < 0:
            n = self.max_built
            raise Overrun(f"template builds more than {n} characters; the limit is {n} (max_built_chars)")
        self.tick()


METER: ContextVar[Meter | None] = ContextVar("renderer_template_meter", default=None)


def tick() -> None:
    meter = METER.get()
    if meter is not None:
        meter.tick()


def ahead(chars: Any) -> None:
    """Charge what an operation is about to build, before it builds it."""
    meter = METER.get()
    if meter is not None and isinstance(chars, int) and chars > 0:
        meter.spend(chars)


def written_size(value: Any, cap: int) -> int:
    """What ``value`` costs written out; a part shared N times counts N times.

    `[[s, s], [s, s]]` holds one string but prints four: a macro nesting lists
    could print 2**60 copies of one string from a few objects in memory.
    Stops counting past ``cap``. (A plain function, not a closure: a closure that
    calls itself is a reference cycle, one for the collector per call.)
    """
    if isinstance(value, (str, bytes, range)):  # a range is a list waiting for `|list`
        return len(value)
    if not isinstance(value, (list, tuple, dict)):
        return 1
    return _written(value, cap, {})


_ONE = frozenset({int, float, bool, type(None), Pending})  # what _written counts as 1 without a call


def _written(v: Any, cap: int, seen: dict[int, tuple[Any, int]]) -> int:
    """``seen``: id -> (the object, kept alive; its written size)."""
    if isinstance(v, (str, bytes, range)):
        return len(v)
    if not isinstance(v, (list, tuple, dict)):
        return 1
    hit = seen.get(id(v))
    if hit is not None:
        return hit[1]
    total = 1
    for x in chain.from_iterable(v.items()) if isinstance(v, dict) else v:  # keys and values
        t = type(x)  # a request body is mostly strings and numbers: no call for those
        if t is str:
            total += len(x)
        elif t in _ONE:  # numbers, null, a pending value
            total += 1
        else:
            total += _written(x, cap, seen)
        if total > cap:
            break
    seen[id(v)] = (v, total)
    return total


def built(value: Any) -> Any:
    """A list, tuple or dict a template wrote out: charge what it would print."""
    meter = METER.get()
    if meter is not None:
        meter.spend(written_size(value, meter.chars_left))
    return value


def left() -> int:
    meter = METER.get()
    return meter.chars_left if meter is not None else 0


# -- only JSON data becomes text -------------------------------------------------
# A body holds JSON data only. A function, a generator or a method written into
# text is its repr, often with a memory address: a new input on every process,
# so paid for again on every run. Everything a template writes as text passes here.


class Namespace(dict[str, Any]):
    """A mapping whose names are its keys only (no dict methods reached by attribute)."""

    __slots__ = ()


class NotJson(TypeError):
    """A value that is not JSON data was about to be written; a located TemplateError."""


def json_problem(value: Any, depth: int = 0) -> str | None:
    """Why ``value`` is not JSON data (str, finite number, bool, null, list, object), or None."""
    if value is None or isinstance(value, (str, bool, int, Pending)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"the number {value} (JSON has no NaN or infinity)"
    if depth > 200:
        return None  # written_size and the renderers bound what is this deep
    if isinstance(value, (list, tuple)):
        for v in value:
            why = json_problem(v, depth + 1)
            if why:
                return why
        return None
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                return f"an object key {k!r} that is not a string"
            why = json_problem(v, depth + 1)
            if why:
                return why
        return None
    return _describe(value)


def _describe(value: Any) -> str:
    jinja2 = sys.modules.get("jinja2")  # a value of Jinja's exists only once Jinja is imported
    if jinja2 is not None and isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    owner = getattr(value, "__self__", None)
    name = getattr(value, "__name__", None)
    if callable(value) and name and owner is not None and not isinstance(owner, type(sys)):
        kind = type(owner).__name__
        where = f" (keys: {', '.join(map(str, owner)) or 'none'})" if isinstance(owner, dict) else ""
        return f"{name!r}, a method of a {kind}, not a key here{where}; to call it write {name}()"
    if isinstance(value, range):
        return "a range; write it as a list with `| list`"
    if hasattr(value, "__next__") or type(value).__name__ == "generator":
        return "a generator (the result of map, select...); add `| list`"
    if callable(value):
        return "a function, not a value"
    return f"a {type(value).__name__}, not JSON data"


def not_json_message(why: str) -> str:
    return f"a request holds JSON data only (text, numbers, true/false, null, lists, objects); this is {why}"


def refuse_non_json(value: Any) -> None:
    why = json_problem(value)
    if why:
        raise NotJson(not_json_message(why))


def as_text(value: Any) -> str:
    """``value`` written into text, if it is JSON data."""
    if isinstance(value, str):
        return value
    refuse_non_json(value)
    return str(value)
