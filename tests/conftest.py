"""Fixtures for every test folder: a real PostgreSQL server, started once per session (tests/pgserver.py)."""

from pgserver import pg_db, pg_empty_url, pg_server, pg_url  # noqa: F401  (fixtures)
