"""The bounded Jinja environment: what one template may cost.

Jinja's sandbox stops templates from reaching Python internals; it does not stop
them from building a gigabyte string, a ten-thousand-digit number, or a loop
that never ends. Everything here meters the work of one render (a clock tick per
block, call and output; a character budget for what operators, filters and
literals build) and raises before the work is done, not after; the meter and
the limits themselves are in ``bounds.py``. The template compiler
(``templates.py``) is the only user, and imports this module only when a
template needs Jinja (plain substitutions do not).
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jinja2
from jinja2 import filters as _filters
from jinja2.compiler import CodeGenerator, optimizeconst
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from renderer.plan.bounds import (
    Namespace,
    Overrun,
    TemplateLimits,
    as_text,
    refuse_non_json,
    written_size,
)
from renderer.plan.bounds import ahead as _ahead
from renderer.plan.bounds import built as _built
from renderer.plan.bounds import left as _left
from renderer.plan.bounds import tick as _tick
from renderer.plan.context import Needs, PendingOutputs
from renderer.vocabulary import OUTPUT_FIELDS, Pending

class Undefined(jinja2.StrictUndefined):
    """Name the missing thing and what was there instead."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        if self._undefined_hint:  # the sandbox's "access to attribute ... is unsafe"
            return self._undefined_hint
        name = self._undefined_name
        obj = self._undefined_obj
        if obj is jinja2.utils.missing:
            return f"{name!r} is undefined; templates see vars, matrix and needs"
        if isinstance(obj, Needs):
            return obj.missing(name)
        if isinstance(obj, Mapping):
            keys = ", ".join(map(str, obj)) or "none"
            return f"no key {name!r} here (keys: {keys})"
        if isinstance(obj, PendingOutputs):
            return f"needs outputs have no {name!r} (outputs: {', '.join(OUTPUT_FIELDS)})"
        return f"{type(obj).__name__} has no attribute {name!r}"


_PERCENT = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(\*|\d*)(?:\.(\*|\d*))?")


def _format_width(fmt: str) -> int:
    """The widths a printf-style format asks for (`%0999999999d` builds 1 GB)."""
    total = 0
    for m in _PERCENT.finditer(fmt):
        for part in m.groups():
            if part == "*":
                raise SecurityError("'*' widths in % formats are not allowed")
            if part:
                total += int(part) if len(part) < 10 else 10**10
    return total


def _brace_width(fmt: str) -> int:
    """The same for str.format: `'{0:>999999999}'.format(1)` and `{0:.999999999f}`."""
    total = 0
    for _, _, spec, _ in _FORMATTER.parse(fmt):
        if spec and "{" in spec:
            raise SecurityError("fields inside a format spec are not allowed")
        for digits in re.findall(r"\d+", spec or ""):
            total += int(digits) if len(digits) < 10 else 10**10
    return total


_FORMATTER = string.Formatter()


def _replace_growth(s: Any, old: Any, new: Any, count: Any = -1) -> int:
    if not all(isinstance(x, str) for x in (s, old, new)):
        return 0
    n = len(s) + 1 if old == "" else s.count(old)
    if isinstance(count, int) and count >= 0:
        n = min(n, count)
    return len(s) + n * max(len(new) - len(old), 0)


def _joined(items: list[Any], sep: Any) -> int:
    return sum(len(str(x)) for x in items) + len(str(sep)) * max(len(items) - 1, 0)


def _center(value: Any, width: int = 80) -> str:
    _ahead(width)
    return _filters.do_center(value, width)


def _indent(s: Any, width: Any = 4, first: bool = False, blank: bool = False) -> str:
    lines = str(s).count("\n") + 1
    _ahead(lines * (width if isinstance(width, int) else len(str(width))))
    return _filters.do_indent(s, width, first, blank)


def _format(value: Any, *args: Any, **kwargs: Any) -> str:
    for arg in args + tuple(kwargs.values()):
        refuse_non_json(arg)
    _ahead(_format_width(str(value)))
    return _filters.do_format(value, *args, **kwargs)


@jinja2.pass_eval_context
def _replace(eval_ctx: Any, s: Any, old: Any, new: Any, count: Any = None) -> str:
    _ahead(_replace_growth(str(s), old, new, -1 if count is None else count))
    return _filters.do_replace(eval_ctx, s, old, new, count)


@jinja2.pass_eval_context
def _join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> str:
    if attribute is not None:
        value = map(_filters.make_attrgetter(eval_ctx.environment, attribute), value)
    items = list(value)
    for item in items:
        refuse_non_json(item)
    _ahead(_joined(items, d))
    return _filters.sync_do_join(eval_ctx, items, d)


@jinja2.pass_environment
def _wordwrap(environment: Any, s: Any, width: int = 79, break_long_words: bool = True,
              wrapstring: Any = None, break_on_hyphens: bool = True) -> str:
    text, wrap = str(s), str(wrapstring or environment.newline_sequence)
    lines = len(text) // max(width, 1) + text.count("\n") + 1 if isinstance(width, int) else 1
    _ahead(len(text) + lines * len(wrap))
    return _filters.do_wordwrap(environment, s, width, break_long_words, wrapstring, break_on_hyphens)


def _batch(value: Any, linecount: int, fill_with: Any = None) -> Any:
    if isinstance(linecount, int):  # fill_with pads the last batch to linecount items
        _ahead(linecount * written_size(fill_with, _left()))
    return _filters.do_batch(value, linecount, fill_with)


def _slice(value: Any, slices: int, fill_with: Any = None) -> Any:
    if isinstance(slices, int):
        _ahead(slices * written_size(fill_with, _left()))
    return _filters.sync_do_slice(value, slices, fill_with)


@jinja2.pass_eval_context
def _tojson(eval_ctx: Any, value: Any, indent: Any = None) -> Any:
    if indent is not None and not (isinstance(indent, int) and 0 <= indent <= 4):
        raise SecurityError("tojson indent must be a number from 0 to 4")
    _ahead(written_size(value, _left()) * (1 + 16 * (indent or 0)))  # indents grow with depth: a guess
    out = _filters.do_tojson(eval_ctx, value, indent)
    _ahead(len(out))
    return out


@jinja2.pass_environment
def _sum(environment: Any, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
    if not isinstance(start, (int, float)):  # sum(start=[]) concatenates lists, quadratically
        raise SecurityError("sum adds numbers only")
    return _filters.sync_do_sum(environment, iterable, attribute, start)


_BOUNDED_FILTERS = {
    "center": _center, "indent": _indent, "format": _format, "replace": _replace, "join": _join,
    "wordwrap": _wordwrap, "batch": _batch, "slice": _slice, "tojson": _tojson, "sum": _sum,
}


def _charged(fn: Callable[..., Any], text: bool = False) -> Callable[..., Any]:
    """Any filter's result is charged for what it holds: `[range(10000)] * 800 | map('sort')`
    builds 8,000,000 items one call at a time. A ``text`` filter writes its value as
    text: only JSON data may be written (`matrix.keys | string` is a memory address)."""

    @functools.wraps(fn)  # keeps jinja_pass_arg: pass_context and friends still work
    def run(*args: Any, **kwargs: Any) -> Any:
        if text:
            value = args[1] if getattr(fn, "jinja_pass_arg", None) is not None and len(args) > 1 else args[0] if args else None
            refuse_non_json(value)
        out = fn(*args, **kwargs)
        if isinstance(out, (str, list, tuple, dict)):
            _ahead(written_size(out, _left()))
        return out

    return run
# filters that write their value as text (str() of it)
_TEXT_FILTERS = frozenset({
    "string", "upper", "lower", "title", "capitalize", "trim", "e", "escape", "forceescape", "replace",
    "center", "indent", "wordwrap", "truncate", "striptags", "urlencode", "urlize", "wordcount", "format",
    "pprint", "safe",
})


# methods that build what their arguments ask for; the checked ones are in BoundedEnvironment.call
_REFUSED_METHODS = frozenset({"format", "format_map", "translate", "maketrans", "expandtabs", "encode", "to_bytes"})


class _CodeGenerator(CodeGenerator):
    """Compiled templates tick the meter on every block and charge every output."""

    def blockvisit(self, nodes: Any, frame: Any) -> None:
        self.writeline("environment.meter_tick()")
        super().blockvisit(nodes, frame)

    def visit_Output(self, node: Any, frame: Any) -> None:
        chars = sum(len(c.data) for c in node.nodes if isinstance(c, jinja2.nodes.TemplateData))
        if chars:
            self.writeline(f"environment.meter_spend({chars})")
        super().visit_Output(node, frame)

    def visit_List(self, node: Any, frame: Any) -> None:
        self.write("environment.built(")  # [x, x]: a macro may nest lists of one value per call
        super().visit_List(node, frame)
        self.write(")")

    def visit_Dict(self, node: Any, frame: Any) -> None:
        self.write("environment.built(")
        super().visit_Dict(node, frame)
        self.write(")")

    def visit_Tuple(self, node: Any, frame: Any) -> None:
        if node.ctx != "load":  # `for a, b in ...` assigns to a tuple
            return super().visit_Tuple(node, frame)
        self.write("environment.built(")
        super().visit_Tuple(node, frame)
        self.write(")")

    @optimizeconst
    def visit_Concat(self, node: Any, frame: Any) -> None:
        self.write("environment.concat((")  # `a ~ b`: a macro may double a string per call
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset({"+", "*", "**", "%"})  # also keeps them from folding at compile time
    meter_tick = staticmethod(_tick)
    meter_spend = staticmethod(_ahead)
    built = staticmethod(_built)

    def __init__(self, limits: TemplateLimits, undefined: type[jinja2.Undefined] = jinja2.StrictUndefined) -> None:
        super().__init__(undefined=undefined, autoescape=False, loader=None, finalize=self._finalize)
        self.limits = limits
        self.globals = {"range": self._range}  # no dict/lipsum/cycler/joiner/namespace
        filters = {**self.filters, **_BOUNDED_FILTERS}
        # `random` would give a job a new input on every plan: never reused, paid for on every run
        del filters["random"]
        self.filters = {name: _charged(f, name in _TEXT_FILTERS) for name, f in filters.items()}

    @staticmethod
    @jinja2.pass_eval_context  # a context argument keeps Jinja from folding outputs at compile time
    def _finalize(eval_ctx: Any, value: Any) -> Any:
        text = as_text(value)  # what Jinja would write; a Pending writes its marker
        _ahead(len(text))
        return text

    @staticmethod
    def concat(items: Iterable[Any]) -> str:
        parts = [as_text(x) for x in items]
        _ahead(sum(map(len, parts)))
        return "".join(parts)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _tick()
        limits = self.limits
        if operator == "**" and _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
            if abs(left).bit_length() * right > limits.max_int_bits:
                raise Overrun(f"template builds a number over {limits.max_int_bits} bits; the limit is {limits.max_int_bits} (max_int_bits)")
        elif operator == "*":
            if _is_int(left) and _is_int(right):
                if left.bit_length() + right.bit_length() > limits.max_int_bits:
                    raise Overrun(f"template builds a number over {limits.max_int_bits} bits; the limit is {limits.max_int_bits} (max_int_bits)")
            elif _is_int(right):
                _ahead(written_size(left, _left()) * right)
            elif _is_int(left):
                _ahead(written_size(right, _left()) * left)
        elif operator == "%" and isinstance(left, str):
            _ahead(_format_width(left))
            for arg in right.values() if isinstance(right, dict) else right if isinstance(right, tuple) else (right,):
                refuse_non_json(arg)  # `'%s' % matrix.keys` prints a memory address
        out = super().call_binop(context, operator, left, right)
        if operator in ("+", "%") and not isinstance(out, (int, float)):
            _ahead(written_size(out, _left()))
        return out

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        _tick()
        inner = getattr(obj, "__wrapped__", obj)  # Jinja wraps str.format in its sandboxed formatter
        owner = getattr(inner, "__self__", None)
        name = getattr(inner, "__name__", "")
        if isinstance(owner, str) and name in ("format", "format_map"):
            _ahead(_brace_width(owner))
        elif isinstance(owner, str) and args:
            if name in ("ljust", "rjust", "center", "zfill"):
                _ahead(args[0])
            elif name == "replace" and len(args) >= 2:
                _ahead(_replace_growth(owner, args[0], args[1], args[2] if len(args) > 2 else kwargs.get("count", -1)))
            elif name == "join":
                items = list(args[0])
                _ahead(_joined(items, owner))
                args = (items,) + args[1:]
        return super().call(context, obj, *args, **kwargs)

    def _range(self, *args: int) -> range:
        r = range(*args)
        if len(r) > self.limits.max_range:
            raise jinja2.sandbox.SecurityError(f"range of {len(r)} items; the limit is {self.limits.max_range}")
        return r

    # A field of a pending output (needs.x.response.resolution, needs.x.result_urls[0])
    # is pending on the same upstream: known at run time, not now.
    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, Pending) and not str(attribute).startswith("_"):
            return obj
        # campaign data first: `matrix.items` is the user's key `items`, not dict.items
        # (a bound method would print its memory address into the body)
        if isinstance(obj, dict) and isinstance(attribute, str) and attribute in obj:
            return obj[attribute]
        if isinstance(obj, Namespace):  # names in it are keys only: `needs.copy` is a job
            return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, Pending) and not (isinstance(argument, str) and argument.startswith("_")):
            return obj
        return super().getitem(obj, argument)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # str.format and format_map reach attributes of their arguments by name;
        # the others build what their arguments ask for (to_bytes(10**9))
        if isinstance(obj, (str, int)) and attr in _REFUSED_METHODS:
            return False
        return super().is_safe_attribute(obj, attr, value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int)


