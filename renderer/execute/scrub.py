"""Keeping credentials out of everything a run stores or prints.

An API's answer is untrusted text: a gateway may echo the ``Authorization`` header,
an error may quote the key. ``Scrubber`` removes, from any text or JSON value,

- every credential value of the environment (every provider's key, any variable named
  like a credential, and the shared store's URL and password), whichever provider this
  answer came from;
- every field whose name says it carries a credential (``Authorization``,
  ``api_key``, ``token``...), whatever its value.

Texts are scrubbed whole, before any truncation: a key cut in half cannot be found
any more. ``keep_fields`` then reduces a stored answer to the fields a provider module
lists in ``RESPONSE_FIELDS``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from renderer import providers
from renderer.execute.stateurl import state_secrets

REDACTED = "[redacted]"
MIN_SECRET = 4  # shorter values would blank out ordinary words
MIN_NAMED = 6  # a credential-named variable's value ("AUTH_MODE=basic" is no key)
_SECRET_ENV = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH", re.I)
_SECRET_FIELD = re.compile(
    r"^(authorization|proxy[-_]?authorization|cookie|set[-_]?cookie|x[-_]?api[-_]?key|api[-_]?key|apikey|"
    r"access[-_]?token|refresh[-_]?token|id[-_]?token|token|secret|client[-_]?secret|password|passwd|bearer|"
    r"credentials?)$", re.I)
MAX_DEPTH = 32


def secrets_from_env(env: Mapping[str, str], extra: Iterable[str] = ()) -> tuple[str, ...]:
    """Every provider's key and every credential-named variable's value, longest first."""
    found = {v.strip() for k, v in env.items()
             if isinstance(v, str) and _SECRET_ENV.search(k) and len(v.strip()) >= MIN_NAMED}
    for provider in providers.all_providers():
        value = env.get(provider.ENV_KEY)
        if isinstance(value, str):
            found.add(value.strip())
    found.update(state_secrets(env))  # the shared store's URL and its password
    found.update(x for x in extra if isinstance(x, str))
    return tuple(sorted((s for s in found if len(s) >= MIN_SECRET), key=len, reverse=True))


def is_secret_field(name: Any) -> bool:
    return isinstance(name, str) and bool(_SECRET_FIELD.match(name.strip()))


class Scrubber:
    """Removes ``secrets`` (and credential-named fields) from texts and JSON values."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = tuple(sorted({s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET},
                                    key=len, reverse=True))

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def value(self, value: Any, depth: int = 0) -> Any:
        """A JSON value with credential fields dropped, secrets replaced in every string, and
        non-finite numbers (NaN, Infinity: not JSON) as null."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, float) and not math.isfinite(value):
            return None  # not JSON, and no real figure either: unknown
        if depth >= MAX_DEPTH:
            return None
        if isinstance(value, Mapping):
            return {self.text(str(k)): self.value(v, depth + 1) for k, v in value.items() if not is_secret_field(k)}
        if isinstance(value, (list, tuple)):
            return [self.value(v, depth + 1) for v in value]
        return value


def keep_fields(provider: str, payload: Any) -> Any:
    """A stored answer: only the fields the provider's docs give (see ``RESPONSE_FIELDS``)."""
    if not isinstance(payload, Mapping):
        return None
    known = {p.NAME: p for p in providers.all_providers()}
    allowed = known[provider].RESPONSE_FIELDS if provider in known else None  # None: the provider lists none
    if allowed is None:
        return dict(payload)
    return {k: payload[k] for k in allowed if k in payload}
