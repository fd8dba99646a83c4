"""The shared store's schema: forward migrations on first use, safe when two runners start at once."""

from __future__ import annotations

import contextlib

import psycopg
import pytest
from helpers.stores import all_at_once, child, open_store

from renderer.errors import StateError
from renderer.execute import pgconn, pgschema
from renderer.execute.stateurl import parse_url

FIRST_USE = """
print("ready", flush=True)
sys.stdin.readline()
from renderer.execute.pgstore import PgJournal
from renderer.execute.stateurl import parse_url
PgJournal(parse_url(sys.argv[-1]), "camp\\ncampaigns/camp.yaml", "camp").close()
print("opened", flush=True)
"""


def versions(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT version FROM renderer.schema_version ORDER BY version")]


def test_two_runners_on_a_new_database_migrate_it_once(pg_empty_url: str, tmp_path) -> None:
    # the prelude of `child` opens a store of its own: give it a SQLite one, the code opens the shared one
    procs = [child("sqlite", str(tmp_path / f"{n}.sqlite"), FIRST_USE.replace("sys.argv[-1]", repr(pg_empty_url)))
             for n in range(3)]
    all_at_once(procs, "opened")
    assert versions(pg_empty_url) == [m[0] for m in pgschema.MIGRATIONS]
    with psycopg.connect(pg_empty_url) as conn:
        assert conn.execute("SELECT COUNT(*) FROM renderer.campaigns").fetchone() == (1,)


def test_migrations_run_forward_only_and_a_newer_store_is_refused(pg_empty_url: str) -> None:
    url = parse_url(pg_empty_url)
    n = pgschema.MIGRATIONS[-1][0]  # this renderer's newest
    with contextlib.closing(pgconn.connect(url)) as conn:
        assert pgschema.migrate(conn, url.label) == n
        later = (*pgschema.MIGRATIONS,
                 (n + 1, "CREATE TABLE renderer.later (name text PRIMARY KEY, max_credits double precision)"),
                 (n + 2, "ALTER TABLE renderer.later ADD COLUMN period text"))
        assert pgschema.migrate(conn, url.label, later) == n + 2  # only the two new ran: the others would fail
        assert pgschema.migrate(conn, url.label, later) == n + 2
        conn.execute("INSERT INTO renderer.later VALUES ('marketing', 1000, 'month')")
        with pytest.raises(StateError) as info:  # this renderer knows only up to n
            pgschema.migrate(conn, url.label)
    message = str(info.value)
    assert message.startswith(f"{url.label}: the store's schema is at version {n + 2}, newer than this renderer "
                              f"knows ({n})")
    assert versions(pg_empty_url) == [*range(1, n + 3)]


def test_a_store_of_a_newer_renderer_is_refused_before_anything_is_written(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO renderer.schema_version (version) VALUES (99)")
    with pytest.raises(StateError, match="newer than this renderer knows"):
        open_store("postgresql", pg_url)
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT COUNT(*) FROM renderer.campaigns").fetchone() == (0,)


def test_without_postgresql_its_tests_skip_and_say_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from helpers import pgserver

    monkeypatch.setattr(pgserver.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(pgserver.shutil, "which", lambda name: None)
    with pytest.raises(pytest.skip.Exception, match=r"apt-get install -y postgresql"):
        pgserver.start()
