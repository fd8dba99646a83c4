"""Sandboxed templates inside request values (with ``jinja_env``, the only Jinja2 users).

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

import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from renderer import jsonfast
from renderer.errors import LimitError, Location, SchemaError, TemplateError
from renderer.plan.bounds import (
    METER,
    Meter,
    NotJson,
    Overrun,
    TemplateLimits,
    json_problem,
    not_json_message,
    written_size,
)
from renderer.plan.context import Needs, PendingOutputs
from renderer.vocabulary import Pending, is_pending

_ONE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\}\}|\{\{).)*)\}\}\s*$", re.S)
_MARKED = re.compile("\x00pending:([^\x00]*)\\.([A-Za-z_]+)\x00", re.I)



Renderer = Callable[[Mapping[str, Any]], Any]


class Compiler:
    """Compiles request values into renderers; one per campaign."""

    def __init__(self, limits: TemplateLimits = TemplateLimits()) -> None:  # noqa: B008 - frozen
        self._env: Any = None
        self.limits = limits
        self._cache: dict[str, Renderer] = {}
        self._used = 0.0  # seconds spent compiling and rendering, against max_total_seconds
        self._produced = _Produced(limits.max_total_chars, limits.max_total_chars)

    @property
    def env(self) -> Any:
        """The bounded Jinja environment, made (and Jinja imported: 7 MB, 15 ms) when the
        first template needs it. Plain substitutions never do."""
        if self._env is None:
            from renderer.plan.jinja_env import BoundedEnvironment, Undefined

            self._env = BoundedEnvironment(self.limits, Undefined)
        return self._env

    def _meter(self) -> Meter:
        """A fresh budget for one compile or render; the campaign's total time caps it."""
        lim = self.limits
        now = time.monotonic()
        left = lim.max_total_seconds - self._used
        if left < lim.max_seconds:
            n = lim.max_total_seconds
            late = f"templates took more than {n} s in all; the limit is {n} (max_total_seconds)"
            return Meter(now + max(left, 0.0), late, lim.max_built_chars, lim.max_built_chars)
        late = f"template took more than {lim.max_seconds} s to render"
        return Meter(now + lim.max_seconds, late, lim.max_built_chars, lim.max_built_chars)

    def compile(self, value: Any, where: Callable[[tuple[Any, ...]], Location], path: tuple[Any, ...] = ()) -> Renderer:
        """A function of the template context that yields the rendered value.

        Raises TemplateError (located at ``where(path)``) for syntax errors.
        """
        if isinstance(value, str):
            if "{{" not in value and "{%" not in value and "{#" not in value:
                return _literal(value)
            return self._string(value, where, path)
        if isinstance(value, list):
            parts = [self.compile(v, where, path + (i,)) for i, v in enumerate(value)]
            if all(getattr(p, "constant", False) for p in parts):
                return _constant(value)
            return _combined(lambda ctx: [p(ctx) for p in parts], parts)
        if isinstance(value, dict):
            for k in value:
                if not isinstance(k, str):  # JSON keys are text; `1: x` would not even hash
                    raise SchemaError(f"key {k!r} must be text in a request; quote it: \"{k}\"", where(path + (k,)))
            items = [(k, self.compile(v, where, path + (k,))) for k, v in value.items()]
            if all(getattr(p, "constant", False) for _, p in items):
                return _constant(value)
            return _mapping(items)
        why = json_problem(value)
        if why:
            raise SchemaError(f"a request holds JSON data only; this is {why}", where(path))
        return _constant(value)

    def _string(self, text: str, where: Callable[[tuple[Any, ...]], Location], path: tuple[Any, ...]) -> Renderer:
        location = where(path)
        lim = self.limits
        if len(text) > lim.max_template_chars:
            n = lim.max_template_chars
            raise LimitError(f"template is {len(text)} characters; the limit is {n} (max_template_chars)", location)
        if self._used > lim.max_total_seconds:
            secs = lim.max_total_seconds
            raise LimitError(f"templates took more than {secs} s in all; the limit is {secs} (max_total_seconds)", location)
        m = _ONE_EXPRESSION.match(text)
        # blanks around one expression do not make it text, on either path
        fast = _plain_substitution(text.strip() if m else text)
        if fast is None:
            return _marked(self._jinja(text, location, m), exact=not m)  # not one expression: it yields text
        # Jinja compiles a plain substitution only if a render needs it (most never do)
        return _fast(fast, self._later(text, location, m), location, self.limits, self._produced)

    def _jinja(self, text: str, location: Location, m: re.Match[str] | None) -> Renderer:
        """The template compiled by Jinja, within the campaign's time budget."""
        started = time.monotonic()
        token = METER.set(self._meter())  # Jinja folds constants while compiling: bound that too
        try:
            return self._compile_string(text, location, m)
        except (RecursionError, SyntaxError, MemoryError):  # Jinja's parser, or Python's on the generated code
            raise TemplateError("template is nested too deeply to compile", location) from None
        finally:
            METER.reset(token)
            self._used += time.monotonic() - started

    def _compile_string(self, text: str, location: Location, m: re.Match[str] | None) -> Renderer:
        import jinja2

        try:
            _refuse_self(self.env, text, location)
            if m:
                expr = self.env.compile_expression(m.group("expr"), undefined_to_none=False)
                return self._guard(lambda ctx: expr(**ctx), location, native=True)
            template = self.env.from_string(text)
            return self._guard(template.render, location, native=False)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(f"template syntax: {exc.message}", location) from None

    def _later(self, text: str, location: Location, m: re.Match[str] | None) -> Renderer:
        """Jinja's renderer of a plain substitution, compiled the first time it is needed."""
        made: list[Renderer] = []

        def slow(ctx: Mapping[str, Any]) -> Any:
            if not made:
                made.append(self._jinja(text, location, m))
            return made[0](ctx)

        return slow

    def _guard(self, fn: Callable[[Mapping[str, Any]], Any], location: Location, native: bool) -> Renderer:
        import jinja2

        limits = self.limits

        def render(ctx: Mapping[str, Any]) -> tuple[Any, int]:
            """The value, and its written size (what the campaign's total is charged)."""
            started = time.monotonic()
            out = fn(ctx)  # what it raises, `checked` below translates
            if time.monotonic() - started > limits.max_seconds:
                raise LimitError(f"template took more than {limits.max_seconds} s to render", location)
            if native:
                if isinstance(out, jinja2.Undefined):
                    out._fail_with_undefined_error()  # raises inside the sandbox's terms
                value = _settle(out, location, limits)
                size = written_size(value, limits.max_output_chars)
                if size > limits.max_output_chars:
                    n = limits.max_output_chars
                    raise LimitError(f"template output is more than {n} characters; the limit is {n}", location)
                return value, size
            if len(out) > limits.max_output_chars:
                raise LimitError(f"template output is {len(out)} characters; the limit is {limits.max_output_chars}", location)
            _refuse_surrogates(out, location)
            text = _unmark(out)
            return text, len(text) if isinstance(text, str) else written_size(text, limits.max_output_chars)

        def checked(ctx: Mapping[str, Any]) -> Any:
            # Jinja's and Python's errors become one located error here, including
            # those a native result raises while it is settled (lazy filters run then)
            started = time.monotonic()
            token = METER.set(self._meter())
            try:
                value, size = render(ctx)  # written out once: its size is charged as measured
                self._produced.add(size, location)
                return value
            except Overrun as exc:
                raise LimitError(str(exc), location) from None
            except jinja2.sandbox.SecurityError as exc:
                raise TemplateError(f"template not allowed: {exc}", location) from None
            except NotJson as exc:
                raise TemplateError(f"template: {exc}", location) from None
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
                METER.reset(token)
                self._used += time.monotonic() - started

        return checked


def _refuse_self(env: Any, text: str, location: Location) -> None:
    """Jinja binds ``self`` (a TemplateReference) in every template; templates here see
    vars, matrix and needs only."""
    if "self" not in text:
        return
    import jinja2

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


def _plain_substitution(text: str) -> list[Any] | None:
    """Literal text and dotted names, or None when Jinja is needed."""
    parts: list[Any] = []
    pos = 0
    for m in _SUBST.finditer(text):
        parts.append(text[pos:m.start()])
        names = tuple(m.group(1).split("."))
        if names[0] not in _ROOTS or any(n.startswith("_") for n in names):
            return None
        parts.append(names)
        pos = m.end()
    parts.append(text[pos:])
    literal = "".join(p for p in parts if isinstance(p, str))
    if "{{" in literal or "{%" in literal or "{#" in literal or "}}" in literal:
        return None
    return [p for p in parts if p != ""]


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
        get = _getter(parts[0])

        def native(ctx: Mapping[str, Any]) -> Any:
            try:
                value = get(ctx)
            except (KeyError, TypeError):  # not a key here, or not a mapping: Jinja words the error
                return slow(ctx)
            if value.__class__ is str:
                return _unmark(value) if "\x00" in value else value
            if value is None or isinstance(value, (int, bool, Pending)) or (isinstance(value, float) and math.isfinite(value)):
                return value
            return slow(ctx)  # lists and mappings get Jinja's conversion rules; the rest its errors

        # it yields a value of the context as it is (a float a matrix holds, say): exact if those are
        return _marked(native, exact=True, reads=True)

    steps = [p if isinstance(p, str) else _getter(p) for p in parts]
    literal_chars = sum(len(p) for p in parts if isinstance(p, str))
    most = limits.max_output_chars

    def text(ctx: Mapping[str, Any]) -> Any:
        pieces = []
        size = literal_chars
        for step in steps:
            if step.__class__ is str:
                pieces.append(step)
                continue
            try:
                value = step(ctx)  # type: ignore[operator]
            except (KeyError, TypeError):
                return slow(ctx)
            if value.__class__ is not str:
                if value is None or isinstance(value, (int, bool, Pending)) or (isinstance(value, float) and math.isfinite(value)):
                    value = str(value)
                else:  # a list or mapping goes through Jinja (and its meter)
                    return slow(ctx)
            size += len(value)
            pieces.append(value)
        if size > most:  # before joining: "x{{ vars.big }}" need not copy 8 MB to refuse it
            raise LimitError(f"template output is {size} characters; the limit is {most}", location)
        produced.left -= size
        if produced.left < 0:
            produced.add(0, location)  # raises, worded
        out = "".join(pieces)
        return _unmark(out) if "\x00" in out else out

    return _marked(text, exact=True)  # text holds no number


def _getter(names: tuple[str, ...]) -> Callable[[Mapping[str, Any]], Any]:
    """``ctx[a][b]...``: keys of mappings (campaign data first, as in Jinja: jinja_env.getattr)
    and outputs of needs (``PendingOutputs[...]``). Anything else raises KeyError or TypeError
    (a str, list or number is no mapping), and Jinja renders it instead."""
    if len(names) == 2:
        a, b = names
        return lambda ctx: ctx[a][b]
    if len(names) == 3:  # needs.<job>.<output>
        a, b, c = names
        return lambda ctx: ctx[a][b][c]

    def get(ctx: Mapping[str, Any]) -> Any:
        obj: Any = ctx
        for name in names:
            obj = obj[name]
        return obj

    return get


def _mapping(items: list[tuple[str, Renderer]]) -> Renderer:
    """A mapping of rendered fields: the ones known now are set once, in their place."""
    statics = {k: static_of(p) for k, p in items}
    base = {k: known[0] if known else None for k, known in statics.items()}
    dynamic = [(k, p) for k, p in items if not statics[k]]

    def render(ctx: Mapping[str, Any]) -> Any:
        out = base.copy()
        for k, p in dynamic:
            out[k] = p(ctx)
        return out

    return _combined(render, [p for _, p in items])


def _marked(fn: Renderer, *, exact: bool, reads: bool = False, static: tuple[Any] | None = None) -> Renderer:
    fn.exact = exact  # type: ignore[attr-defined]
    fn.reads = reads  # type: ignore[attr-defined]
    fn.static = static  # type: ignore[attr-defined]
    return fn


def _combined(fn: Renderer, parts: list[Renderer]) -> Renderer:
    """A list or mapping of parts is exact if they all are (see ``is_exact``)."""
    return _marked(fn, exact=all(getattr(p, "exact", False) for p in parts),
                   reads=any(getattr(p, "reads", False) for p in parts))


def static_of(fn: Renderer) -> tuple[Any] | None:
    """``(value,)`` when a renderer yields the same value for every instance, else None."""
    return getattr(fn, "static", None)


def is_exact(fn: Renderer, context_exact: bool = False) -> bool:
    """The renderer yields no float that JSON encoders write differently (jsonfast.exact), so
    its output hashes without looking for one. ``context_exact``: neither do the values of the
    context it renders with (a plain lookup yields those as they are)."""
    return getattr(fn, "exact", False) and (context_exact or not getattr(fn, "reads", False))


def _literal(text: str) -> Renderer:
    """A string without template syntax (not marked constant: see ``compile``)."""
    return _marked(lambda ctx: text, exact=True, static=(text,))


def _constant(value: Any) -> Renderer:
    def render(ctx: Mapping[str, Any]) -> Any:
        return value

    render.constant = True  # type: ignore[attr-defined]
    return _marked(render, exact=jsonfast.exact(value), static=(value,))


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
    import jinja2  # a native result is Jinja's: it is imported already

    if isinstance(value, float) and not math.isfinite(value):
        raise TemplateError(f"template yields the number {value}; JSON has no NaN or infinity", location)
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
    raise TemplateError(f"template: {not_json_message(json_problem(value) or type(value).__name__)}", location)


def _is_iterable(value: Any) -> bool:
    return hasattr(value, "__iter__") and not isinstance(value, (str, bytes, Mapping))


__all__ = ["Compiler", "Needs", "PendingOutputs", "TemplateLimits", "is_pending"]
