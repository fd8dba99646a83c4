"""Which journal store a command uses, and opening it.

``RENDERER_STATE`` (or ``--state URL``, which the CLI puts there) names a shared
PostgreSQL store: ``postgresql://user:password@host:5432/db``. Without it, the
journal is a SQLite file under ``--state-dir`` (``renderer.execute.sqlitestore``).

The URL is a secret like an API key (``renderer.execute.stateurl``): never printed
or stored, named in messages by its label, scrubbed with the environment's keys.

With a shared store the run's lock is the store's (``renderer.execute.pgstore``):
one run of a campaign at a time across every machine that shares it. It replaces
the lock beside ``.git`` and the SQLite journal's own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from renderer import targets as T
from renderer.campaign.campaign import load_campaign
from renderer.errors import StateError, UsageError
from renderer.execute.account import Accounts
from renderer.execute import statedir
from renderer.execute.identity import journal_key, journal_path
from renderer.execute.sqlitestore import SqliteJournal
from renderer.execute.stateurl import STATE_ENV, StateUrl, state_url
from renderer.execute.store import JournalStore
from renderer.manifest import Manifest
from renderer.manifest import default_path as default_manifest_path

if TYPE_CHECKING:
    from renderer.execute.ratewindow import SharedRates

def _pg() -> type:
    from renderer.execute.pgstore import PgJournal  # psycopg is imported only when a store is named

    return PgJournal


@contextlib.contextmanager
def run_store(file: str, name: str, manifest_path: Path, state_dir: str, env: Mapping[str, str], *,
              durable_intents: bool = True, after_commit: Callable[[int], None] | None = None,
              sandbox: bool = False, target: str = "", default_target: str = "",
              previous: Manifest | None = None, resubmit_unknown: bool = False, moved: Path | None = None,
              ) -> Iterator[tuple[JournalStore, list[str]]]:
    """The campaign's journal for ``target`` (``renderer.targets.key``: the journal is keyed by
    where the run goes, ``identity.journal_key``) with this run's lock held, and what is worth
    saying about it. ``default_target``: the providers' default base URLs, whose journal a
    SQLite journal written before targets were recorded is (unless it shows the sandbox's work).

    ``sandbox``: a rehearsal keeps its state under ``state_dir`` even with a shared store:
    it never changes the record every runner shares. ``previous``, ``resubmit_unknown``,
    ``moved``: what a lost or moved SQLite journal needs (``durable.open_sqlite_journal``)."""
    url = state_url(env)
    notes = []
    if url is not None and sandbox:
        notes.append(f"--sandbox keeps its run state under {state_dir}, not in the shared store {url.label}: "
                     "a rehearsal never changes the shared record")
        url = None
    if url is None:
        from renderer.execute.durable import RepositoryLock, open_sqlite_journal

        lock = RepositoryLock(file, name, sandbox)  # one run (and one rehearsal) of a campaign per repository
        lock.acquire()
        try:
            journal, more = open_sqlite_journal(state_dir, file, name, manifest_path, durable_intents=durable_intents,
                                                after_commit=after_commit, env=env, target=target,
                                                default_target=default_target, previous=previous,
                                                resubmit_unknown=resubmit_unknown, moved=moved)
            try:
                yield journal, _locked(journal, notes + more)
            finally:
                journal.close()
        finally:
            lock.release()
        return
    store = _pg()(url, journal_key(file, name, manifest_path, target), name, durable_intents=durable_intents,
                  after_commit=after_commit)
    try:
        yield store, _locked(store, [])
    finally:
        store.close()


def without_store(env: Mapping[str, str]) -> dict[str, str]:
    """The environment of a rehearsal (``--sandbox``): its state stays local, whatever RENDERER_STATE says."""
    return {k: v for k, v in env.items() if k != STATE_ENV}


def _locked(store: JournalStore, notes: list[str]) -> list[str]:
    note = store.acquire_lock()
    return notes + [note] if note else notes


def existing_store(file: str, name: str, manifest_path: Path, state_dir: str,
                   env: Mapping[str, str], target: str = "", default_target: str = "") -> JournalStore | None:
    """The journal an earlier run of the campaign against ``target`` left (status, cancel,
    report), or None."""
    url = state_url(env)
    if url is None:
        from renderer.execute.durable import untargeted_journal

        path = journal_path(state_dir, file, name, manifest_path, target)
        if not path.exists():  # written before journals were kept per target?
            path = untargeted_journal(state_dir, file, name, manifest_path, target, default_target) or path
        return SqliteJournal(path) if path.exists() else None
    store = _pg()(url, journal_key(file, name, manifest_path, target), name, create=False)
    if store.known:
        return store
    store.close()
    return None


def find_earlier_store(file: str, state_dir: str | None, env: Mapping[str, str], sandbox: bool,
                       manifest: Path | None = None) -> JournalStore | None:
    """The journal an earlier run (or rehearsal) of a campaign left, or None: found by the
    campaign's identity and the run's targets (the base URLs of ``env``, or the sandbox),
    under ``--state-dir``, else the state directory the last run recorded
    (``renderer.execute.statedir``), or in the shared store (never a rehearsal's)."""
    campaign = load_campaign(file)
    looked = statedir.resolve(state_dir, file, campaign.name, sandbox)
    return existing_store(file, campaign.name, manifest or default_manifest_path(file, sandbox), looked,
                          without_store(env) if sandbox else env, T.key(T.for_campaign(campaign, env, sandbox)),
                          T.key(T.for_campaign(campaign, {}, False)))


def open_earlier_store(file: str, state_dir: str | None, env: Mapping[str, str] | None = None,
                       sandbox: bool = False) -> JournalStore:
    """The journal of an earlier run of a campaign (status, cancel); a StateError that says
    where it looked, and what else ran, when there is none."""
    env = env or {}
    store = find_earlier_store(file, state_dir, env, sandbox)
    if store is not None:
        return store
    campaign = load_campaign(file)
    looked = where(without_store(env) if sandbox else env, statedir.resolve(state_dir, file, campaign.name, sandbox))
    other = find_earlier_store(file, state_dir, env, not sandbox)
    hint = ""
    if other is not None:
        other.close()
        hint = ("; a rehearsal ran (`run --sandbox`): add --sandbox to read it" if not sandbox
                else "; a run against the real API ran: drop --sandbox to read it")
    elif state_dir is None and statedir.recall(file, campaign.name, sandbox) is None:
        hint = "; if the run used --state-dir, pass it here too"
    against = T.describe(T.for_campaign(campaign, env, sandbox))
    raise StateError(f"no run state for {file} against {against} {looked}: nothing has run yet{hint}")


def where(env: Mapping[str, str], state_dir: str) -> str:
    """Where a command looked for run state, for a message."""
    url = state_url(env)
    return f"in the store {url.label}" if url is not None else f"under {state_dir}"


@contextlib.contextmanager
def rehearsal(file: str, name: str, manifest_path: Path, env: Mapping[str, str],
              target: str = "") -> Iterator[JournalStore | None]:
    """``plan``'s view of the shared store: the campaign's journal in a transaction that is
    rolled back, so that plan can do what run would (adopt, then count) and write nothing.
    None without a shared store (plan reads the manifest only, as always)."""
    url = state_url(env)
    if url is None:
        yield None
        return
    store = _pg()(url, journal_key(file, name, manifest_path, target), name, create=False)
    try:
        with store.rolled_back():
            yield store
    finally:
        store.close()


def account_book(env: Mapping[str, str], state_dir: str, store: JournalStore | None = None, *,
                 create: bool = True) -> Accounts | None:
    """Where account budgets are kept: the shared store (on ``store``'s connection when it is the
    shared store's journal: an admission commits with its intent), else ``accounts.sqlite`` under
    the state directory. None when ``create`` is off and there is no local book yet."""
    from renderer.execute import account

    url = state_url(env)
    if url is None:
        path = Path(state_dir) / account.LOCAL_FILE
        return account.local_book(state_dir) if create or path.exists() else None
    accounts = getattr(store, "accounts", None)
    if accounts is not None:
        found: Accounts = accounts()
        return found
    from renderer.execute.pgaccount import shared_accounts

    return shared_accounts(url)


def shared_rates(env: Mapping[str, str]) -> SharedRates | None:
    """The providers' rate windows in the shared store (``renderer.execute.ratewindow``), or None."""
    url = state_url(env)
    if url is None:
        return None
    from renderer.execute.ratewindow import SharedRates

    return SharedRates(url)


def require_store(env: Mapping[str, str], what: str) -> StateUrl:
    url = state_url(env)
    if url is None:
        raise UsageError(f"{what} reads a shared store: set {STATE_ENV} (or pass --state URL)")
    return url


__all__ = ["STATE_ENV", "StateUrl", "existing_store", "find_earlier_store", "open_earlier_store", "rehearsal", "require_store",
           "run_store", "state_url", "where"]
