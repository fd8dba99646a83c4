"""The SQLite journal: the truth about what a campaign's runs sent, and what came back.

One SQLite file per campaign and target (``identity.journal_path``), in WAL mode, one
transaction per state change. The order of writes is what makes a run safe to kill
at any point:

1. ``begin`` writes the intent (state ``sending``) with the exact request body and
   its Idempotency-Key *before* the POST; this commit is fsynced.
2. ``accepted`` writes the request id right after the answer.
3. ``finish`` writes the outcome when polling ends.

Beside the submissions it keeps what runs learned about each pricing family's
charges (``families``: the factor the budget holds jobs at, and when the API says a
charge), so that the next run holds them at what the API really asks.

A row found in ``sending`` by a later run is a POST whose fate is not known: it
may have been charged. It is never resent blindly (see ``renderer.execute.reconcile``).
What a row holds is ``renderer.execute.records``; the writes after the intent are
``renderer.execute.transitions``, shared with the PostgreSQL store.

No key and no header is ever written here: bodies are what the docs call the
request body, errors are redacted by the client before they reach the journal.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import sqlite3
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, TypeVar

from renderer.errors import RunLocked, StateError
from renderer.execute import cells
from renderer.execute.records import (
    SENDING,
    Adopted,
    Submission,
    Upload,
    Verdict,
    dump_json,
    families_of,
    intent,
    now_iso,
    reconciliations_of,
    stale_lock_note,
    submission_of,
    verdicts_of,
)
from renderer.execute.transitions import Transitions
from renderer.manifest import PricingFamily

try:  # advisory locks: released by the kernel when a process dies, however it dies
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]

SCHEMA_VERSION = "1"

_DDL = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS lock (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    pid         INTEGER NOT NULL,
    hostname    TEXT NOT NULL,
    acquired_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS submissions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id     TEXT NOT NULL,
    endpoint        TEXT NOT NULL,
    provider        TEXT NOT NULL,
    input_sha256    TEXT NOT NULL,
    generation      INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL,
    state           TEXT NOT NULL,
    body            TEXT NOT NULL,      -- the exact JSON sent
    estimate_min    REAL,               -- NULL: price unknown
    estimate_max    REAL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    request_id      TEXT,
    session_id      TEXT,
    http_status     INTEGER,
    credits_charged REAL,
    credits_reported TEXT,              -- JSON {"header", "body"}: the API's figures, when they disagreed
    result_url      TEXT,
    result_urls     TEXT,               -- JSON list
    thumbnail_url   TEXT,
    duration        REAL,
    response        TEXT,               -- JSON: the final status payload
    error           TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT,               -- first attempt
    submitted_at    TEXT,               -- accepted
    finished_at     TEXT,
    updated_at      TEXT NOT NULL,
    UNIQUE (instance_id, input_sha256, generation)
);
CREATE INDEX IF NOT EXISTS submissions_request ON submissions (request_id);
CREATE TABLE IF NOT EXISTS uploads (
    path         TEXT NOT NULL,         -- relative to the campaign folder
    file_sha256  TEXT NOT NULL,
    storage_key  TEXT NOT NULL,
    response     TEXT,
    uploaded_at  TEXT NOT NULL,
    PRIMARY KEY (path, file_sha256)
);
CREATE TABLE IF NOT EXISTS families (   -- what runs learned about a pricing family's charges
    family        TEXT PRIMARY KEY,
    factor        REAL NOT NULL,        -- held at estimate x factor
    charged_at    TEXT,                 -- submission | completion | never
    probe_seconds REAL,
    updated_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS verdicts (   -- the last run's word on instances it did not submit
    instance_id TEXT PRIMARY KEY,
    status      TEXT NOT NULL,
    reason      TEXT,
    at          TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (     -- every transition, for `renderer status` and post-mortems
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    at            TEXT NOT NULL,
    submission_id INTEGER,
    instance_id   TEXT,
    kind          TEXT NOT NULL,
    detail        TEXT
);
-- Transitions are single statements (one implicit transaction each); these triggers
-- keep the audit trail inside that same transaction.
CREATE TRIGGER IF NOT EXISTS submissions_intent AFTER INSERT ON submissions BEGIN
    INSERT INTO events (at, submission_id, instance_id, kind, detail)
    VALUES (new.created_at, new.id, new.instance_id, 'intent', new.endpoint);
END;
CREATE TRIGGER IF NOT EXISTS submissions_transition AFTER UPDATE ON submissions
WHEN old.state IS NOT new.state OR old.attempts IS NOT new.attempts BEGIN
    INSERT INTO events (at, submission_id, instance_id, kind, detail)
    VALUES (new.updated_at, new.id, new.instance_id,
            CASE WHEN old.attempts IS NOT new.attempts THEN 'attempt ' || new.attempts ELSE new.state END,
            COALESCE(new.error, new.request_id));
END;
"""


def recovery_hint(path: Path) -> str:
    """The safe way out of an unusable journal: keep what it holds, adopt from the manifest."""
    return (f"keep the file: move it aside (`mv {path} {path}.broken`, with its -wal and -shm files if any) and run "
            f"again; the run then adopts every job the campaign's manifest records as accepted and polls it instead "
            f"of sending it again (`sqlite3 {path}.broken .recover` can salvage the rest)")


def describe(path: Path, exc: BaseException, *, opening: bool = False) -> str:
    """What went wrong with the journal at ``path``, in words that name the file and the way out."""
    text = str(exc)
    low = text.lower()
    if "disk is full" in low or "database or disk is full" in low or getattr(exc, "errno", None) == 28:
        return (f"{path}: the disk is full: the journal cannot record the run ({text}); "
                f"free some space (or pass another --state-dir) and run again: what was accepted is in the manifest")
    if ("readonly" in low or "read-only" in low or isinstance(exc, PermissionError)
            or (opening and "unable to open" in low)):
        return (f"{path}: cannot write the journal: its folder is read-only or not writable ({text}); "
                f"pass a writable --state-dir: the run adopts the jobs the manifest records as accepted")
    if "locked" in low or "busy" in low:
        return f"{path}: the journal is locked by another process ({text})"
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return f"{path}: the journal is corrupt ({text}); nothing was replaced: {recovery_hint(path)}"
    return f"{path}: the journal failed ({type(exc).__name__}: {text}); {recovery_hint(path)}"


@contextlib.contextmanager
def translated(path: Path, *, opening: bool = False) -> Iterator[None]:
    """sqlite3 and OS errors become ``StateError``s that name the journal file."""
    try:
        yield
    except (StateError, sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
        raise  # ours, or our bug: not the file's fault
    except (sqlite3.Error, OSError) as exc:
        raise StateError(describe(path, exc, opening=opening)) from None


_F = TypeVar("_F", bound=Callable[..., Any])


# -- opening the file ---------------------------------------------------------------

Connections = tuple[sqlite3.Connection, sqlite3.Connection]


def open_retrying(path: Path, *, durable_intents: bool, max_pages: int | None,
                  patience: float = 30.0) -> Connections:
    """Open, check and migrate the file, trying again while another process does the same:
    the connection for reads and transitions, and the one intents go through.

    Switching a new file to WAL and creating its tables can answer "locked" at once, without
    SQLite's busy handler (a lock upgrade it refuses to wait for); two runners that open one
    journal together would otherwise fail. Bounded like the busy timeout: 30 s.
    """
    deadline = time.monotonic() + patience
    delay = 0.01
    while True:
        try:
            return _open_once(path, durable_intents, max_pages)
        except sqlite3.OperationalError as exc:
            low = str(exc).lower()
            if not ("locked" in low or "busy" in low) or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)  # a blocking open, before any task group: no event loop to yield to
            delay = min(delay * 2, 0.5)


def _open_once(path: Path, durable_intents: bool, max_pages: int | None) -> Connections:
    db = _connect(path, "NORMAL", max_pages)
    try:
        check = db.execute("PRAGMA quick_check").fetchone()
        if check is None or check[0] != "ok":
            raise sqlite3.DatabaseError(f"database disk image is malformed ({check[0] if check else 'no answer'})")
        db.executescript(_DDL)
        _migrate(db)
        version = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if version is None:
            db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
        elif version[0] != SCHEMA_VERSION:
            raise StateError(f"{path}: journal schema {version[0]} is not {SCHEMA_VERSION}; use another --state-dir")
        # Intents go through a second connection that fsyncs every commit: a lost
        # intent after a sent POST is the one loss that could make a run pay twice.
        return db, _connect(path, "FULL", max_pages) if durable_intents else db
    except BaseException:
        db.close()
        raise


def _migrate(db: sqlite3.Connection) -> None:
    """Columns added since a journal was made (``CREATE TABLE IF NOT EXISTS`` keeps old tables)."""
    have = {r[1] for r in db.execute("PRAGMA table_info(submissions)")}
    if "credits_reported" not in have:
        db.execute("ALTER TABLE submissions ADD COLUMN credits_reported TEXT")


def _connect(path: Path, synchronous: str, max_pages: int | None) -> sqlite3.Connection:
    db = sqlite3.connect(str(path), isolation_level=None, timeout=30.0)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    db.execute("PRAGMA busy_timeout=30000")
    if max_pages is not None:
        db.execute(f"PRAGMA max_page_count={int(max_pages)}")
    return db


def _guarded(fn: _F) -> _F:
    @functools.wraps(fn)
    def wrapper(self: "SqliteJournal", *args: Any, **kwargs: Any) -> Any:
        with translated(self.path):
            return fn(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class SqliteJournal(Transitions):
    """One campaign's journal. Used from one thread (the run's event loop)."""

    def __init__(
        self,
        path: Path,
        *,
        durable_intents: bool = True,
        after_commit: Callable[[int], None] | None = None,
        max_pages: int | None = None,
    ) -> None:
        self.path = path
        self.label = str(path)  # how messages name this store
        self.durable_intents = durable_intents
        self.after_commit = after_commit
        self.transitions = 0
        self.max_pages = max_pages  # SQLite's own limit: a "disk full" on demand (tests)
        self._lock_fd: int | None = None
        self._unsaved: dict[int, Submission] = {}  # outcomes the disk refused: kept for the manifest
        self.was_empty = path.exists() and path.stat().st_size == 0
        with translated(path, opening=True):
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db, self._intent_db = open_retrying(path, durable_intents=durable_intents, max_pages=max_pages)
        self._verdicts: set[str] = {cells.untext(r[0]) for r in self._db.execute("SELECT instance_id FROM verdicts")}

    # -- plumbing ---------------------------------------------------------------

    def close(self) -> None:
        self.release_lock()
        if self._intent_db is not self._db:
            self._intent_db.close()
        self._db.close()

    def _transaction(self) -> "_Tx":
        return _Tx(self)

    def _write(self, sql: str, params: tuple[Any, ...], db: sqlite3.Connection | None = None) -> sqlite3.Cursor:
        """One statement, one implicit transaction: a transition."""
        cur = (db or self._db).execute(sql, cells.params(params))
        self._committed()
        return cur

    def _q(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        """A read, its string parameters encoded as the cells hold them."""
        return self._db.execute(sql, cells.params(params))

    def _set(self, submission_id: int, columns: dict[str, Any]) -> None:
        cols = ", ".join(f"{k} = ?" for k in columns)
        with translated(self.path):
            self._write(f"UPDATE submissions SET {cols} WHERE id = ?", (*columns.values(), submission_id))

    def _committed(self) -> None:
        self.transitions += 1
        if self.after_commit is not None:
            self.after_commit(self.transitions)

    def _event(self, kind: str, submission_id: int | None, instance_id: str | None, detail: str | None = None) -> None:
        self._db.execute(
            "INSERT INTO events (at, submission_id, instance_id, kind, detail) VALUES (?, ?, ?, ?, ?)",
            (now_iso(), submission_id, instance_id, kind, detail),
        )

    def set_meta(self, values: Mapping[str, str]) -> None:
        with self._transaction():
            for k, v in values.items():
                self._q("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value", (k, v))

    def meta(self) -> dict[str, str]:
        return {cells.untext(r["key"]): cells.untext(r["value"]) for r in self._db.execute("SELECT key, value FROM meta")}

    # -- the lock -----------------------------------------------------------------

    def acquire_lock(self) -> str | None:
        """Keep other runs off this journal. Returns a note when a stale lock was recovered."""
        lock_path = self.path.with_name(self.path.name + ".lock")
        holder = self._db.execute("SELECT pid, hostname, acquired_at FROM lock").fetchone()
        if fcntl is not None:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                who = f"pid {holder['pid']} on {holder['hostname']} since {holder['acquired_at']}" if holder else "another process"
                raise RunLocked(f"{self.path}: another run of this campaign is in progress ({who})") from None
            self._lock_fd = fd
        elif holder is not None and holder["hostname"] == socket.gethostname() and _alive(holder["pid"]):
            raise RunLocked(f"{self.path}: another run of this campaign is in progress (pid {holder['pid']})")
        note = stale_lock_note(holder) if holder is not None else None
        with self._transaction():
            self._db.execute(
                "INSERT INTO lock (id, pid, hostname, acquired_at) VALUES (1, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET pid=excluded.pid, hostname=excluded.hostname, acquired_at=excluded.acquired_at",
                (os.getpid(), socket.gethostname(), now_iso()),
            )
            if note:
                self._event("stale_lock_recovered", None, None, note)
            self._event("run", None, None, f"pid {os.getpid()} on {socket.gethostname()}")  # renderer log
        return note

    def holder(self) -> dict[str, Any] | None:
        """Who holds the lock, and whether that run is alive (``running``)."""
        row = self._db.execute("SELECT pid, hostname, acquired_at FROM lock").fetchone()
        if row is None:
            return None
        held = self._lock_fd is not None or _flocked(self.path.with_name(self.path.name + ".lock"))
        return {**dict(row), "running": held}

    def release_lock(self) -> None:
        if self._lock_fd is None:
            return
        try:
            with self._transaction():
                self._db.execute("DELETE FROM lock WHERE pid = ?", (os.getpid(),))
        except sqlite3.Error:
            pass
        os.close(self._lock_fd)  # closing releases the flock
        self._lock_fd = None

    # -- reading ------------------------------------------------------------------

    def current(self, instance_id: str, input_sha256: str) -> Submission | None:
        row = self._q(
            "SELECT * FROM submissions WHERE instance_id = ? AND input_sha256 = ? ORDER BY generation DESC LIMIT 1",
            (instance_id, input_sha256),
        ).fetchone()
        return submission_of(row) if row else None

    def current_all(self) -> dict[tuple[str, str], Submission]:
        """``current`` for every (instance, input) at once: one query at the start of a run."""
        rows = self._db.execute(
            "SELECT * FROM submissions WHERE id IN"
            " (SELECT MAX(id) FROM submissions GROUP BY instance_id, input_sha256)"
        ).fetchall()
        return {(s.instance_id, s.input_sha256): s for s in map(submission_of, rows)}

    def get(self, submission_id: int) -> Submission:
        if submission_id in self._unsaved:
            return self._unsaved[submission_id]
        row = self._db.execute("SELECT * FROM submissions WHERE id = ?", (submission_id,)).fetchone()
        if row is None:
            raise StateError(f"{self.path}: submission {submission_id} vanished")
        return submission_of(row)

    def latest_per_instance(self) -> list[Submission]:
        """The most recent submission of every instance the journal knows."""
        rows = self._db.execute(
            "SELECT * FROM submissions WHERE id IN (SELECT MAX(id) FROM submissions GROUP BY instance_id) ORDER BY id"
        ).fetchall()
        return [submission_of(r) for r in rows]

    def all(self) -> list[Submission]:
        return [submission_of(row) for row in self._db.execute("SELECT * FROM submissions ORDER BY id")]

    def claimed_ids(self) -> set[str]:
        """Every request and session id some submission already owns."""
        ids: set[str] = set()
        for rid, sid in self._db.execute("SELECT request_id, session_id FROM submissions"):
            ids.update(cells.untext(x) for x in (rid, sid) if x)
        return ids

    def verdicts(self) -> dict[str, Verdict]:
        return verdicts_of(self._db.execute("SELECT * FROM verdicts"))

    def events(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM events ORDER BY seq DESC LIMIT ?", (limit,)).fetchall()
        return [{k: cells.untext(v) for k, v in dict(r).items()} for r in reversed(rows)]

    def families(self) -> dict[str, PricingFamily]:
        return families_of(self._db.execute("SELECT * FROM families"))

    def upload(self, path: str, file_sha256: str) -> Upload | None:
        row = self._q(
            "SELECT path, file_sha256, storage_key FROM uploads WHERE path = ? AND file_sha256 = ?", (path, file_sha256)
        ).fetchone()
        return Upload(*map(cells.untext, row)) if row else None

    # -- writing ------------------------------------------------------------------

    def begin(self, *, instance_id: str, endpoint: str, provider: str, input_sha256: str, generation: int,
              idempotency_key: str, body: Any, estimate: tuple[float | None, float | None]) -> Submission:
        """The intent, with the exact body, before the first POST (fsynced)."""
        at = now_iso()
        text = dump_json(body)
        cur = self._write(
            "INSERT INTO submissions (instance_id, endpoint, provider, input_sha256, generation, idempotency_key,"
            " state, body, estimate_min, estimate_max, attempts, created_at, sent_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
            (instance_id, endpoint, provider, input_sha256, generation, idempotency_key, SENDING,
             text, cells.num(estimate[0]), cells.num(estimate[1]), at, at, at),
            self._intent_db,
        )
        if instance_id in self._verdicts:  # this run's earlier word on it no longer holds
            self._write("DELETE FROM verdicts WHERE instance_id = ?", (instance_id,))
            self._verdicts.discard(instance_id)
        assert cur.lastrowid is not None  # an INSERT's row
        return intent(int(cur.lastrowid), at, instance_id=instance_id, endpoint=endpoint, provider=provider,
                      input_sha256=input_sha256, generation=generation, idempotency_key=idempotency_key,
                      body_json=text, estimate=estimate)

    def sending(self, sub: Submission) -> Submission:
        """Another attempt of the same POST (same body, same key), before it is sent (fsynced)."""
        at = now_iso()
        self._write(
            "UPDATE submissions SET state = ?, attempts = ?, sent_at = COALESCE(sent_at, ?), updated_at = ? WHERE id = ?",
            (SENDING, sub.attempts + 1, at, at, sub.id),
            self._intent_db,
        )
        return replace(sub, state=SENDING, attempts=sub.attempts + 1, sent_at=sub.sent_at or at, updated_at=at)

    def record_adopted(self, sub: Adopted) -> None:
        """Seed a submission another run made, as the manifest records it."""
        at = now_iso()
        self._write(
            "INSERT INTO submissions (instance_id, endpoint, provider, input_sha256, generation, idempotency_key,"
            " state, body, estimate_min, estimate_max, attempts, request_id, session_id, credits_charged, error,"
            " created_at, sent_at, submitted_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)",
            (sub.instance_id, sub.endpoint, sub.provider, sub.input_sha256, sub.generation, sub.idempotency_key,
             sub.state, dump_json(sub.body), cells.num(sub.estimate[0]), cells.num(sub.estimate[1]), sub.request_id,
             sub.session_id, cells.num(sub.credits_charged), sub.error, at, sub.sent_at or at,
             sub.sent_at if sub.request_id else None, at),
        )

    def generation_max(self, instance_id: str, input_sha256: str) -> int:
        row = self._q("SELECT MAX(generation) FROM submissions WHERE instance_id = ? AND input_sha256 = ?",
                      (instance_id, input_sha256)).fetchone()
        return int(row[0] or 0)

    def reconciliations(self) -> dict[str, dict[str, Any]]:
        """The last reconciliation that proved each instance's submission, with its evidence."""
        return reconciliations_of(self._db.execute(
            "SELECT instance_id, detail FROM events WHERE kind = 'reconciled' ORDER BY seq"))

    def set_family(self, family: PricingFamily) -> None:
        """What a run learned about a pricing family; merged with what earlier runs knew."""
        merged = family.merged(self.families().get(family.name))
        self._write(
            "INSERT INTO families VALUES (?, ?, ?, ?, ?) ON CONFLICT(family) DO UPDATE SET factor=excluded.factor,"
            " charged_at=excluded.charged_at, probe_seconds=excluded.probe_seconds, updated_at=excluded.updated_at",
            (merged.name, cells.num(merged.factor), merged.charged_at, cells.num(merged.probe_seconds), now_iso()),
        )

    def record_upload(self, path: str, file_sha256: str, storage_key: str, response: Any) -> None:
        self._write("INSERT OR REPLACE INTO uploads VALUES (?, ?, ?, ?, ?)",
                    (path, file_sha256, storage_key, dump_json(response), now_iso()))

    def note(self, kind: str, detail: str, instance_id: str | None = None) -> None:
        """An event worth keeping that is not a state change (a reconciliation, a resubmission)."""
        self._write("INSERT INTO events (at, submission_id, instance_id, kind, detail) VALUES (?, NULL, ?, ?, ?)",
                    (now_iso(), instance_id, kind, detail))

    def set_verdict(self, instance_id: str, status: str, reason: str | None) -> None:
        self._write(
            "INSERT INTO verdicts VALUES (?, ?, ?, ?) ON CONFLICT(instance_id) DO UPDATE SET"
            " status=excluded.status, reason=excluded.reason, at=excluded.at",
            (instance_id, status, reason, now_iso()),
        )
        self._verdicts.add(instance_id)

    def clear_verdicts(self) -> None:
        if self._verdicts:
            self._write("DELETE FROM verdicts", ())
            self._verdicts.clear()


for _name, _fn in list(vars(SqliteJournal).items()):
    if callable(_fn) and not _name.startswith("_") and _name not in ("release_lock", "close"):
        setattr(SqliteJournal, _name, _guarded(_fn))


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT for the few multi-statement writes; counts as one transition."""

    def __init__(self, journal: SqliteJournal) -> None:
        self.j = journal

    def __enter__(self) -> None:
        self.j._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.j._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
        if exc_type is None:
            self.j._committed()


def _flocked(lock_path: Path) -> bool:
    """Whether a live process holds the flock on ``lock_path`` (True when that cannot be told)."""
    if fcntl is None:
        return True
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False  # nobody holds it: that run ended without cleaning up
    except OSError:
        return True
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holds_sandbox_work(path: Path, sandbox_sessions: set[str]) -> bool:
    """Whether a journal shows runs against the sandbox: a result URL on this machine (the
    stand-in's files), or a request id among ``sandbox_sessions`` (those the ``--sandbox``
    stand-in kept beside it). False when it cannot be read: the run that opens it says so."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            found = db.execute(
                "SELECT 1 FROM submissions WHERE " + " OR ".join(
                    f"COALESCE({col}, '') LIKE '%{host}%'" for col in ("result_url", "result_urls")
                    for host in ("//127.", "//localhost", "//[::1]")) + " LIMIT 1").fetchone()
            ids = {r for (r,) in db.execute("SELECT request_id FROM submissions WHERE request_id IS NOT NULL")}
        finally:
            db.close()
    except sqlite3.Error:
        return False
    return found is not None or not ids.isdisjoint(sandbox_sessions)


