"""The journal: the truth about what a campaign's runs sent, and what came back.

One SQLite file per campaign file, in WAL mode, one transaction per state change.
The order of writes is what makes a run safe to kill at any point:

1. ``begin`` writes the intent (state ``sending``) with the exact request body and
   its Idempotency-Key *before* the POST; this commit is fsynced.
2. ``accepted`` writes the request id right after the answer.
3. ``finish`` writes the outcome when polling ends.

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

import json
import os
import socket
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from renderer.errors import StateError

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
TERMINAL = frozenset({COMPLETED, FAILED, CANCELLED, REJECTED})
# States whose credits may have been spent.
SPENDING = frozenset({SENDING, ACCEPTED, COMPLETED, FAILED, CANCELLED, UNKNOWN})

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
    if state == ACCEPTED:
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


class Journal:
    """One campaign's journal. Used from one thread (the run's event loop)."""

    def __init__(
        self,
        path: Path,
        *,
        durable_intents: bool = True,
        after_commit: Callable[[int], None] | None = None,
    ) -> None:
        self.path = path
        self.durable_intents = durable_intents
        self.after_commit = after_commit
        self.transitions = 0
        self._lock_fd: int | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(str(path), isolation_level=None, timeout=30.0)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=30000")
            self._db.executescript(_DDL)
            version = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            if version is None:
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
            elif version[0] != SCHEMA_VERSION:
                raise StateError(f"{path}: journal schema {version[0]} is not {SCHEMA_VERSION}; use another --state-dir")
        except sqlite3.DatabaseError as exc:
            raise StateError(f"{path}: the journal is not readable ({exc}); move it aside to start over") from None

    # -- plumbing ---------------------------------------------------------------

    def close(self) -> None:
        self.release_lock()
        self._db.close()

    def _transaction(self, durable: bool = False) -> "_Tx":
        return _Tx(self, durable)

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
                self._db.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value", (k, v))

    def meta(self) -> dict[str, str]:
        return {r["key"]: r["value"] for r in self._db.execute("SELECT key, value FROM meta")}

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
                raise StateError(f"{self.path}: another run of this campaign is in progress ({who})") from None
            self._lock_fd = fd
        elif holder is not None and holder["hostname"] == socket.gethostname() and _alive(holder["pid"]):
            raise StateError(f"{self.path}: another run of this campaign is in progress (pid {holder['pid']})")
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
        row = self._db.execute(
            "SELECT * FROM submissions WHERE instance_id = ? AND input_sha256 = ? ORDER BY generation DESC LIMIT 1",
            (instance_id, input_sha256),
        ).fetchone()
        return _submission(row) if row else None

    def get(self, submission_id: int) -> Submission:
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

    def all(self) -> Iterator[Submission]:
        for row in self._db.execute("SELECT * FROM submissions ORDER BY id"):
            yield _submission(row)

    def claimed_ids(self) -> set[str]:
        """Every request and session id some submission already owns."""
        ids: set[str] = set()
        for rid, sid in self._db.execute("SELECT request_id, session_id FROM submissions"):
            ids.update(x for x in (rid, sid) if x)
        return ids

    def verdicts(self) -> dict[str, Verdict]:
        return {
            r["instance_id"]: Verdict(r["instance_id"], r["status"], r["reason"], r["at"])
            for r in self._db.execute("SELECT * FROM verdicts")
        }

    def events(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM events ORDER BY seq DESC LIMIT ?", (limit,)).fetchall()
        return [dict(r) for r in reversed(rows)]

    def upload(self, path: str, file_sha256: str) -> Upload | None:
        row = self._db.execute(
            "SELECT path, file_sha256, storage_key FROM uploads WHERE path = ? AND file_sha256 = ?", (path, file_sha256)
        ).fetchone()
        return Upload(row[0], row[1], row[2]) if row else None

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
        with self._transaction(durable=self.durable_intents):
            cur = self._db.execute(
                "INSERT INTO submissions (instance_id, endpoint, provider, input_sha256, generation, idempotency_key,"
                " state, body, estimate_min, estimate_max, attempts, created_at, sent_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
                (instance_id, endpoint, provider, input_sha256, generation, idempotency_key, SENDING,
                 _dump(body), estimate[0], estimate[1], at, at, at),
            )
            sid = int(cur.lastrowid)
            self._event("intent", sid, instance_id, f"attempt 1 {endpoint}")
            self._db.execute("DELETE FROM verdicts WHERE instance_id = ?", (instance_id,))
        return self.get(sid)

    def sending(self, sub: Submission) -> Submission:
        """Another attempt of the same POST (same body, same key), before it is sent (fsynced)."""
        at = now_iso()
        with self._transaction(durable=self.durable_intents):
            self._db.execute(
                "UPDATE submissions SET state = ?, attempts = attempts + 1, sent_at = COALESCE(sent_at, ?),"
                " updated_at = ? WHERE id = ?",
                (SENDING, at, at, sub.id),
            )
            self._event("attempt", sub.id, sub.instance_id, f"attempt {sub.attempts + 1}")
        return self.get(sub.id)

    def _update(self, sub: Submission, kind: str, detail: str | None, **fields: Any) -> Submission:
        fields["updated_at"] = now_iso()
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self._transaction():
            self._db.execute(f"UPDATE submissions SET {cols} WHERE id = ?", (*fields.values(), sub.id))
            self._event(kind, sub.id, sub.instance_id, detail)
        return self.get(sub.id)

    def retryable(self, sub: Submission, error: str, http_status: int | None) -> Submission:
        """The last attempt provably did nothing; another may follow."""
        return self._update(sub, "not_processed", error, state=PREPARED, error=error, http_status=http_status)

    def accepted(
        self,
        sub: Submission,
        *,
        request_id: str,
        session_id: str | None,
        credits_charged: float | None,
        response: Any,
        how: str = "answer",
    ) -> Submission:
        return self._update(
            sub, "accepted", f"{request_id} ({how})", state=ACCEPTED, request_id=request_id,
            session_id=session_id or request_id, credits_charged=credits_charged, http_status=200,
            submitted_at=now_iso(), error=None, response=_dump(response) if response is not None else None,
        )

    def rejected(self, sub: Submission, error: str, http_status: int | None) -> Submission:
        return self._update(sub, "rejected", error, state=REJECTED, error=error, http_status=http_status, finished_at=now_iso())

    def unknown(self, sub: Submission, error: str) -> Submission:
        return self._update(sub, "unknown", error, state=UNKNOWN, error=error)

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
    ) -> Submission:
        return self._update(
            sub, state, error, state=state, result_url=result_url, result_urls=_dump(list(result_urls)),
            thumbnail_url=thumbnail_url,
            credits_charged=credits_charged if credits_charged is not None else sub.credits_charged,
            duration=duration, response=_dump(response) if response is not None else None, error=error,
            finished_at=now_iso(),
        )

    def record_upload(self, path: str, file_sha256: str, storage_key: str, response: Any) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO uploads VALUES (?, ?, ?, ?, ?)",
                (path, file_sha256, storage_key, _dump(response), now_iso()),
            )
            self._event("uploaded", None, None, f"{path} -> {storage_key}")

    def set_verdict(self, instance_id: str, status: str, reason: str | None) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT INTO verdicts VALUES (?, ?, ?, ?) ON CONFLICT(instance_id) DO UPDATE SET"
                " status=excluded.status, reason=excluded.reason, at=excluded.at",
                (instance_id, status, reason, now_iso()),
            )

    def clear_verdicts(self) -> None:
        with self._transaction():
            self._db.execute("DELETE FROM verdicts")


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT, fsynced when ``durable``; counts transitions."""

    def __init__(self, journal: Journal, durable: bool) -> None:
        self.j = journal
        self.durable = durable

    def __enter__(self) -> None:
        db = self.j._db
        if self.durable:
            db.execute("PRAGMA synchronous=FULL")
        db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        db = self.j._db
        try:
            if exc_type is None:
                db.execute("COMMIT")
            else:
                db.execute("ROLLBACK")
        finally:
            if self.durable:
                db.execute("PRAGMA synchronous=NORMAL")
        if exc_type is None:
            self.j._committed()


def _submission(row: sqlite3.Row) -> Submission:
    return Submission(
        id=row["id"], instance_id=row["instance_id"], endpoint=row["endpoint"], provider=row["provider"],
        input_sha256=row["input_sha256"], generation=row["generation"], idempotency_key=row["idempotency_key"],
        state=row["state"], body=_load(row["body"]), estimate_min=row["estimate_min"],
        estimate_max=row["estimate_max"], attempts=row["attempts"], request_id=row["request_id"],
        session_id=row["session_id"], http_status=row["http_status"], credits_charged=row["credits_charged"],
        result_url=row["result_url"], result_urls=tuple(_load(row["result_urls"]) or ()),
        thumbnail_url=row["thumbnail_url"], duration=row["duration"], response=_load(row["response"]),
        error=row["error"], created_at=row["created_at"], sent_at=row["sent_at"],
        submitted_at=row["submitted_at"], finished_at=row["finished_at"], updated_at=row["updated_at"],
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def journal_path(state_dir: str | Path, campaign_path: str | Path) -> Path:
    """``<state_dir>/<stem>-<hash of the campaign's absolute path>.sqlite``."""
    import hashlib

    absolute = str(Path(campaign_path).resolve())
    digest = hashlib.sha256(absolute.encode("utf-8")).hexdigest()[:12]
    return Path(state_dir) / f"{Path(campaign_path).stem}-{digest}.sqlite"
