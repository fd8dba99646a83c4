"""The one place Jinja2 is used: sandboxed templates inside request values.

A job's ``input`` is compiled once into a tree of ``Value`` nodes; rendering an
instance walks that tree with the instance's context. Constant subtrees are
returned as they are, so a 100,000-instance job pays only for its templated
leaves. Rules (campaign-format.md):

- an immutable sandbox with undefined names an error, no loader (no include or
  import), and nothing of the process environment in the context;
- a string that is exactly one ``{{ expression }}`` yields the expression's own
  type; any other template yields a string.

Upstream outputs not known yet are ``Pending`` values. A string built from one
becomes ``Pending`` too, so the plan can say "pending" instead of showing a
half-rendered URL.
"""

from __future__ import annotations

import functools
import re
import string
import time
from contextvars import ContextVar
from dataclasses import dataclass
from collections.abc import Callable, Mapping
from typing import Any

import jinja2
from jinja2 import filters as _filters
from jinja2.compiler import CodeGenerator, optimizeconst
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from renderer.errors import LimitError, Location, TemplateError
from renderer.plan.model import OUTPUT_FIELDS
from renderer.providers.base import Pending, is_pending

_ONE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\}\}|\{\{).)*)\}\}\s*$", re.S)
_MARKED = re.compile("\x00pending:([^\x00]*)\\.([A-Za-z_]+)\x00", re.I)


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


class _Undefined(jinja2.StrictUndefined):
    """Name the missing thing and what was there instead."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:  # type: ignore[override]
        if self._undefined_hint:  # the sandbox's "access to attribute ... is unsafe"
            return self._undefined_hint
        name = self._undefined_name
        obj = self._undefined_obj
        if obj is jinja2.utils.missing:
            return f"{name!r} is undefined; templates see vars, matrix and needs"
        if isinstance(obj, Mapping):
            keys = ", ".join(map(str, obj)) or "none"
            return f"no key {name!r} here (keys: {keys})"
        if isinstance(obj, PendingOutputs):
            return f"needs outputs have no {name!r} (outputs: {', '.join(OUTPUT_FIELDS)})"
        return f"{type(obj).__name__} has no attribute {name!r}"


class PendingOutputs:
    """``needs.<job>`` before that upstream instance has run."""

    __slots__ = OUTPUT_FIELDS + ("_instance",)

    def __init__(self, instance: str) -> None:
        self._instance = instance
        for f in OUTPUT_FIELDS:
            setattr(self, f, Pending(instance, f))

    def __getitem__(self, key: str) -> Any:  # needs.x['result_url'] works too
        if key in OUTPUT_FIELDS:
            return getattr(self, key)
        raise KeyError(key)

    def __repr__(self) -> str:
        return f"<outputs of {self._instance}, pending>"


# -- bounds on the work of one render ------------------------------------------
# The sandbox keeps templates away from Python's internals, not from working
# hard: `'a' * 10**9`, `9 ** (9 ** 9)`, `'%0999999999d' % 1`, `x|center(10**9)`,
# a macro calling itself twice per call, loops nested three deep. Operators,
# filters and str methods that grow a value are checked before they run and
# charge what they build to a meter; compiled templates tick the meter on every
# block, call and output, and it stops a render past its time or size budget.


class _Overrun(Exception):
    """A render passed a TemplateLimits bound; shown as a located LimitError."""


@dataclass(slots=True)
class _Meter:
    deadline: float
    late: str  # the message once the deadline has passed
    chars_left: int
    max_built: int

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise _Overrun(self.late)

    def spend(self, chars: int) -> None:
        self.chars_left -= chars
        if self.chars_left < 0:
            n = self.max_built
            raise _Overrun(f"template builds more than {n} characters; the limit is {n} (max_built_chars)")
        self.tick()


_METER: ContextVar[_Meter | None] = ContextVar("renderer_template_meter", default=None)


def _tick() -> None:
    meter = _METER.get()
    if meter is not None:
        meter.tick()


def _ahead(chars: Any) -> None:
    """Charge what an operation is about to build, before it builds it."""
    meter = _METER.get()
    if meter is not None and isinstance(chars, int) and chars > 0:
        meter.spend(chars)


def _weight(value: Any, cap: int) -> int:
    """What ``value`` costs written out; a part shared N times counts N times.

    `[[s, s], [s, s]]` holds one string but prints four: a macro nesting lists
    could print 2**60 copies of one string from a few objects in memory.
    Stops counting past ``cap``.
    """
    seen: dict[int, tuple[Any, int]] = {}  # id -> (the object, kept alive; its weight)

    def w(v: Any) -> int:
        if isinstance(v, (str, bytes, range)):  # a range is a list waiting for `|list`
            return len(v)
        if not isinstance(v, (list, tuple, dict)):
            return 1
        if id(v) in seen:
            return seen[id(v)][1]
        total = 1
        if isinstance(v, dict):
            for k, x in v.items():
                total += w(k) + w(x)
                if total > cap:
                    break
        else:
            for x in v:
                total += w(x)
                if total > cap:
                    break
        seen[id(v)] = (v, total)
        return total

    return w(value)


written_size = _weight  # the planner bounds the requests of a whole campaign with it


def _built(value: Any) -> Any:
    """A list, tuple or dict a template wrote out: charge what it would print."""
    meter = _METER.get()
    if meter is not None:
        meter.spend(_weight(value, meter.chars_left))
    return value


def _left() -> int:
    meter = _METER.get()
    return meter.chars_left if meter is not None else 0


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
        _ahead(linecount * _weight(fill_with, _left()))
    return _filters.do_batch(value, linecount, fill_with)


def _slice(value: Any, slices: int, fill_with: Any = None) -> Any:
    if isinstance(slices, int):
        _ahead(slices * _weight(fill_with, _left()))
    return _filters.sync_do_slice(value, slices, fill_with)


@jinja2.pass_eval_context
def _tojson(eval_ctx: Any, value: Any, indent: Any = None) -> Any:
    if indent is not None and not (isinstance(indent, int) and 0 <= indent <= 4):
        raise SecurityError("tojson indent must be a number from 0 to 4")
    _ahead(_weight(value, _left()) * (1 + 16 * (indent or 0)))  # indents grow with depth: a guess
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


def _charged(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Any filter's result is charged for what it holds: `[range(10000)] * 800 | map('sort')`
    builds 8,000,000 items one call at a time."""

    @functools.wraps(fn)  # keeps jinja_pass_arg: pass_context and friends still work
    def run(*args: Any, **kwargs: Any) -> Any:
        out = fn(*args, **kwargs)
        if isinstance(out, (str, list, tuple, dict)):
            _ahead(_weight(out, _left()))
        return out

    return run
# methods that build what their arguments ask for; the checked ones are in _Env.call
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


class _Env(ImmutableSandboxedEnvironment):
    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset({"+", "*", "**", "%"})  # also keeps them from folding at compile time
    meter_tick = staticmethod(_tick)
    meter_spend = staticmethod(_ahead)
    built = staticmethod(_built)

    def __init__(self, limits: TemplateLimits) -> None:
        super().__init__(undefined=_Undefined, autoescape=False, loader=None, finalize=self._finalize)
        self.limits = limits
        self.globals = {"range": self._range}  # no dict/lipsum/cycler/joiner/namespace
        self.filters = {name: _charged(f) for name, f in {**self.filters, **_BOUNDED_FILTERS}.items()}

    @staticmethod
    @jinja2.pass_eval_context  # a context argument keeps Jinja from folding outputs at compile time
    def _finalize(eval_ctx: Any, value: Any) -> Any:
        text = str(value)  # what Jinja would write; a Pending writes its marker
        _ahead(len(text))
        return text

    @staticmethod
    def concat(items: tuple[Any, ...]) -> str:
        parts = [str(x) for x in items]
        _ahead(sum(map(len, parts)))
        return "".join(parts)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _tick()
        limits = self.limits
        if operator == "**" and _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
            if abs(left).bit_length() * right > limits.max_int_bits:
                raise _Overrun(f"template builds a number over {limits.max_int_bits} bits; the limit is {limits.max_int_bits} (max_int_bits)")
        elif operator == "*":
            if _is_int(left) and _is_int(right):
                if left.bit_length() + right.bit_length() > limits.max_int_bits:
                    raise _Overrun(f"template builds a number over {limits.max_int_bits} bits; the limit is {limits.max_int_bits} (max_int_bits)")
            elif _is_int(right):
                _ahead(_weight(left, _left()) * right)
            elif _is_int(left):
                _ahead(_weight(right, _left()) * left)
        elif operator == "%" and isinstance(left, str):
            _ahead(_format_width(left))
        out = super().call_binop(context, operator, left, right)
        if operator in ("+", "%") and not isinstance(out, (int, float)):
            _ahead(_weight(out, _left()))
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


Renderer = Callable[[Mapping[str, Any]], Any]


class Compiler:
    """Compiles request values into renderers; one per campaign."""

    def __init__(self, limits: TemplateLimits = TemplateLimits()) -> None:
        self.env = _Env(limits)
        self.limits = limits
        self._cache: dict[str, Renderer] = {}
        self._used = 0.0  # seconds spent compiling and rendering, against max_total_seconds
        self._produced = _Produced(limits.max_total_chars, limits.max_total_chars)

    def _meter(self) -> _Meter:
        """A fresh budget for one compile or render; the campaign's total time caps it."""
        lim = self.limits
        now = time.monotonic()
        left = lim.max_total_seconds - self._used
        if left < lim.max_seconds:
            n = lim.max_total_seconds
            late = f"templates took more than {n} s in all; the limit is {n} (max_total_seconds)"
            return _Meter(now + max(left, 0.0), late, lim.max_built_chars, lim.max_built_chars)
        late = f"template took more than {lim.max_seconds} s to render"
        return _Meter(now + lim.max_seconds, late, lim.max_built_chars, lim.max_built_chars)

    def compile(self, value: Any, where: Callable[[tuple[Any, ...]], Location], path: tuple[Any, ...] = ()) -> Renderer:
        """A function of the template context that yields the rendered value.

        Raises TemplateError (located at ``where(path)``) for syntax errors.
        """
        if isinstance(value, str):
            if "{{" not in value and "{%" not in value and "{#" not in value:
                return lambda ctx, v=value: v
            return self._string(value, where, path)
        if isinstance(value, list):
            parts = [self.compile(v, where, path + (i,)) for i, v in enumerate(value)]
            if all(getattr(p, "constant", False) for p in parts):
                return _constant(value)
            return lambda ctx: [p(ctx) for p in parts]
        if isinstance(value, dict):
            items = [(k, self.compile(v, where, path + (k,))) for k, v in value.items()]
            if all(getattr(p, "constant", False) for _, p in items):
                return _constant(value)
            return lambda ctx: {k: p(ctx) for k, p in items}
        return _constant(value)

    def _string(self, text: str, where: Callable[[tuple[Any, ...]], Location], path: tuple[Any, ...]) -> Renderer:
        location = where(path)
        lim = self.limits
        if len(text) > lim.max_template_chars:
            n = lim.max_template_chars
            raise LimitError(f"template is {len(text)} characters; the limit is {n} (max_template_chars)", location)
        if self._used > lim.max_total_seconds:
            n = lim.max_total_seconds
            raise LimitError(f"templates took more than {n} s in all; the limit is {n} (max_total_seconds)", location)
        started = time.monotonic()
        token = _METER.set(self._meter())  # Jinja folds constants while compiling: bound that too
        try:
            return self._compile_string(text, location)
        except (RecursionError, SyntaxError, MemoryError):  # Jinja's parser, or Python's on the generated code
            raise TemplateError("template is nested too deeply to compile", location) from None
        finally:
            _METER.reset(token)
            self._used += time.monotonic() - started

    def _compile_string(self, text: str, location: Location) -> Renderer:
        m = _ONE_EXPRESSION.match(text)
        # blanks around one expression do not make it text, on either path
        fast = _plain_substitution(text.strip() if m else text)
        try:
            _refuse_self(self.env, text, location)
            if m:
                expr = self.env.compile_expression(m.group("expr"), undefined_to_none=False)
                slow = self._guard(lambda ctx: expr(**ctx), location, native=True)
            else:
                template = self.env.from_string(text)
                slow = self._guard(template.render, location, native=False)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"template syntax: {exc.message}", location) from None
        if fast is None:
            return slow
        return _fast(fast, slow, location, self.limits, self._produced)

    def _guard(self, fn: Callable[[Mapping[str, Any]], Any], location: Location, native: bool) -> Renderer:
        limits = self.limits

        def render(ctx: Mapping[str, Any]) -> Any:
            started = time.monotonic()
            try:
                out = fn(ctx)
            except jinja2.UndefinedError as exc:
                raise TemplateError(f"template: {exc.message}", location) from None
            except jinja2.sandbox.SecurityError as exc:
                raise TemplateError(f"template not allowed: {exc}", location) from None
            except jinja2.TemplateError as exc:
                raise TemplateError(f"template: {exc.message or exc}", location) from None
            except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
                raise TemplateError(f"template: {exc}", location) from None
            except RecursionError:
                raise TemplateError("template recursion is too deep", location) from None
            if time.monotonic() - started > limits.max_seconds:
                raise LimitError(f"template took more than {limits.max_seconds} s to render", location)
            if native:
                if isinstance(out, jinja2.Undefined):
                    out._fail_with_undefined_error()  # raises inside the sandbox's terms
                value = _settle(out, location, limits)
                size = _weight(value, limits.max_output_chars)
                if size > limits.max_output_chars:
                    n = limits.max_output_chars
                    raise LimitError(f"template output is more than {n} characters; the limit is {n}", location)
                return value
            if len(out) > limits.max_output_chars:
                raise LimitError(f"template output is {len(out)} characters; the limit is {limits.max_output_chars}", location)
            _refuse_surrogates(out, location)
            return _unmark(out)

        def checked(ctx: Mapping[str, Any]) -> Any:
            # a native result is settled (and lazy filters run) outside render's own handlers
            started = time.monotonic()
            token = _METER.set(self._meter())
            try:
                value = render(ctx)
                self._produced.add(_weight(value, limits.max_output_chars) if not isinstance(value, str) else len(value), location)
                return value
            except _Overrun as exc:
                raise LimitError(str(exc), location) from None
            except jinja2.sandbox.SecurityError as exc:
                raise TemplateError(f"template not allowed: {exc}", location) from None
            except jinja2.UndefinedError as exc:
                raise TemplateError(f"template: {exc.message}", location) from None
            except jinja2.TemplateError as exc:
                raise TemplateError(f"template: {exc.message or exc}", location) from None
            except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
                raise TemplateError(f"template: {exc}", location) from None
            except RecursionError:
                raise TemplateError("template recursion is too deep", location) from None
            except MemoryError:
                raise LimitError("template needs more memory than there is", location) from None
            finally:
                _METER.reset(token)
                self._used += time.monotonic() - started

        return checked


def _refuse_self(env: jinja2.Environment, text: str, location: Location) -> None:
    """Jinja binds ``self`` (a TemplateReference) in every template; templates here see
    vars, matrix and needs only."""
    if "self" not in text:
        return
    for node in env.parse(text).find_all(jinja2.nodes.Name):
        if node.name == "self" and node.ctx == "load":
            raise TemplateError("template: 'self' is undefined; templates see vars, matrix and needs", location)


# -- the fast path -------------------------------------------------------------
# Most campaign templates are plain substitutions ("{{ matrix.city }}.png").
# Jinja spends ~15 us a render building a context; a direct lookup takes ~1 us,
# which is what keeps a 100,000-instance plan near a bare expansion loop. Only
# dotted names of dicts and needs outputs take this path; anything else (filters,
# attributes that are also dict methods, other objects) goes through Jinja.

_SUBST = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}")
_ROOTS = ("vars", "matrix", "needs")
_SHADOWED = set(dir(dict)) | set(dir(list))


class _Fallback(Exception):
    pass


def _plain_substitution(text: str) -> list[Any] | None:
    """Literal text and dotted names, or None when Jinja is needed."""
    parts: list[Any] = []
    pos = 0
    for m in _SUBST.finditer(text):
        parts.append(text[pos:m.start()])
        names = tuple(m.group(1).split("."))
        if names[0] not in _ROOTS or any(n in _SHADOWED or n.startswith("_") for n in names):
            return None
        parts.append(names)
        pos = m.end()
    parts.append(text[pos:])
    literal = "".join(p for p in parts if isinstance(p, str))
    if "{{" in literal or "{%" in literal or "{#" in literal or "}}" in literal:
        return None
    return [p for p in parts if p != ""]


def _lookup(ctx: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    obj: Any = ctx
    for name in names:
        if type(obj) is dict:
            if name not in obj:
                raise _Fallback  # Jinja words the error
            obj = obj[name]
        elif isinstance(obj, PendingOutputs) and name in OUTPUT_FIELDS:
            obj = getattr(obj, name)
        else:
            raise _Fallback
    return obj


@dataclass(slots=True)
class _Produced:
    """Text all renders of one campaign produced: 200,000 instances of "x{{ vars.big }}"
    are 200 GB, though each is within max_output_chars."""

    left: int
    limit: int

    def add(self, chars: int, location: Location) -> None:
        self.left -= chars
        if self.left < 0:
            n = self.limit
            raise LimitError(f"templates produce more than {n} characters in all; the limit is {n} (max_total_chars)", location)


def _fast(parts: list[Any], slow: Renderer, location: Location, limits: TemplateLimits, produced: _Produced) -> Renderer:
    if len(parts) == 1 and isinstance(parts[0], tuple):
        names = parts[0]

        def native(ctx: Mapping[str, Any]) -> Any:
            try:
                value = _lookup(ctx, names)
            except _Fallback:
                return slow(ctx)
            if isinstance(value, str):
                return _unmark(value)
            if value is None or isinstance(value, (int, float, bool, Pending)):
                return value
            return slow(ctx)  # lists and mappings get Jinja's conversion rules

        return native

    def text(ctx: Mapping[str, Any]) -> Any:
        try:
            values = [p if isinstance(p, str) else _text_of(_lookup(ctx, p)) for p in parts]
        except _Fallback:
            return slow(ctx)
        size = sum(map(len, values))  # before joining: "x{{ vars.big }}" need not copy 8 MB to refuse it
        if size > limits.max_output_chars:
            raise LimitError(f"template output is {size} characters; the limit is {limits.max_output_chars}", location)
        produced.add(size, location)
        return _unmark("".join(values))

    return text


def _text_of(value: Any) -> str:
    """A scalar as text; a list or mapping goes through Jinja (and its meter)."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, (int, float, bool, Pending)):
        return str(value)
    raise _Fallback


def _constant(value: Any) -> Renderer:
    def render(ctx: Mapping[str, Any]) -> Any:
        return value

    render.constant = True  # type: ignore[attr-defined]
    return render


def _unmark(text: str) -> Any:
    """A string that formatted a pending value is itself pending."""
    if "\x00" not in text:
        return text
    m = _MARKED.search(text)
    return Pending(m.group(1), m.group(2).lower()) if m else Pending("?", "?")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _refuse_surrogates(text: str, location: Location) -> None:
    """`{{ '\\ud800' }}` makes a lone surrogate: not text, and printing it crashes."""
    if _SURROGATE.search(text):
        raise TemplateError("template yields a lone surrogate (\\ud800-\\udfff): not Unicode text", location)


def _settle(value: Any, location: Location, limits: TemplateLimits) -> Any:
    """Turn a native result into plain data (lists, dicts, scalars, Pending)."""
    if isinstance(value, (str, int, float, bool)) or value is None or isinstance(value, Pending):
        if isinstance(value, str):
            if len(value) > limits.max_output_chars:
                raise LimitError(f"template output is {len(value)} characters; the limit is {limits.max_output_chars}", location)
            _refuse_surrogates(value, location)
            return _unmark(value)
        return value
    if isinstance(value, PendingOutputs):
        raise TemplateError("a template yields a whole needs entry; pick one output, e.g. .result_url", location)
    if isinstance(value, Mapping):
        return {str(k): _settle(v, location, limits) for k, v in value.items()}
    if isinstance(value, (list, tuple)) or _is_iterable(value):
        items = []
        for i, v in enumerate(value):
            if i >= limits.max_range:
                raise LimitError(f"template yields more than {limits.max_range} items", location)
            items.append(_settle(v, location, limits))
        return items
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    raise TemplateError(f"template yields a {type(value).__name__}, not a JSON value", location)


def _is_iterable(value: Any) -> bool:
    return hasattr(value, "__iter__") and not isinstance(value, (str, bytes, Mapping))


__all__ = ["Compiler", "PendingOutputs", "TemplateLimits", "is_pending"]
