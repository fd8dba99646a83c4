"""Keeping credentials out of everything a run stores or prints.

An API's answer is untrusted text: a gateway may echo the ``Authorization`` header,
an error may quote the key, encoded or cut. ``Scrubber`` removes, from any text or
JSON value,

- every provider's API key (``keys``) in every form an echo takes: as is, in any case,
  base64 (standard and URL-safe, at each of the three alignments a prefix such as
  ``Bearer `` or ``user:`` gives it), URL-encoded and JSON-escaped, and any run of
  ``MIN_RUN`` (8) or more consecutive characters of any of those forms (a key one
  character short, or split across two fields);
- every other credential value of the environment (any variable named like a
  credential, and the shared store's URL and password: ``secrets``) whole, in the same
  forms and any case, whichever provider the answer came from;
- every field whose name says it carries a credential (``Authorization``,
  ``api_key``, ``token``...), whatever its value.

Texts are scrubbed whole, before any truncation: a key cut in half cannot be found
any more. ``keep_fields`` then reduces a stored answer to the fields a provider module
lists in ``RESPONSE_FIELDS``.

The matcher is built once per set of secrets (``_Matcher``, cached) and is one compiled
regular expression shaped as a trie over the lower-cased forms: every ``MIN_RUN``-long
piece of a key's forms, and every whole form of the other secrets. Python's ``re`` has
no Aho-Corasick, but on a trie-shaped pattern it branches on one character per level,
so a text is scanned once (about 15 MB/s; an alternation of the same pieces scans
at 0.3 MB/s). A found piece is then grown by hand to the longest run of the form it
belongs to, left and right: that is rare (a leak) and short, so it stays in Python,
where a pattern of every run of every form would be ~n² long and slow to compile.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from renderer import providers
from renderer.execute.stateurl import state_secrets

REDACTED = "[redacted]"
MIN_SECRET = 4  # shorter values would blank out ordinary words
MIN_NAMED = 6  # a credential-named variable's value ("AUTH_MODE=basic" is no key)
MIN_RUN = 8  # this many consecutive characters of a key are a leak
_SECRET_ENV = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH", re.I)
_SECRET_FIELD = re.compile(
    r"^(authorization|proxy[-_]?authorization|cookie|set[-_]?cookie|x[-_]?api[-_]?key|api[-_]?key|apikey|"
    r"access[-_]?token|refresh[-_]?token|id[-_]?token|token|secret|client[-_]?secret|password|passwd|bearer|"
    r"credentials?)$", re.I)
MAX_DEPTH = 32
_CLEAN_TEXTS, _CLEAN_TEXT = 200_000, 4096  # how many clean texts are remembered, and up to what length


def keys_from_env(env: Mapping[str, str]) -> tuple[str, ...]:
    """Every provider's API key the environment holds."""
    found = {v.strip() for v in (env.get(p.ENV_KEY) for p in providers.all_providers()) if isinstance(v, str)}
    return tuple(sorted((k for k in found if len(k) >= MIN_SECRET), key=len, reverse=True))


def secrets_from_env(env: Mapping[str, str], extra: Iterable[str] = ()) -> tuple[str, ...]:
    """Every provider's key and every credential-named variable's value, longest first."""
    found = {v.strip() for k, v in env.items()
             if isinstance(v, str) and _SECRET_ENV.search(k) and len(v.strip()) >= MIN_NAMED}
    found.update(keys_from_env(env))
    found.update(state_secrets(env))  # the shared store's URL and its password
    found.update(x for x in extra if isinstance(x, str))
    return tuple(sorted((s for s in found if len(s) >= MIN_SECRET), key=len, reverse=True))


def is_secret_field(name: Any) -> bool:
    return isinstance(name, str) and bool(_SECRET_FIELD.match(name.strip()))


def encodings(secret: str) -> set[str]:
    """The forms an echo of ``secret`` takes, lower-cased (matching ignores case)."""
    forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret), json.dumps(secret)[1:-1],
             json.dumps(secret, ensure_ascii=False)[1:-1]}
    forms |= {f.replace("/", "\\/") for f in forms}  # JSON writers that escape "/"
    raw = secret.encode("utf-8")
    for align in range(3):  # the key after 0, 1 or 2 bytes of a 3-byte group: the characters it alone decides
        text = base64.b64encode(b"\0" * align + raw).decode("ascii")
        inner = text[-(-8 * align // 6):(8 * (align + len(raw))) // 6]
        forms |= {inner, inner.replace("+", "-").replace("/", "_")}
    return {f.lower() for f in forms if f}


class _Matcher:
    """Finds every form of the secrets (whole) and of the keys (any run of ``MIN_RUN``+) in a text."""

    def __init__(self, keys: tuple[str, ...], secrets: tuple[str, ...]) -> None:
        self.grown: dict[str, list[tuple[str, int]]] = {}  # a piece -> (key form, where it starts in it)
        pieces: set[str] = set()
        for key in keys:
            for form in encodings(key):
                if len(form) < MIN_RUN:
                    pieces.add(form)
                for i in range(len(form) - MIN_RUN + 1):
                    piece = form[i:i + MIN_RUN]
                    pieces.add(piece)
                    self.grown.setdefault(piece, []).append((form, i))
        for secret in secrets:
            pieces |= encodings(secret)
        self.shortest = min(map(len, pieces), default=0)  # a text shorter holds nothing to find
        self.search = re.compile(_trie_pattern(pieces)).search if pieces else None
        # texts found clean already: a manifest written again and again holds mostly the same ones
        self.clean: set[str] = set()

    def spans(self, text: str) -> list[tuple[int, int]]:
        if self.search is None or len(text) < self.shortest or text in self.clean:
            return []
        low = text.lower()
        if len(low) != len(text):  # a few characters lower-case to two ("İ"): keep those as they are
            low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
        out: list[tuple[int, int]] = []
        pos = 0
        while (m := self.search(low, pos)) is not None:
            start, end = m.span()
            for form, at in self.grown.get(low[start:start + MIN_RUN], ()):
                start, end = min(start, _left(low, m.start(), form, at)), max(end, _right(low, m.start(), form, at))
            if out and start <= out[-1][1]:
                start = out[-1][0]
                out.pop()
            out.append((start, end))
            pos = end
        if not out and len(text) <= _CLEAN_TEXT:
            if len(self.clean) >= _CLEAN_TEXTS:
                self.clean.clear()
            self.clean.add(text)
        return out


def _left(low: str, start: int, form: str, at: int) -> int:
    """Where the run of ``form`` through ``low[start:]`` (``form[at:]`` there) begins."""
    while start > 0 and at > 0 and low[start - 1] == form[at - 1]:
        start, at = start - 1, at - 1
    return start


def _right(low: str, start: int, form: str, at: int) -> int:
    end, k = start, at
    while end < len(low) and k < len(form) and low[end] == form[k]:
        end, k = end + 1, k + 1
    return end


def _trie_pattern(pieces: Iterable[str]) -> str:
    """One pattern matching the longest of ``pieces`` at a position, shaped as their trie."""
    trie: dict[str, Any] = {}
    for piece in pieces:
        node = trie
        for ch in piece:
            node = node.setdefault(ch, {})
        node[""] = {}  # a piece ends here

    def emit(node: dict[str, Any]) -> str:
        branches = [re.escape(ch) + emit(sub) for ch, sub in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = "(?:" + "|".join(branches) + ")" if len(branches) > 1 or "" in node else branches[0]
        return body + "?" if "" in node else body

    return emit(trie)


@functools.lru_cache(maxsize=16)
def _matcher(keys: tuple[str, ...], secrets: tuple[str, ...]) -> _Matcher:
    return _Matcher(keys, secrets)


class Scrubber:
    """Removes ``keys`` (every form, any run of 8+), ``secrets`` (every form, whole) and credential-named
    fields from texts and JSON values."""

    def __init__(self, secrets: Iterable[str] = (), keys: Iterable[str] = ()) -> None:
        self.keys = tuple(sorted({k for k in keys if isinstance(k, str) and len(k) >= MIN_SECRET}))
        self.secrets = tuple(sorted({s for s in (*secrets, *self.keys) if isinstance(s, str) and len(s) >= MIN_SECRET},
                                    key=len, reverse=True))
        others = tuple(sorted(set(self.secrets) - set(self.keys)))
        self._matcher = _matcher(self.keys, others)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Scrubber:
        """Every key of the environment, whoever it is sent to, and every credential-named value."""
        return cls(secrets_from_env(env), keys_from_env(env))

    def with_key(self, key: str) -> Scrubber:
        """This scrubber, also removing ``key`` (a provider client's own), built only if it is new."""
        return self if key in self.keys or len(key) < MIN_SECRET else Scrubber(self.secrets, (*self.keys, key))

    def text(self, value: str) -> str:
        spans = self._matcher.spans(value)
        if not spans:
            return value
        parts: list[str] = []
        last = 0
        for start, end in spans:
            parts += [value[last:start], REDACTED]
            last = end
        parts.append(value[last:])
        return "".join(parts)

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
