"""The shared store's URL (``RENDERER_STATE``, or ``--state URL``): a secret like an API key.

It may carry a password, so it is never printed, stored or echoed: messages name the
store by ``StateUrl.label`` (``postgresql://user@host:5432/db``: no password, no
query parameter that could hold one), and ``state_secrets`` hands the URL and its
password to the scrubber with the environment's keys. Kept apart from the stores
themselves so that the scrubber can use it without importing a database driver.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from renderer.errors import UsageError

STATE_ENV = "RENDERER_STATE"
SCHEMES = ("postgresql", "postgres")
DEFAULT_PORT = 5432
# query parameters a label may show: none of them is a credential
_SHOWN = ("host", "hostaddr", "port", "dbname", "user", "sslmode", "target_session_attrs")
_SECRET_QUERY = ("password", "sslpassword")


@dataclass(frozen=True, slots=True)
class StateUrl:
    """A shared store's URL: ``url`` to connect (secret), ``label`` to name it in messages."""

    url: str = field(repr=False)
    label: str
    secrets: tuple[str, ...] = field(repr=False, default=())


def parse_url(text: str) -> StateUrl:
    """``text`` as a store URL; a usage error (naming the scheme only, never the URL) if it is none."""
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme not in SCHEMES:
        shown = f"a {scheme!r} URL" if scheme and re.fullmatch(r"[a-z][a-z0-9+.-]{0,20}", scheme) else "no URL"
        raise UsageError(f"{STATE_ENV} (or --state) must be a postgresql:// URL, and it is {shown}; "
                         "leave it unset to keep the journal in SQLite under --state-dir")
    parts = urlsplit(text)
    userinfo, _, hosts = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    if hosts and "," not in hosts and not re.search(r":\d+$", hosts):
        hosts += f":{DEFAULT_PORT}"
    query = parse_qsl(parts.query, keep_blank_values=True)
    shown = "&".join(f"{k}={v}" for k, v in query if k in _SHOWN)
    label = f"postgresql://{unquote(user) + '@' if user else ''}{hosts}{parts.path}" + (f"?{shown}" if shown else "")
    secrets = {text, password, unquote(password)}
    secrets.update(v for k, v in query if k in _SECRET_QUERY)
    return StateUrl(text, label, tuple(sorted((s for s in secrets if s), key=len, reverse=True)))


def state_url(env: Mapping[str, str]) -> StateUrl | None:
    """The shared store the environment names, or None (SQLite under --state-dir)."""
    text = (env.get(STATE_ENV) or "").strip()
    return parse_url(text) if text else None


def state_secrets(env: Mapping[str, str]) -> tuple[str, ...]:
    """The store's URL and its password, for the scrubber: never shown, never stored."""
    text = (env.get(STATE_ENV) or "").strip()
    if not text:
        return ()
    try:
        return parse_url(text).secrets
    except UsageError:
        return (text,)
