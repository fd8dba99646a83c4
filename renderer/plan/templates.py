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

import re
import time
from dataclasses import dataclass
from collections.abc import Callable, Mapping
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

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


class _Undefined(jinja2.StrictUndefined):
    """Name the missing thing and what was there instead."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:  # type: ignore[override]
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


class _Env(ImmutableSandboxedEnvironment):
    def __init__(self, limits: TemplateLimits) -> None:
        super().__init__(undefined=_Undefined, autoescape=False, loader=None, finalize=self._finalize)
        self.limits = limits
        self.globals = {"range": self._range}  # no dict/lipsum/cycler/joiner/namespace

    @staticmethod
    def _finalize(value: Any) -> Any:
        return str(value) if isinstance(value, Pending) else value

    def _range(self, *args: int) -> range:
        r = range(*args)
        if len(r) > self.limits.max_range:
            raise jinja2.sandbox.SecurityError(f"range of {len(r)} items; the limit is {self.limits.max_range}")
        return r

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # str.format and format_map reach attributes of their arguments by name
        if isinstance(obj, str) and attr in ("format", "format_map"):
            return False
        return super().is_safe_attribute(obj, attr, value)


Renderer = Callable[[Mapping[str, Any]], Any]


class Compiler:
    """Compiles request values into renderers; one per campaign."""

    def __init__(self, limits: TemplateLimits = TemplateLimits()) -> None:
        self.env = _Env(limits)
        self.limits = limits
        self._cache: dict[str, Renderer] = {}

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
        fast = _plain_substitution(text)
        try:
            m = _ONE_EXPRESSION.match(text)
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
        return _fast(fast, slow, location, self.limits)

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
                return _settle(out, location, limits)
            if len(out) > limits.max_output_chars:
                raise LimitError(f"template output is {len(out)} characters; the limit is {limits.max_output_chars}", location)
            return _unmark(out)

        def checked(ctx: Mapping[str, Any]) -> Any:
            try:
                return render(ctx)
            except jinja2.UndefinedError as exc:
                raise TemplateError(f"template: {exc.message}", location) from None

        return checked


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


def _fast(parts: list[Any], slow: Renderer, location: Location, limits: TemplateLimits) -> Renderer:
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
            out = "".join(p if isinstance(p, str) else str(_lookup(ctx, p)) for p in parts)
        except _Fallback:
            return slow(ctx)
        if len(out) > limits.max_output_chars:
            raise LimitError(f"template output is {len(out)} characters; the limit is {limits.max_output_chars}", location)
        return _unmark(out)

    return text


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


def _settle(value: Any, location: Location, limits: TemplateLimits) -> Any:
    """Turn a native result into plain data (lists, dicts, scalars, Pending)."""
    if isinstance(value, (str, int, float, bool)) or value is None or isinstance(value, Pending):
        if isinstance(value, str):
            if len(value) > limits.max_output_chars:
                raise LimitError(f"template output is {len(value)} characters; the limit is {limits.max_output_chars}", location)
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
