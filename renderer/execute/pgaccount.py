"""Account budgets in the shared PostgreSQL store: the ``renderer.execute.account`` book over psycopg.

The tables are migration 3 (``pgschema``). Statements run on the connection they are
given: a run's book shares its journal's connection, so that an admission and the
intent row it admits commit in one transaction (``Accounts.atomic``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from renderer.execute import pgconn, pgschema
from renderer.execute.account import Accounts
from renderer.execute.stateurl import StateUrl


class PgDialect:
    joint = True

    def __init__(self, conn: pgconn.Connection, url: StateUrl, *, owned: bool = False) -> None:
        self.conn, self.url, self.label, self._owned = conn, url, url.label, owned

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with pgconn.translated(self.url):
            cur = self.conn.execute(sql.format(t="renderer.").replace("?", "%s"), params)
            return list(cur.fetchall()) if cur.description is not None else []

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with pgconn.translated(self.url), self.conn.transaction():
            yield

    def close(self) -> None:
        if self._owned:
            self.conn.close()


def shared_accounts(url: StateUrl) -> Accounts:
    """The store's accounts on a connection of their own (``renderer account``, ``status --all``, ``plan``)."""
    conn = pgconn.connect(url)
    try:
        with pgconn.translated(url, opening=True):
            pgschema.migrate(conn, url.label)
    except BaseException:
        conn.close()
        raise
    return Accounts(PgDialect(conn, url, owned=True))
