"""`renderer account set NAME --max-credits N [--period month]` and `renderer account show [NAME]`.

An account budget is shared by every campaign that names it (``budget.account``):
kept in the shared store (``RENDERER_STATE`` / ``--state``), else in the local
``accounts.sqlite`` under ``--state-dir`` (campaigns run on this machine with that
state directory). See ``renderer.execute.account``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TextIO

from renderer.errors import UsageError
from renderer.execute.account import PERIODS, Accounts
from renderer.execute.records import now_iso
from renderer.execute.stores import account_book, state_url

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")  # as budget.account in the campaign schema
DEFAULT_STATE_DIR = ".renderer"


def account_set(name: str, out: TextIO, env: Mapping[str, str], *, max_credits: float, period: str | None = None,
                state_dir: str | None = None) -> int:
    """Set (or change) an account's cap. Exit 2 for a bad name, figure or period."""
    if not NAME.match(name):
        raise UsageError(f"renderer account set: {name!r} is not an account name (letters, digits, '.', '_', '-', "
                         "starting with a letter or digit; as budget.account)")
    if not 0 <= max_credits <= 2**53:  # NaN too: it compares with nothing
        raise UsageError(f"renderer account set: --max-credits must be a number from 0 to 2^53, not {max_credits:g}")
    if period is not None and period not in PERIODS:
        raise UsageError(f"renderer account set: --period must be one of {', '.join(PERIODS)}, not {period!r}")
    book = _book(env, state_dir, create=True)
    assert book is not None
    try:
        book.set(name, int(max_credits) if float(max_credits).is_integer() else max_credits, period, now_iso())
        status = book.status(name)[0]
    finally:
        book.close()
    out.write(f"{status.line()} [{book.label}]\n")
    return 0


def account_show(name: str | None, out: TextIO, env: Mapping[str, str], *, as_json: bool = False,
                 state_dir: str | None = None) -> int:
    """Every account (or one): its cap, period, spent, held and what is left. Exit 1 for an
    account that is not set."""
    book = _book(env, state_dir, create=False)
    found = []
    if book is not None:
        try:
            found = book.status(name)
        finally:
            book.close()
    url = state_url(env)
    where = url.label if url is not None else state_dir or DEFAULT_STATE_DIR
    if as_json:
        out.write(json.dumps({"store": where, "accounts": [s.as_json() for s in found]}, indent=2, sort_keys=True) + "\n")
    elif not found:
        out.write(f"no account{' ' + repr(name) if name else 's'} in {where}: "
                  "`renderer account set NAME --max-credits N` sets one\n")
    for s in [] if as_json else found:
        out.write(s.line() + "\n")
    return 1 if name is not None and not found else 0


def _book(env: Mapping[str, str], state_dir: str | None, *, create: bool) -> Accounts | None:
    return account_book(env, state_dir or DEFAULT_STATE_DIR, create=create)
