"""psycopg, wrapped in one place: connecting to a shared store, and its errors as ``StateError``s.

Every psycopg call of the store runs inside ``translated``: a refused write, a lost
connection, a server that is down or a login refused becomes a ``StateError`` that
names the store by its label (``postgresql://user@host:5432/db``, no password) and
says the way out. Integrity and programming errors are ours (a bug), and pass.
No message of the server reaches a user before the URL and its password are
scrubbed from it (``StateUrl.secrets``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg.rows import dict_row

from renderer.errors import StateError
from renderer.execute.stateurl import STATE_ENV, StateUrl

Connection = psycopg.Connection[dict[str, Any]]
IntegrityError = psycopg.IntegrityError  # our bug, not the store's: never translated
CONNECT_TIMEOUT = 10  # seconds; the URL's own connect_timeout wins


def connect(url: StateUrl, *, durable: bool = True) -> Connection:
    """An autocommit connection: every statement is its own transaction (a transition).

    ``durable``: each commit returns once the server has flushed it (``synchronous_commit``
    on, whatever the server's default); off only where a run asks (``durable_intents``)."""
    with translated(url, opening=True):
        try:
            params = psycopg.conninfo.conninfo_to_dict(url.url)
        except psycopg.ProgrammingError:
            raise StateError(f"{url.label}: not a valid PostgreSQL URL (check {STATE_ENV} or --state)") from None
        kwargs: dict[str, Any] = {} if "connect_timeout" in params else {"connect_timeout": CONNECT_TIMEOUT}
        conn = psycopg.connect(url.url, autocommit=True, row_factory=dict_row, application_name="renderer", **kwargs)
        conn.execute(f"SET synchronous_commit = {'on' if durable else 'off'}")
        return conn


@contextlib.contextmanager
def translated(url: StateUrl, *, opening: bool = False) -> Iterator[None]:
    try:
        yield
    except (StateError, psycopg.IntegrityError, psycopg.ProgrammingError, psycopg.InterfaceError):
        raise  # ours, or our bug
    except psycopg.Error as exc:
        raise StateError(describe(url, exc, opening=opening)) from None


def broken(conn: Connection) -> bool:
    """The connection is gone (closed, cut, terminated): the session's lock went with it."""
    return bool(conn.closed or conn.broken)


def _scrubbed(url: StateUrl, text: str) -> str:
    for secret in url.secrets:
        text = text.replace(secret, "[redacted]")
    return " ".join(text.split())


def describe(url: StateUrl, exc: psycopg.Error, *, opening: bool = False) -> str:
    """What went wrong with the store, naming it without its password, and the way out."""
    text = _scrubbed(url, str(exc) or type(exc).__name__)
    state = getattr(exc, "sqlstate", None) or ""
    low = text.lower()
    if state in ("28P01", "28000") or "authentication failed" in low or (opening and "password" in low):
        return f"{url.label}: the store refused the login ({text}); check the user and password in {STATE_ENV}"
    if state == "25006" or "read-only" in low or "read only" in low:
        return (f"{url.label}: the store refused a write: it is read-only ({text}); point {STATE_ENV} at a writable "
                "primary: what the API accepted is in the manifest, and the next run adopts it")
    if state == "53100" or "disk full" in low or "no space left" in low:
        return f"{url.label}: the store's disk is full ({text}); what the API accepted is in the manifest"
    if state == "3D000":
        return f"{url.label}: the store's database does not exist ({text}); create it, or fix {STATE_ENV}"
    if opening:
        return (f"{url.label}: cannot reach the shared store ({text}); check {STATE_ENV} (or --state) and that the "
                "server is up: nothing was sent")
    if state.startswith(("08", "57")) or isinstance(exc, psycopg.OperationalError):
        return (f"{url.label}: the connection to the shared store was lost ({text}); the run stops here and its "
                "lock is released: run again to resume (what the API accepted is in the manifest)")
    return f"{url.label}: the store failed ({type(exc).__name__}: {text})"
