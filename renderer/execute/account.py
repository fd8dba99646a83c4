"""Account budgets: one cap shared by every campaign (and every runner) that names it.

A campaign opts in with ``budget.account: NAME``; the cap is kept in the store
(``renderer account set NAME --max-credits N [--period month]``): the shared
PostgreSQL store when ``RENDERER_STATE`` is set (every machine), else the local
``accounts.sqlite`` under the state directory (every campaign run on this machine).

The book keeps one *line* per submission that spends from the account (owner: the
campaign's journal key; key: the submission's Idempotency-Key, known before its
intent), and per account and period a running total of its lines (``committed``:
charged, plus held for what may still be charged). A submission is admitted right
before its POST with one conditional write, atomic across processes::

    UPDATE totals SET committed = committed + hold
    WHERE committed + hold <= max_credits

(PostgreSQL takes the row's lock and checks again after a concurrent admission
commits; SQLite runs it in a ``BEGIN IMMEDIATE`` transaction). The hold is the one
the campaign budget uses (estimate max x the family's learned factor); every later
transition moves the line to what the campaign budget's ledger counts for it (its
charge once said, never below its hold until it finishes), and the total with it.
In PostgreSQL the admission and the intent row commit in one transaction
(``atomic``); with SQLite the line is written first, so a crash between them leaves
a hold too many, never one too few, and the campaign's next run drops it (``sync``).

``--period month``: lines count in the calendar month (UTC) of their admission; a
new month starts at 0. Without a period the cap is for all time.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

from renderer.errors import StateError, UsageError
from renderer.execute import records as J
from renderer.text import credits as credits_text

EPSILON = 1e-6
PERIODS = ("month",)
LOCAL_FILE = "accounts.sqlite"

# shipped as the shared store's migration 3 (pgschema): never edit, add a migration
SCHEMA = """
CREATE TABLE IF NOT EXISTS {t}accounts (
    name        text PRIMARY KEY,
    max_credits double precision NOT NULL,
    period      text,                        -- NULL: all time; 'month': calendar months (UTC)
    updated_at  text NOT NULL
);
CREATE TABLE IF NOT EXISTS {t}account_totals (  -- the sum of an account's lines in a period, kept as they change
    account     text NOT NULL,
    period_key  text NOT NULL,               -- '' (all time) or 'YYYY-MM'
    committed   double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (account, period_key)
);
CREATE TABLE IF NOT EXISTS {t}account_lines (   -- one per submission spending from an account
    account     text NOT NULL,
    owner       text NOT NULL,               -- the campaign's journal key
    key         text NOT NULL,               -- the submission's Idempotency-Key
    period_key  text NOT NULL,
    amount      double precision NOT NULL,   -- charged, or held while it may still be charged
    final       integer NOT NULL DEFAULT 0,  -- 1: the job finished, its amount is what it cost
    PRIMARY KEY (account, owner, key)
);
"""


def period_key(period: str | None, now: datetime | None = None) -> str:
    if period is None:
        return ""
    now = now or datetime.now(timezone.utc)
    return f"{now.year:04d}-{now.month:02d}"


@dataclass(frozen=True, slots=True)
class AccountStatus:
    """An account's cap and what its current period holds."""

    name: str
    max_credits: float
    period: str | None
    period_key: str
    committed: float  # spent + held
    spent: float  # charged by finished jobs (or held for good: a charge never said)
    campaigns: int  # campaigns with a line in the period

    @property
    def held(self) -> float:
        return max(0.0, self.committed - self.spent)

    @property
    def remaining(self) -> float:
        return max(0.0, self.max_credits - self.committed)

    def when(self) -> str:
        return f" this month ({self.period_key})" if self.period else ""

    def line(self) -> str:
        return (f"account {self.name}: {credits_text(self.remaining)} of {credits_text(self.max_credits)} credits "
                f"left{self.when()} (spent {credits_text(self.spent)}, held {credits_text(self.held)}, "
                f"{self.campaigns} campaign(s))")

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "max_credits": _tidy(self.max_credits), "period": self.period,
                "period_key": self.period_key or None, "spent": _tidy(self.spent), "held": _tidy(self.held),
                "remaining": _tidy(self.remaining), "campaigns": self.campaigns}


def _tidy(x: float) -> float:
    return int(x) if float(x).is_integer() else x


class Dialect(Protocol):
    """Where the book lives: SQL with ``?`` placeholders and ``{t}`` before table names."""

    label: str
    joint: bool  # its transactions can hold the journal's intent too (the shared store's connection)

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]: ...
    def transaction(self) -> contextlib.AbstractContextManager[None]: ...
    def close(self) -> None: ...


class SqliteDialect:
    """The local book: ``accounts.sqlite`` under the state directory (one machine's campaigns)."""

    joint = False  # another file than the journal's: the line commits first, then the intent

    def __init__(self, path: Path) -> None:
        self.label = str(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA.format(t=""))
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"{self.label}: cannot open the accounts book ({exc})") from None

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        try:
            return [dict(r) for r in self._db.execute(sql.format(t=""), params).fetchall()]
        except sqlite3.Error as exc:
            raise StateError(f"{self.label}: the accounts book refused a write ({exc})") from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        if self._db.in_transaction:
            yield
            return
        self.query("BEGIN IMMEDIATE")  # the write lock first: no other runner admits in between
        try:
            yield
        except BaseException:
            self._db.rollback()
            raise
        self.query("COMMIT")

    def close(self) -> None:
        self._db.close()


class Accounts:
    """The accounts of one store: what ``renderer account`` sets and shows, and what runs admit against."""

    def __init__(self, db: Dialect) -> None:
        self.db = db
        self.label = db.label

    def close(self) -> None:
        self.db.close()

    # -- renderer account -------------------------------------------------------------

    def set(self, name: str, max_credits: float, period: str | None, at: str) -> None:
        self.db.query("INSERT INTO {t}accounts (name, max_credits, period, updated_at) VALUES (?, ?, ?, ?)"
                      " ON CONFLICT (name) DO UPDATE SET max_credits = excluded.max_credits,"
                      " period = excluded.period, updated_at = excluded.updated_at", (name, max_credits, period, at))

    def status(self, name: str | None = None, now: datetime | None = None) -> list[AccountStatus]:
        rows = self.db.query("SELECT name, max_credits, period FROM {t}accounts"
                             + (" WHERE name = ?" if name is not None else "") + " ORDER BY name",
                             (name,) if name is not None else ())
        out = []
        for r in rows:
            key = period_key(r["period"], now)
            total = self.db.query("SELECT committed FROM {t}account_totals WHERE account = ? AND period_key = ?",
                                  (r["name"], key))
            lines = self.db.query("SELECT COALESCE(SUM(CASE WHEN final = 1 THEN amount END), 0) AS spent,"
                                  " COUNT(DISTINCT owner) AS n FROM {t}account_lines WHERE account = ? AND period_key = ?",
                                  (r["name"], key))[0]
            out.append(AccountStatus(r["name"], float(r["max_credits"]), r["period"], key,
                                     float(total[0]["committed"]) if total else 0.0, float(lines["spent"]),
                                     int(lines["n"])))
        return out

    # -- a run --------------------------------------------------------------------------

    def lines(self, account: str, owner: str) -> dict[str, tuple[str, float, bool]]:
        rows = self.db.query("SELECT key, period_key, amount, final FROM {t}account_lines"
                             " WHERE account = ? AND owner = ?", (account, owner))
        return {r["key"]: (r["period_key"], float(r["amount"]), bool(r["final"])) for r in rows}

    def admit(self, account: str, owner: str, key: str, period: str, delta: float, amount: float) -> bool:
        """The line ``key`` at ``amount`` (``delta`` more than it was) if the period's total
        still fits the cap; one conditional write, in a transaction with the line."""
        with self.db.transaction():
            self.db.query("INSERT INTO {t}account_totals (account, period_key, committed) VALUES (?, ?, 0)"
                          " ON CONFLICT (account, period_key) DO NOTHING", (account, period))
            got = self.db.query(
                "UPDATE {t}account_totals SET committed = committed + ? WHERE account = ? AND period_key = ?"
                " AND committed + ? <= (SELECT max_credits FROM {t}accounts WHERE name = ?) + ? RETURNING committed",
                (delta, account, period, delta, account, EPSILON))
            if not got:
                return False
            self._line(account, owner, key, period, amount, False)
        return True

    def move(self, account: str, owner: str, key: str, period: str, delta: float, amount: float, final: bool) -> None:
        """A line's new amount (what the API said, or a hold released): never refused."""
        with self.db.transaction():
            self.db.query("UPDATE {t}account_totals SET committed = committed + ? WHERE account = ? AND period_key = ?",
                          (delta, account, period))
            self._line(account, owner, key, period, amount, final)

    def _line(self, account: str, owner: str, key: str, period: str, amount: float, final: bool) -> None:
        self.db.query("INSERT INTO {t}account_lines (account, owner, key, period_key, amount, final)"
                      " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account, owner, key) DO UPDATE SET"
                      " amount = excluded.amount, final = excluded.final", (account, owner, key, period, amount,
                                                                             int(final)))

    def atomic(self) -> contextlib.AbstractContextManager[None]:
        """Where an admission and the intent it admits commit together, when they can."""
        return self.db.transaction() if self.db.joint else contextlib.nullcontext()


def unknown_account(name: str, label: str) -> UsageError:
    return UsageError(f"budget.account {name!r} is not set in {label}: set its cap first with "
                      f"`renderer account set {name} --max-credits N`")


class AccountGate:
    """One run's side of an account: its lines (this campaign's), admission, and what it says."""

    def __init__(self, book: Accounts, account: str, owner: str, now: datetime | None = None) -> None:
        found = book.status(account, now)
        if not found:
            raise unknown_account(account, book.label)
        self.book, self.account, self.owner = book, account, owner
        self.status = found[0]
        self.period = self.status.period_key
        self.mine = book.lines(account, owner)  # key -> (period, amount, final): this campaign's, kept in step
        self.refused: dict[str, str] = {}  # instance id -> why
        self.held_back = 0.0
        # why no new POST may go at all (the jobs to send cannot fit what is left): the run
        # still polls and settles what earlier runs sent (``spending.open_account``)
        self.closed: str | None = None

    def sync(self, amounts: Mapping[str, tuple[float, bool]]) -> None:
        """At the start of a run: each of this campaign's lines at what the journal says it
        counts for now (``amounts``: by Idempotency-Key); a line whose intent never reached the
        journal (a crash between the two) is released."""
        for key, (period, old, final) in list(self.mine.items()):
            amount, done = amounts.get(key, (0.0, True))
            if abs(amount - old) > EPSILON or done != final:
                self.book.move(self.account, self.owner, key, period, amount - old, amount, done)
                self.mine[key] = (period, amount, done)

    def admit(self, iid: str, key: str, hold: float | None) -> str | None:
        """None when the account takes ``hold`` for this POST (its line is written), else why not."""
        if self.closed is not None:
            reason = self.closed
            self.held_back += hold or 0.0
        elif hold is None:
            reason = (f"its price is unknown and the campaign spends from account {self.account}; "
                      "add the price under `pricing`")
        else:
            period, old, _ = self.mine.get(key, (self.period, 0.0, False))
            if self.book.admit(self.account, self.owner, key, period, hold - old, hold):
                self.mine[key] = (period, hold, False)
                self.refused.pop(iid, None)
                return None
            now = self.book.status(self.account)
            left = now[0].remaining if now else 0.0
            reason = (f"it may cost {credits_text(hold)} credits and account {self.account} has "
                      f"{credits_text(left)} of its {credits_text(self.status.max_credits)} left{self.status.when()} "
                      "(every campaign that spends from it counts)")
            self.held_back += hold
        self.refused[iid] = reason
        return reason

    def track(self, key: str, amount: float, finished: bool) -> None:
        """A transition of a submission with a line: the line (and the total) follow the ledger."""
        found = self.mine.get(key)
        if found is None:
            return  # not admitted under the account (adopted, or sent before it was named)
        period, old, final = found
        if abs(amount - old) > EPSILON or finished != final:
            self.book.move(self.account, self.owner, key, period, amount - old, amount, finished)
            self.mine[key] = (period, amount, finished)

    def lines_said(self) -> list[str]:
        """What a run says about the account at its end."""
        out = []
        if self.refused:
            iid, why = next(iter(sorted(self.refused.items())))
            out.append(f"account {self.account}: held back {len(self.refused):,} job(s) that may cost "
                       f"{credits_text(self.held_back)} credits: {iid}: {why}")
        now = self.book.status(self.account)
        if now:
            out.append(now[0].line())
        return out


def finished(sub: J.Submission) -> bool:
    return sub.state not in J.SPENDING or sub.state in J.FINISHED


def local_book(state_dir: str | Path) -> Accounts:
    return Accounts(SqliteDialect(Path(state_dir) / LOCAL_FILE))


def check_fits(status: AccountStatus, new_max: float) -> str | None:
    """Why a plan that may spend ``new_max`` more cannot fit the account (None: it fits):
    ``plan`` fails with it, and ``run`` before it sends anything."""
    if new_max <= 0 or new_max <= status.remaining + EPSILON:
        return None
    return (f"over budget: the plan may spend up to {credits_text(new_max)} credits; account {status.name} has "
            f"{credits_text(status.remaining)} of its {credits_text(status.max_credits)} left{status.when()} "
            f"(spent {credits_text(status.spent)}, held {credits_text(status.held)} by every campaign that spends "
            "from it)")


def open_gate(book: Accounts, account: str, owner: str, ledger: Mapping[int, float],
              subs: Mapping[int, J.Submission]) -> AccountGate:
    """A run's gate, its lines brought in step with the journal (``ledger``: what the campaign
    budget counts each submission for; ``subs``: their latest states)."""
    gate = AccountGate(book, account, owner)
    gate.sync({sub.idempotency_key: (ledger.get(sid, 0.0), finished(sub)) for sid, sub in subs.items()})
    gate.status = book.status(account)[0]
    return gate


def account_atomic(gate: AccountGate | None) -> contextlib.AbstractContextManager[None]:
    """Where the account's admission and the intent it admits commit together (one transaction in
    the shared store; the local book's line is committed first)."""
    return gate.book.atomic() if gate is not None else contextlib.nullcontext()
