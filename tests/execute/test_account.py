"""The account book (``renderer.execute.account``) in both stores: the local ``accounts.sqlite`` and
the shared PostgreSQL store: admission within the cap, lines that follow the charges, periods."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from renderer.execute.account import Accounts, local_book
from renderer.execute.pgaccount import shared_accounts
from renderer.execute.stateurl import parse_url


@pytest.fixture(params=["sqlite", "postgresql"])
def book(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Accounts]:
    if request.param == "sqlite":
        b = local_book(tmp_path)
    else:
        b = shared_accounts(parse_url(request.getfixturevalue("pg_url")))
    yield b
    b.close()


def test_the_book_admits_within_the_cap_and_lines_follow_the_charges(book: Accounts) -> None:
    book.set("team", 120, None, "t")
    assert book.admit("team", "camp-a", "k1", "", 50, 50)
    assert book.admit("team", "camp-b", "k2", "", 50, 50)
    assert not book.admit("team", "camp-a", "k3", "", 50, 50)  # 150 > 120: refused, nothing written
    assert book.lines("team", "camp-a") == {"k1": ("", 50.0, False)}
    book.move("team", "camp-a", "k1", "", -20, 30, True)  # finished, charged 30: 20 released
    assert book.admit("team", "camp-a", "k3", "", 40, 40)  # 30 + 50 + 40 = 120: exactly the cap
    [s] = book.status("team")
    assert (s.committed, s.spent, s.held, s.remaining, s.campaigns) == (120, 30, 90, 0, 2)
    assert book.status("nobody") == []


def test_a_monthly_account_counts_this_month_only(book: Accounts) -> None:
    book.set("team", 100, "month", "t")
    assert book.admit("team", "c", "old", "2020-01", 100, 100)  # last period: full
    [s] = book.status("team")
    assert s.period_key != "2020-01" and (s.committed, s.remaining) == (0, 100)
    assert book.admit("team", "c", "new", s.period_key, 100, 100)
