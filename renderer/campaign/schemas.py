"""The one place jsonschema is used: load our Draft 2020-12 schemas, check values.

The campaign and plan schemas live in the top-level ``schemas/`` folder, shipped as
``renderer.schemas``; each provider brings its request schemas (``schemas()``: the
built-ins keep theirs in their package). They may carry annotations of ours, which
editors ignore:

- ``x-message``: the sentence to show when this subschema fails (rules between
  fields read better as one sentence than as jsonschema's wording);
- ``x-at``: the property that error should point at (the field that triggered
  the rule) instead of the enclosing object;
- ``x-url``: on the ``pattern`` of a URL field: its error says what is wrong with
  the URL (no scheme, a space) instead of quoting the pattern (``"http-or-data"``: an
  http(s) URL or an image data URL);
- ``x-known``: the values the docs list for a field that takes others too (a language
  code): another value is allowed, and the plan warns; ``x-unknown`` says what the API
  does with one: ``warn`` (the default: it may refuse it), ``refuse``, or
  ``fallback:<value>`` (it uses that value instead). A stand-in refuses what ``refuse`` marks.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping

try:  # a compiled validator for the per-instance yes/no check; messages stay jsonschema's
    import jsonschema_rs
except ImportError:  # pragma: no cover - an optional speed-up
    jsonschema_rs = None  # type: ignore[assignment]

if TYPE_CHECKING:  # imported when a value fails (or the compiled validator is missing): for the messages
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError
    from referencing import Registry

from renderer import providers

CAMPAIGN_SCHEMA = "campaign.schema.json"
PLAN_SCHEMA = "plan.schema.json"  # what `renderer plan --json` writes


@dataclass(frozen=True, slots=True)
class Violation:
    """One schema error: where (a path into the checked value) and what."""

    path: tuple[Any, ...]
    message: str
    at_key: bool = False  # point at the key itself (an unknown field), not its value


def schema_names() -> list[str]:
    """Every schema: the campaign's and the plan's (shipped), and every registered provider's request schemas."""
    return sorted({CAMPAIGN_SCHEMA, PLAN_SCHEMA} | set(_provider_schemas()))


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict[str, Any]:
    """A schema by file name. The campaign schema's provider parts come from the registry."""
    extra = _provider_schemas().get(name)
    if extra is not None:
        return dict(extra)
    data: dict[str, Any] = json.loads(resources.files("renderer.schemas").joinpath(name).read_text("utf-8"))
    if name == CAMPAIGN_SCHEMA:
        from renderer.providers.gen_schema import campaign_schema

        return campaign_schema(data)
    return data


@lru_cache(maxsize=1)
def _provider_schemas() -> dict[str, Mapping[str, Any]]:
    return {name: schema for p in providers.all_providers() for name, schema in p.schemas().items()}


def _forget() -> None:
    """The registry changed: schemas are read again."""
    for cached in (load_schema, _provider_schemas, _registry, validator, _fast_validator, fast_check, known_values):
        cached.cache_clear()


@lru_cache(maxsize=1)
def _registry() -> Registry:
    from referencing import Registry, Resource

    # Schemas refer to each other by file name, as editors resolve them.
    resources_ = [(n, Resource.from_contents(load_schema(n))) for n in schema_names()]
    return Registry().with_resources(resources_)


@lru_cache(maxsize=None)
def validator(name: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    schema = load_schema(name)
    return Draft202012Validator(schema, registry=_registry(), format_checker=None)


def check(name: str, value: Any) -> list[Violation]:
    """Every violation of schema ``name`` by ``value``, in document order."""
    v = validator(name)
    return [_violation(e) for e in _leaves(v.iter_errors(value))]


def is_valid(name: str, value: Any) -> bool:
    """Fast yes/no. A plan checks every instance, so this runs 100,000 times.

    The Rust validator is ~50x quicker than jsonschema's; values it cannot take
    (a pending upstream output) fall back to jsonschema. Both read the same
    files, and a test checks they agree on every body in the suite.
    """
    fast = _fast_validator(name)
    if fast is not None:
        try:
            return fast.is_valid(value)
        except (ValueError, TypeError):
            pass
    return validator(name).is_valid(value)


@lru_cache(maxsize=None)
def fast_check(name: str) -> Callable[[Any], bool]:
    """``is_valid`` of schema ``name`` as one function: the validator is looked up once,
    not once for each of a plan's 100,000 bodies."""
    fast = _fast_validator(name)
    if fast is None:
        return validator(name).is_valid

    def check(value: Any) -> bool:
        try:
            return bool(fast.is_valid(value))
        except (ValueError, TypeError):
            return validator(name).is_valid(value)

    return check


@lru_cache(maxsize=None)
def _fast_validator(name: str) -> Any:
    if jsonschema_rs is None:
        return None
    registry = jsonschema_rs.Registry([(n, load_schema(n)) for n in schema_names()])
    return jsonschema_rs.validator_for(load_schema(name), registry=registry, validate_formats=False)


@dataclass(frozen=True, slots=True)
class Known:
    """A field's ``x-known`` values, and what the API does with another (``x-unknown``)."""

    values: tuple[Any, ...]
    policy: str = "warn"  # "warn" | "refuse" | "fallback:<value>"

    def consequence(self) -> str:
        """How a warning ends: what the server does with a value it does not list."""
        if self.policy == "refuse":
            return "the server refuses it"
        if self.policy.startswith("fallback:"):
            return f"the server renders {self.policy.removeprefix('fallback:')} instead"
        return "the server may refuse it"


@lru_cache(maxsize=None)
def known_values(name: str) -> dict[str, Known]:
    """Top-level fields whose schema lists ``x-known`` values: any other value is allowed,
    but the docs do not list it (a language code), so the plan warns."""
    out: dict[str, Known] = {}
    name, schema = _whole(name)
    for field, node in (schema.get("properties") or {}).items():
        node = _resolve(name, node)
        if isinstance(node.get("x-known"), list):
            out[field] = Known(tuple(node["x-known"]), str(node.get("x-unknown") or "warn"))
    return out


def unknown_value(name: str, body: Any) -> tuple[str, Any, Known] | None:
    """The first top-level field of ``body`` holding a string value its schema does not list (field, value, known)."""
    if not isinstance(body, dict):
        return None
    for field, known in known_values(name).items():
        value = body.get(field)
        if isinstance(value, str) and value not in known.values:
            return field, value, known
    return None


def _whole(name: str) -> tuple[str, dict[str, Any]]:
    """A schema that is one $ref to another file (a /v2 route's, the same input as /v1's): that file."""
    schema = load_schema(name)
    for _ in range(4):
        ref = schema.get("$ref")
        if schema.get("properties") or not isinstance(ref, str) or "#" in ref:
            break
        name, schema = ref, load_schema(ref)
    return name, schema


def _resolve(name: str, node: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """Follow a node's $ref (to this file or another of ours), a few steps at most."""
    ref = node.get("$ref")
    if not isinstance(ref, str) or depth > 4:
        return node
    file, _, pointer = ref.partition("#")
    target: Any = load_schema(file or name)
    for part in pointer.strip("/").split("/") if pointer.strip("/") else []:
        target = target.get(part, {}) if isinstance(target, dict) else {}
    return _resolve(file or name, target, depth + 1) if isinstance(target, dict) else {}


def value_at(value: Any, path: tuple[Any, ...]) -> Any:
    """The part of ``value`` at a violation's path, or None when there is none."""
    for step in path:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _leaves(errors: Iterator[ValidationError]) -> Iterator[ValidationError]:
    """Replace anyOf/oneOf failures by their most telling branch error."""
    for error in errors:
        if error.validator in ("anyOf", "oneOf") and error.context and not _message_of(error):
            yield _best(error)
        else:
            yield error


def _best(error: ValidationError) -> ValidationError:
    # the deepest branch error is usually the one the author meant
    ctx = sorted(error.context, key=lambda e: (-len(e.absolute_path), e.validator in ("type", "const")))
    best = ctx[0]
    if best.validator in ("anyOf", "oneOf") and best.context and not _message_of(best):
        return _best(best)
    return best


def _message_of(error: ValidationError) -> tuple[str, str | None] | None:
    e: ValidationError | None = error
    while e is not None:
        schema = e.schema if isinstance(e.schema, dict) else {}
        if "x-message" in schema:
            return schema["x-message"], schema.get("x-at")
        e = e.parent
    return None


def _field(path: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for p in path:
        parts.append(f"[{p}]" if isinstance(p, int) else ("." + p if parts else p))
    return "".join(parts) or "the value"


def _show(value: Any) -> str:
    text = json.dumps(_clip(value), ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _clip(value: Any, depth: int = 0) -> Any:
    """Enough of a value to show 60 characters of it: a message about a 7 MB value
    in each of 2,000 instances wrote out 14 GB to keep 60 characters of each."""
    if isinstance(value, str):
        return value[:61]
    if depth > 60:  # past what 57 characters can show, so the message is the same as before
        return "..."
    if isinstance(value, list):
        return [_clip(v, depth + 1) for v in value[:30]]
    if isinstance(value, dict):
        return {k: _clip(v, depth + 1) for k, v in list(value.items())[:30]}
    return value


def _violation(e: ValidationError) -> Violation:
    path = tuple(e.absolute_path)
    custom = _message_of(e)
    if custom:
        message, at = custom
        if at:
            return Violation(path + (at,), message, at_key=True)
        return Violation(path, message)
    name = _field(path)
    kind = e.validator
    v = e.validator_value
    if kind == "required":
        missing = [r for r in v if isinstance(e.instance, dict) and r not in e.instance]
        return Violation(path, f"missing required field {_field(path + (missing[0],)) if missing else v}")
    if kind == "additionalProperties" or kind == "unevaluatedProperties":
        allowed = sorted((e.schema.get("properties") or {}).keys())
        extra = [k for k in e.instance if k not in allowed] if isinstance(e.instance, dict) else []
        key = extra[0] if extra else "?"
        hint = difflib.get_close_matches(str(key), allowed, n=1)
        msg = f"unknown field {_field(path + (key,))}"
        msg += f"; did you mean {hint[0]!r}?" if hint else (f"; allowed: {', '.join(allowed)}" if allowed else "")
        return Violation(path + (key,), msg, at_key=True)
    if kind == "enum":
        hint = difflib.get_close_matches(str(e.instance), [str(x) for x in v], n=1)
        msg = f"{name}: {_show(e.instance)} is not allowed; use one of: {', '.join(map(str, v))}"
        return Violation(path, msg + (f" (did you mean {hint[0]!r}?)" if hint else ""))
    if kind == "const":
        return Violation(path, f"{name} must be {_show(v)}, not {_show(e.instance)}")
    if kind == "type":
        want = " or ".join(v) if isinstance(v, list) else v
        return Violation(path, f"{name} must be {_article(want)}, not {_show(e.instance)}")
    if kind == "maxLength":
        return Violation(path, f"{name} is {len(e.instance)} characters long; the limit is {v}")
    if kind == "minLength":
        return Violation(path, f"{name} must not be empty" if v == 1 else f"{name} needs at least {v} characters")
    if kind == "maximum":
        return Violation(path, f"{name} is {_show(e.instance)}; the maximum is {v}")
    if kind == "minimum":
        return Violation(path, f"{name} is {_show(e.instance)}; the minimum is {v}")
    if kind == "exclusiveMinimum":
        return Violation(path, f"{name} must be greater than {v}, not {_show(e.instance)}")
    if kind == "exclusiveMaximum":
        return Violation(path, f"{name} must be less than {v}, not {_show(e.instance)}")
    if kind == "minItems":
        return Violation(path, f"{name} needs at least {v} item(s), it has {len(e.instance)}")
    if kind == "maxItems":
        return Violation(path, f"{name} takes at most {v} item(s), it has {len(e.instance)}")
    if kind == "uniqueItems":
        return Violation(path, f"{name} has repeated items; they must be unique")
    if kind == "pattern" and isinstance(e.schema, dict) and e.schema.get("x-url") and isinstance(e.instance, str):
        return Violation(path, _url_message(name, e.instance, v, e.schema.get("x-url")))
    if kind == "pattern":
        return Violation(path, f"{name}: {_show(e.instance)} does not match the expected form {v}")
    if kind == "multipleOf":
        return Violation(path, f"{name} must be a multiple of {v}")
    if kind == "minProperties":
        return Violation(path, f"{name} must not be empty")
    if kind == "propertyNames":
        return Violation(path, f"{name}: {e.message}")
    return Violation(path, f"{name}: {e.message}")


_SPACE = re.compile(r"\s")


def _url_message(name: str, value: str, pattern: str, kind: Any = True) -> str:
    """A URL field (marked ``x-url`` in the schemas) that is not one."""
    shown = _show(value)
    if _SPACE.search(value):  # a regex: a 2 MB value is not walked a character at a time
        return f"{name}: {shown} is not a URL: it contains a space or a line break (write a space as %20)"
    scheme = value.split(":", 1)[0].lower() if ":" in value else ""
    if kind == "http-or-data":
        return f"{name}: {shown} is neither an http(s) URL nor an image data URL: write https://... or data:image/png;base64,..."
    if pattern.startswith("^https?") and scheme not in ("http", "https"):
        return f"{name}: {shown} is not an http(s) URL: it needs https:// (or http://) in front"
    return f"{name}: {shown} is not a URL: it has no scheme; write https://{value.lstrip('/')}"


def _article(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


providers.on_change(_forget)
