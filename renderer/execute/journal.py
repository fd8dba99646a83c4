"""The journal: the truth about what a campaign's runs sent, and what came back.

One SQLite file per campaign and target (keyed by ``journal_key``), in WAL mode, one transaction per state change.
The order of writes is what makes a run safe to kill at any point:

1. ``begin`` writes the intent (state ``sending``) with the exact request body and
   its Idempotency-Key *before* the POST; this commit is fsynced.
2. ``accepted`` writes the request id right after the answer.
3. ``finish`` writes the outcome when polling ends.

Beside the submissions it keeps what runs learned about each pricing family's
charges (``families``: the factor the budget holds jobs at, and when the API says a
charge), so that the next run holds them at what the API really asks.

A row found in ``sending`` by a later run is a POST whose fate is not known: it
may have been charged. It is never resent blindly (see ``renderer.execute.reconcile``).

A submission row belongs to (instance id, input_sha256, generation). A generation
is one logical submission; it may take several HTTP attempts (``attempts``). A new
generation is started only after a definitive outcome (failed or refused), so that
a deliberate re-render gets a new Idempotency-Key.

No key and no header is ever written here: bodies are what the docs call the
request body, errors are redacted by the client before they reach the journal.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import sqlite3
import time
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol, TypeVar

from renderer.errors import RunLocked, StateError
from renderer.execute import cells
from renderer.manifest import PricingFamily

try:  # advisory locks: released by the kernel when a process dies, however it dies
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]

SCHEMA_VERSION = "1"

# Journal states, and how the manifest (campaign-format.md §4) calls them.
PREPARED = "prepared"  # known not processed (retryable error); may be sent again
SENDING = "sending"  # a POST is, or may have been, on the wire
ACCEPTED = "accepted"
COMPLETED = "completed"
FAILED = "failed"
CANCELLED = "cancelled"
REJECTED = "rejected"  # the API refused it; nothing was processed
UNKNOWN = "unknown"  # sent, answer lost, fate not established
# A render stopped at its approval point (``approve: manual``): accepted, charged what it made so far,
# and never continued until approved (renderer.execute.approval). APPROVING: the POST that lets it
# continue is, or may have been, on the wire (a later run reads the render before sending it again).
AWAITING = "awaiting_approval"
APPROVING = "approving"
TERMINAL = frozenset({COMPLETED, FAILED, CANCELLED, REJECTED})
# States whose credits may have been spent.
SPENDING = frozenset({SENDING, ACCEPTED, COMPLETED, FAILED, CANCELLED, UNKNOWN, AWAITING, APPROVING})
FINISHED = frozenset({COMPLETED, FAILED, CANCELLED})  # the API has said all it will about these

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


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Submission:
    id: int
    instance_id: str
    endpoint: str
    provider: str
    input_sha256: str
    generation: int
    idempotency_key: str
    state: str
    body: Any
    estimate_min: float | None
    estimate_max: float | None
    attempts: int
    request_id: str | None
    session_id: str | None
    http_status: int | None
    credits_charged: float | None
    result_url: str | None
    result_urls: tuple[str, ...]
    thumbnail_url: str | None
    duration: float | None
    response: Any
    error: str | None
    created_at: str
    sent_at: str | None
    submitted_at: str | None
    finished_at: str | None
    updated_at: str
    credits_reported: Mapping[str, float | None] | None = None  # {"header", "body"} when they disagreed

    @property
    def public_status(self) -> str:
        return public_status(self.state, self.http_status)

    @property
    def cost(self) -> float | None:
        """Credits this submission counts for in a budget: charged, else the estimate's max."""
        if self.state not in SPENDING:
            return 0.0
        if self.credits_charged is not None:
            return self.credits_charged
        return self.estimate_max


def public_status(state: str, http_status: int | None = None) -> str:
    """The manifest's status for a journal state."""
    if state == PREPARED:
        return "not_submitted"
    if state == SENDING:
        return "unknown"
    if state in (ACCEPTED, APPROVING):
        return "pending"
    if state == REJECTED:
        return "not_submitted" if http_status in (401, 402, 403, None) else "failed"
    return state


@dataclass(frozen=True, slots=True)
class Upload:
    path: str
    file_sha256: str
    storage_key: str


@dataclass(frozen=True, slots=True)
class Verdict:
    instance_id: str
    status: str
    reason: str | None
    at: str


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


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


def _guarded(fn: _F) -> _F:
    @functools.wraps(fn)
    def wrapper(self: "Journal", *args: Any, **kwargs: Any) -> Any:
        with translated(self.path):
            return fn(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class Transitions:
    """The transitions after the intent, the same in every store: each is one ``_set`` of a row.

    A store provides ``label`` (how messages name it: never a password), ``_unsaved``
    and ``_set(submission_id, columns)``, one transaction that raises ``StateError``
    when the store refuses it. The refused outcome is kept for ``get``.
    """

    label: str
    _unsaved: dict[int, Submission]

    def _set(self, submission_id: int, columns: dict[str, Any]) -> None:
        raise NotImplementedError

    def _update(self, sub: Submission, **fields: Any) -> Submission:
        fields["updated_at"] = now_iso()
        for k in ("credits_charged", "duration"):
            if k in fields:
                fields[k] = _num(fields[k])
        stored = {k: (_dump(list(v)) if k == "result_urls" else _dump(v)
                      if k in ("response", "credits_reported") and v is not None else v)
                  for k, v in fields.items()}
        if "result_urls" in fields:
            fields["result_urls"] = tuple(fields["result_urls"])
        new = replace(sub, **fields)
        try:
            self._set(sub.id, stored)
        except StateError:
            self._unsaved[sub.id] = new  # an id the API returned is never lost: the manifest gets it
            raise
        self._unsaved.pop(sub.id, None)
        return new

    def retryable(self, sub: Submission, error: str, http_status: int | None) -> Submission:
        """The last attempt provably did nothing; another may follow."""
        return self._update(sub, state=PREPARED, error=error, http_status=http_status)

    def accepted(
        self,
        sub: Submission,
        *,
        request_id: str,
        session_id: str | None,
        credits_charged: float | None,
        response: Any,
        credits_reported: Mapping[str, float | None] | None = None,
    ) -> Submission:
        """The request id, right after the answer (or after a reconciliation proved it).
        ``credits_reported``: the header's and the body's figures, when they disagreed."""
        return self._update(
            sub, state=ACCEPTED, request_id=request_id, session_id=session_id or request_id,
            credits_charged=credits_charged, http_status=200, submitted_at=now_iso(), error=None, response=response,
            credits_reported=credits_reported,
        )

    def rejected(self, sub: Submission, error: str, http_status: int | None) -> Submission:
        return self._update(sub, state=REJECTED, error=error, http_status=http_status, finished_at=now_iso())

    def unknown(self, sub: Submission, error: str) -> Submission:
        return self._update(sub, state=UNKNOWN, error=error)

    def awaiting(self, sub: Submission, response: Any) -> Submission:
        """The render stopped at its approval point; ``response``: where it stopped and its previews."""
        return self._update(sub, state=AWAITING, response=response, error=None)

    def approving(self, sub: Submission) -> Submission:
        """Approved: the POST that lets it continue leaves next (recorded before it does)."""
        return self._update(sub, state=APPROVING, error=None)

    def approved(self, sub: Submission, credits_charged: float | None) -> Submission:
        """It continues: rendering again (``accepted``), charged what it made before the stop plus what
        continuing cost (unknown when either part is)."""
        before = sub.credits_charged
        total = None if before is None or credits_charged is None else before + credits_charged
        return self._update(sub, state=ACCEPTED, credits_charged=total, error=None)

    def finish(
        self,
        sub: Submission,
        state: str,
        *,
        result_url: str | None = None,
        result_urls: tuple[str, ...] = (),
        thumbnail_url: str | None = None,
        credits_charged: float | None = None,
        duration: float | None = None,
        response: Any = None,
        error: str | None = None,
        credits_reported: Mapping[str, float | None] | None = None,
    ) -> Submission:
        """The outcome; a charge (and disagreeing figures) said only now replace what was known."""
        return self._update(
            sub, state=state, result_url=result_url, result_urls=tuple(result_urls), thumbnail_url=thumbnail_url,
            credits_charged=credits_charged if credits_charged is not None else sub.credits_charged,
            duration=duration, response=response, error=error, finished_at=now_iso(),
            credits_reported=credits_reported if credits_reported is not None else sub.credits_reported,
        )


def intent(submission_id: int, at: str, *, instance_id: str, endpoint: str, provider: str, input_sha256: str,
           generation: int, idempotency_key: str, body_json: str,
           estimate: tuple[float | None, float | None]) -> Submission:
    """The submission ``begin`` just recorded, as any store reads it back."""
    return Submission(
        id=submission_id, instance_id=instance_id, endpoint=endpoint, provider=provider,
        input_sha256=input_sha256, generation=generation, idempotency_key=idempotency_key, state=SENDING,
        body=json.loads(body_json), estimate_min=_num(estimate[0]), estimate_max=_num(estimate[1]), attempts=1,
        request_id=None, session_id=None, http_status=None, credits_charged=None, result_url=None,
        result_urls=(), thumbnail_url=None, duration=None, response=None, error=None, created_at=at,
        sent_at=at, submitted_at=None, finished_at=None, updated_at=at,
    )


class Journal(Transitions):
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
            self._open_retrying()

    def _open_retrying(self, patience: float = 30.0) -> None:
        """Open, check and migrate the file, trying again while another process does the same.

        Switching a new file to WAL and creating its tables can answer "locked" at once, without
        SQLite's busy handler (a lock upgrade it refuses to wait for); two runners that open one
        journal together would otherwise fail. Bounded like the busy timeout: 30 s.
        """
        deadline = time.monotonic() + patience
        delay = 0.01
        while True:
            try:
                self._open_once()
                return
            except sqlite3.OperationalError as exc:
                low = str(exc).lower()
                if not ("locked" in low or "busy" in low) or time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)  # a blocking open, before any task group: no event loop to yield to
                delay = min(delay * 2, 0.5)

    def _open_once(self) -> None:
        path = self.path
        self._db = self._connect("NORMAL")
        try:
            check = self._db.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise sqlite3.DatabaseError(f"database disk image is malformed ({check[0] if check else 'no answer'})")
            self._db.executescript(_DDL)
            self._migrate()
            version = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if version is None:
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            elif version[0] != SCHEMA_VERSION:
                raise StateError(f"{path}: journal schema {version[0]} is not {SCHEMA_VERSION}; use another --state-dir")
            # Intents go through a second connection that fsyncs every commit: a lost
            # intent after a sent POST is the one loss that could make a run pay twice.
            self._intent_db = self._connect("FULL") if self.durable_intents else self._db
            self._verdicts: set[str] = {cells.untext(r[0]) for r in self._db.execute("SELECT instance_id FROM verdicts")}
        except BaseException:
            self._db.close()
            raise

    def _migrate(self) -> None:
        """Columns added since a journal was made (``CREATE TABLE IF NOT EXISTS`` keeps old tables)."""
        have = {r[1] for r in self._db.execute("PRAGMA table_info(submissions)")}
        if "credits_reported" not in have:
            self._db.execute("ALTER TABLE submissions ADD COLUMN credits_reported TEXT")

    def _connect(self, synchronous: str) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), isolation_level=None, timeout=30.0)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous}")
        db.execute("PRAGMA busy_timeout=30000")
        if self.max_pages is not None:
            db.execute(f"PRAGMA max_page_count={int(self.max_pages)}")
        return db

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
        note = None
        if holder is not None:
            note = (
                f"recovered a stale lock: the run of pid {holder['pid']} on {holder['hostname']} "
                f"(started {holder['acquired_at']}) ended without releasing it; resuming from the journal"
            )
        with self._transaction():
            self._db.execute(
                "INSERT INTO lock (id, pid, hostname, acquired_at) VALUES (1, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET pid=excluded.pid, hostname=excluded.hostname, acquired_at=excluded.acquired_at",
                (os.getpid(), socket.gethostname(), now_iso()),
            )
            if note:
                self._event("stale_lock_recovered", None, None, note)
        return note

    def holder(self) -> dict[str, Any] | None:
        """Who holds the lock, and whether that run is alive (``running``)."""
        row = self._db.execute("SELECT pid, hostname, acquired_at FROM lock").fetchone()
        if row is None:
            return None
        info = dict(row)
        running = True
        if fcntl is not None and self._lock_fd is None:
            lock_path = self.path.with_name(self.path.name + ".lock")
            try:
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:
                fd = None
            if fd is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    running = False  # nobody holds it: that run ended without cleaning up
                except OSError:
                    running = True
                finally:
                    os.close(fd)
        info["running"] = running
        return info

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
        return _submission(row) if row else None

    def current_all(self) -> dict[tuple[str, str], Submission]:
        """``current`` for every (instance, input) at once: one query at the start of a run."""
        rows = self._db.execute(
            "SELECT * FROM submissions WHERE id IN"
            " (SELECT MAX(id) FROM submissions GROUP BY instance_id, input_sha256)"
        ).fetchall()
        return {(s.instance_id, s.input_sha256): s for s in map(_submission, rows)}

    def get(self, submission_id: int) -> Submission:
        if submission_id in self._unsaved:
            return self._unsaved[submission_id]
        row = self._db.execute("SELECT * FROM submissions WHERE id = ?", (submission_id,)).fetchone()
        if row is None:
            raise StateError(f"{self.path}: submission {submission_id} vanished")
        return _submission(row)

    def latest_per_instance(self) -> list[Submission]:
        """The most recent submission of every instance the journal knows."""
        rows = self._db.execute(
            "SELECT * FROM submissions WHERE id IN (SELECT MAX(id) FROM submissions GROUP BY instance_id) ORDER BY id"
        ).fetchall()
        return [_submission(r) for r in rows]

    def all(self) -> list[Submission]:
        return [_submission(row) for row in self._db.execute("SELECT * FROM submissions ORDER BY id")]

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
        return {cells.untext(r["family"]): PricingFamily(cells.untext(r["family"]), r["factor"], r["charged_at"],
                                                         r["probe_seconds"])
                for r in self._db.execute("SELECT * FROM families")}

    def upload(self, path: str, file_sha256: str) -> Upload | None:
        row = self._q(
            "SELECT path, file_sha256, storage_key FROM uploads WHERE path = ? AND file_sha256 = ?", (path, file_sha256)
        ).fetchone()
        return Upload(*map(cells.untext, row)) if row else None

    # -- writing ------------------------------------------------------------------

    def begin(
        self,
        *,
        instance_id: str,
        endpoint: str,
        provider: str,
        input_sha256: str,
        generation: int,
        idempotency_key: str,
        body: Any,
        estimate: tuple[float | None, float | None],
    ) -> Submission:
        """The intent, with the exact body, before the first POST (fsynced)."""
        at = now_iso()
        text = _dump(body)
        cur = self._write(
            "INSERT INTO submissions (instance_id, endpoint, provider, input_sha256, generation, idempotency_key,"
            " state, body, estimate_min, estimate_max, attempts, created_at, sent_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
            (instance_id, endpoint, provider, input_sha256, generation, idempotency_key, SENDING,
             text, _num(estimate[0]), _num(estimate[1]), at, at, at),
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

    def adopt(
        self,
        *,
        instance_id: str,
        endpoint: str,
        provider: str,
        input_sha256: str,
        generation: int,
        idempotency_key: str,
        state: str,
        body: Any,
        estimate: tuple[float | None, float | None],
        request_id: str | None,
        session_id: str | None,
        credits_charged: float | None,
        sent_at: str | None,
        error: str | None,
    ) -> None:
        """Seed a submission another run made, as the manifest records it (``renderer.execute.adopt``)."""
        at = now_iso()
        self._write(
            "INSERT INTO submissions (instance_id, endpoint, provider, input_sha256, generation, idempotency_key,"
            " state, body, estimate_min, estimate_max, attempts, request_id, session_id, credits_charged, error,"
            " created_at, sent_at, submitted_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)",
            (instance_id, endpoint, provider, input_sha256, generation, idempotency_key, state, _dump(body),
             _num(estimate[0]), _num(estimate[1]), request_id, session_id, _num(credits_charged), error, at, sent_at or at,
             sent_at if request_id else None, at),
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
            (merged.name, _num(merged.factor), merged.charged_at, _num(merged.probe_seconds), now_iso()),
        )

    def record_upload(self, path: str, file_sha256: str, storage_key: str, response: Any) -> None:
        self._write("INSERT OR REPLACE INTO uploads VALUES (?, ?, ?, ?, ?)",
                    (path, file_sha256, storage_key, _dump(response), now_iso()))

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


for _name, _fn in list(vars(Journal).items()):
    if callable(_fn) and not _name.startswith("_") and _name not in ("release_lock", "close"):
        setattr(Journal, _name, _guarded(_fn))


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT for the few multi-statement writes; counts as one transition."""

    def __init__(self, journal: Journal) -> None:
        self.j = journal

    def __enter__(self) -> None:
        self.j._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.j._db.execute("COMMIT" if exc_type is None else "ROLLBACK")
        if exc_type is None:
            self.j._committed()


_num = cells.num  # SQLite and PostgreSQL hand back doubles: 50.0 credits read back as 50


class Row(Protocol):
    """A stored row, read by column name (``sqlite3.Row``, or psycopg's ``dict_row``)."""

    def __getitem__(self, key: str, /) -> Any: ...


def submission_of(row: Row) -> Submission:
    """A stored row (SQLite's or PostgreSQL's, by column name) as a ``Submission``."""
    t = cells.untext
    return Submission(
        id=row["id"], instance_id=t(row["instance_id"]), endpoint=t(row["endpoint"]), provider=t(row["provider"]),
        input_sha256=t(row["input_sha256"]), generation=row["generation"],
        idempotency_key=t(row["idempotency_key"]), state=row["state"], body=_load(t(row["body"])),
        estimate_min=_num(row["estimate_min"]), estimate_max=_num(row["estimate_max"]), attempts=row["attempts"],
        request_id=t(row["request_id"]), session_id=t(row["session_id"]), http_status=row["http_status"],
        credits_charged=_num(row["credits_charged"]), result_url=t(row["result_url"]),
        result_urls=tuple(_load(t(row["result_urls"])) or ()), thumbnail_url=t(row["thumbnail_url"]),
        duration=_num(row["duration"]), response=_load(t(row["response"])), error=t(row["error"]),
        created_at=row["created_at"], sent_at=row["sent_at"], submitted_at=row["submitted_at"],
        finished_at=row["finished_at"], updated_at=row["updated_at"],
        credits_reported=_load(t(row["credits_reported"])),
    )


_submission = submission_of


def verdicts_of(rows: Iterable[Row]) -> dict[str, Verdict]:
    out = {}
    for r in rows:
        iid = cells.untext(r["instance_id"])
        out[iid] = Verdict(iid, cells.untext(r["status"]), cells.untext(r["reason"]), r["at"])
    return out


def reconciliations_of(rows: Iterable[Row]) -> dict[str, dict[str, Any]]:
    """The last ``reconciled`` note of each instance (its evidence, as JSON), in order of the notes."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        try:
            out[cells.untext(r["instance_id"])] = json.loads(cells.untext(r["detail"]))
        except (TypeError, ValueError):
            continue
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def repository_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that holds ``.git`` (a folder or a worktree's file)."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def campaign_identity(campaign_path: str | Path, name: str, manifest_path: str | Path | None = None) -> str:
    """Who a campaign is, wherever the checkout lies and whatever the working directory.

    Its ``name`` and its path relative to the repository root, or else relative to
    the manifest's folder (beside the campaign by default): the same on a CI runner,
    in a copy of the checkout, and from any working directory.
    """
    campaign = Path(campaign_path).resolve()
    root = repository_root(campaign.parent)
    if root is None:
        base = Path(manifest_path).resolve().parent if manifest_path is not None else campaign.parent
        rel = os.path.relpath(campaign, base)
    else:
        rel = os.path.relpath(campaign, root)
    return f"{name}\n{Path(rel).as_posix()}"


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


def journal_key(campaign_path: str | Path, name: str, manifest_path: str | Path | None = None,
                target: str = "") -> str:
    """What a campaign's journal is keyed by: the campaign's identity and where its runs go
    (``renderer.targets.key``: ``sandbox``, or each provider's base URL). A rehearsal, a
    staging account and production each have their own journal: one target's submissions
    are never polled, settled or taken as done against another. ``target`` "" is the key
    of journals written before targets were recorded."""
    identity = campaign_identity(campaign_path, name, manifest_path)
    return f"{identity}\n{target}" if target else identity


def journal_path(state_dir: str | Path, campaign_path: str | Path, name: str,
                 manifest_path: str | Path | None = None, target: str = "") -> Path:
    """``<state_dir>/<stem>-<hash of the journal's key>.sqlite``."""
    import hashlib

    digest = hashlib.sha256(journal_key(campaign_path, name, manifest_path, target).encode("utf-8")).hexdigest()[:12]
    return Path(state_dir) / f"{Path(campaign_path).stem}-{digest}.sqlite"
