"""Fixtures for every test folder: a real PostgreSQL server, started once per session
(tests/helpers/pgserver.py), and a guard: tests never read or write the checkout's own run state.

A newcomer runs the Quickstart's first command (a rehearsal in ``campaigns/`` and
``.renderer/``) and then the suite in the same clone: what the rehearsal left there must
not change what a test sees, and no test may leave anything there. Tests copy what they
need into a temporary folder; the guard fails the session if the checkout's
``campaigns/`` or ``.renderer/`` changed while it ran.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.pgserver import pg_db, pg_empty_url, pg_server, pg_url  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[1]
WATCHED = (ROOT / "campaigns", ROOT / ".renderer")


def _snapshot() -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    for folder in WATCHED:
        for path in folder.rglob("*") if folder.is_dir() else ():
            if path.is_file():
                st = path.stat()
                found[str(path.relative_to(ROOT))] = (st.st_size, st.st_mtime_ns)
    return found


@pytest.fixture(scope="session", autouse=True)
def the_checkouts_run_state_is_left_alone() -> Iterator[None]:
    before = _snapshot()
    yield
    after = _snapshot()
    changed = sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
    assert not changed, f"tests changed the checkout's run state (copy what a test needs to tmp_path): {changed}"
