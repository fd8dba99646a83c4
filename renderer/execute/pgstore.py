"""The journal in a shared PostgreSQL store: one record of a campaign for every runner, anywhere.

The same promises as the SQLite journal (``renderer.execute.sqlitestore``), over one
connection in autocommit mode:

- ``begin`` commits the intent (with its body and Idempotency-Key) before it returns,
  and so before the POST; ``synchronous_commit`` is on, whatever the server's default.
- Every transition is one statement, one transaction; its event row is written by a
  trigger inside it. The few writes of several statements run in one transaction.
- A write the store refuses (read-only, a lost connection, a full disk) raises
  ``StateError`` naming the store without its password; ``get`` still answers with
  what it would have recorded, so the manifest keeps every id.

Rows are keyed by the campaign's identity (``identity.campaign_identity``), not by a
path on a disk: every checkout, branch and machine that shares the store sees every
submission of the campaign.

The run's lock is a session advisory lock keyed by that identity: one run of a
campaign at a time across every runner, released by the server when the holding
connection ends, however the runner died. ``renderer.holders`` says who holds it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import socket
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from renderer import providers
from renderer.errors import RunLocked, StateError
from renderer.execute import cells, pgconn, pgschema
from renderer.execute import records as J
from renderer.execute.account import Accounts
from renderer.execute.pgaccount import PgDialect
from renderer.execute.records import Adopted, Submission, Upload, Verdict, now_iso
from renderer.execute.transitions import Transitions
from renderer.execute.stateurl import StateUrl
from renderer.manifest import tidy
from renderer.manifest import PricingFamily

_F = TypeVar("_F", bound=Callable[..., Any])
C = object()  # in a statement's parameters: this campaign's id


def lock_key(identity: str) -> int:
    """The advisory lock key of a campaign: 64 bits of the hash of its identity, signed."""
    digest = hashlib.sha256(b"renderer run lock\n" + identity.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def lock_holder(db: pgconn.Connection, campaign_id: int, identity: str) -> dict[str, Any] | None:
    """Who holds a campaign's lock, and whether that run is alive (``running``: its session holds the lock)."""
    row = db.execute("SELECT pid, hostname, acquired_at, backend_pid FROM renderer.holders WHERE campaign_id = %s",
                     (campaign_id,)).fetchone()
    if row is None:
        return None
    key = lock_key(identity) & 0xFFFFFFFFFFFFFFFF
    alive = db.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
        " AND classid = %s::bigint::oid AND objid = %s::bigint::oid AND pid = %s) AS alive",
        (key >> 32, key & 0xFFFFFFFF, row["backend_pid"])).fetchone()
    return {"pid": row["pid"], "hostname": row["hostname"], "acquired_at": row["acquired_at"],
            "running": bool(alive and alive["alive"])}


def locked_out(label: str, name: str, holder: Mapping[str, Any] | None) -> RunLocked:
    """The refusal of a second run of a campaign, naming the run that holds its lock."""
    who = f"pid {holder['pid']} on {holder['hostname']} since {holder['acquired_at']}" if holder else "another runner"
    return RunLocked(f"{label}: another run of campaign {name!r} is in progress ({who}); "
                     "it holds the campaign's lock in the shared store")


READS = frozenset({"current", "current_all", "get", "latest_per_instance", "all", "claimed_ids", "verdicts",
                   "events", "upload", "generation_max", "reconciliations", "meta", "holder"})


def _guarded(fn: _F) -> _F:
    """psycopg errors as StateErrors; after a lost connection, writes are refused (the lock went
    with it) and reads answer from a new connection, else from what this store has seen."""
    reads = fn.__name__ in READS

    @functools.wraps(fn)
    def wrapper(self: "PgJournal", *args: Any, **kwargs: Any) -> Any:
        if self.lost is not None and not reads:
            raise StateError(self.lost)
        try:
            with pgconn.translated(self.url):
                return self._remember(fn(self, *args, **kwargs))
        except StateError as exc:
            if not pgconn.broken(self._db):
                raise  # a refusal (read-only...), the connection still stands
            self.lost = self.lost or str(exc)
            if not reads:
                raise
        if self._reconnect():
            with pgconn.translated(self.url):
                return self._remember(fn(self, *args, **kwargs))
        return remembered(fn.__name__, self._seen(), self._proofs, args, kwargs)

    return wrapper  # type: ignore[return-value]


class PgJournal(Transitions):
    """One campaign's journal in the store. Used from one thread (the run's event loop)."""

    def __init__(self, url: StateUrl, identity: str, name: str, *, create: bool = True,
                 durable_intents: bool = True, after_commit: Callable[[int], None] | None = None) -> None:
        self.url = url
        self.label = url.label
        self.identity = identity
        self.name = name
        self.after_commit = after_commit
        self.transitions = 0
        self.was_empty = False
        self._unsaved: dict[int, Submission] = {}
        self._locked = False
        self._run_id: int | None = None
        self.lost: str | None = None  # why the connection (and with it the lock) was lost
        self._memory: dict[int, Submission] = {}  # every submission read or written: reads after a loss
        self._proofs: dict[str, dict[str, Any]] = {}
        self._db = pgconn.connect(url, durable=durable_intents)
        try:
            with pgconn.translated(url, opening=True):
                pgschema.migrate(self._db, url.label)
                self.campaign: int | None = self._campaign_id(create)
        except BaseException:
            self._db.close()
            raise

    @property
    def known(self) -> bool:
        """The store holds this campaign (a run of it began somewhere)."""
        return self.campaign is not None

    def _campaign_id(self, create: bool) -> int | None:
        if create:
            self._db.execute("INSERT INTO renderer.campaigns (identity, name, created_at) VALUES (%s, %s, %s)"
                             " ON CONFLICT (identity) DO NOTHING", cells.params((self.identity, self.name, now_iso())))
        row = self._db.execute("SELECT id FROM renderer.campaigns WHERE identity = %s",
                               cells.params((self.identity,))).fetchone()
        return int(row["id"]) if row is not None else None

    # -- plumbing ---------------------------------------------------------------

    def _q(self, sql: str, params: tuple[Any, ...] = (C,)) -> Any:
        """One statement; ``C`` among its parameters stands for this campaign's id."""
        return self._db.execute(sql, tuple(self.campaign if p is C else p for p in cells.params(params)))

    def _write(self, sql: str, params: tuple[Any, ...] = (C,)) -> Any:
        """One statement, one transaction: a transition."""
        cur = self._q(sql, params)
        self._committed()
        return cur

    def _committed(self) -> None:
        self.transitions += 1
        if self.after_commit is not None:
            self.after_commit(self.transitions)

    def close(self) -> None:
        with contextlib.suppress(StateError):
            self.release_lock()
        self._db.close()  # the server releases a lock still held with the session

    def _remember(self, result: Any) -> Any:
        found = result.values() if isinstance(result, dict) else result if isinstance(result, list) else (result,)
        for sub in found:
            if isinstance(sub, Submission):
                self._memory[sub.id] = sub
        return result

    def _seen(self) -> list[Submission]:
        return sorted({**self._memory, **self._unsaved}.values(), key=lambda s: s.id)

    def _reconnect(self) -> bool:
        """A new connection for reads (never for writes: it holds no lock)."""
        with contextlib.suppress(Exception):
            self._db.close()
        try:
            self._db = pgconn.connect(self.url)
        except StateError:
            return False
        return True

    def accounts(self) -> Accounts:  # on this connection: an admission commits with the intent it admits
        return Accounts(PgDialect(self._db, self.url))

    @contextlib.contextmanager
    def rolled_back(self) -> Iterator[None]:
        """Everything in the block sees its own writes, and none of them is kept (``plan``)."""
        with pgconn.translated(self.url), self._db.transaction(force_rollback=True):
            if self.campaign is None:
                self.campaign = self._campaign_id(create=True)
            yield

    def set_meta(self, values: Mapping[str, str]) -> None:
        with self._db.transaction():
            for k, v in values.items():
                self._q("INSERT INTO renderer.meta VALUES (%s, %s, %s)"
                        " ON CONFLICT (campaign_id, key) DO UPDATE SET value = excluded.value", (C, k, v))
        self._committed()

    def meta(self) -> dict[str, str]:
        rows = self._q("SELECT key, value FROM renderer.meta WHERE campaign_id = %s")
        return {cells.untext(r["key"]): cells.untext(r["value"]) for r in rows}

    # -- the lock -----------------------------------------------------------------

    def acquire_lock(self) -> str | None:
        """Keep every other run of the campaign off, on any machine. A note when a run that
        held it ended without releasing it (its connection died: the server let go)."""
        got = self._db.execute("SELECT pg_try_advisory_lock(%s) AS got", (lock_key(self.identity),)).fetchone()
        if not (got and got["got"]):
            raise locked_out(self.label, self.name, self.holder())
        self._locked = True
        at = now_iso()
        with self._db.transaction():
            old = self._q("SELECT pid, hostname, acquired_at FROM renderer.holders WHERE campaign_id = %s").fetchone()
            self._q("INSERT INTO renderer.holders VALUES (%s, %s, %s, %s, pg_backend_pid()) ON CONFLICT (campaign_id)"
                    " DO UPDATE SET pid = excluded.pid, hostname = excluded.hostname,"
                    " acquired_at = excluded.acquired_at, backend_pid = excluded.backend_pid",
                    (C, os.getpid(), socket.gethostname(), at))
            self._run_id = int(self._q("INSERT INTO renderer.runs (campaign_id, pid, hostname, started_at)"
                                       " VALUES (%s, %s, %s, %s) RETURNING id",
                                       (C, os.getpid(), socket.gethostname(), at)).fetchone()["id"])
            note = J.stale_lock_note(old) if old is not None else None
            for kind, detail in [("stale_lock_recovered", note)] * bool(note) + [("run", f"pid {os.getpid()} on {socket.gethostname()}")]:
                self._q("INSERT INTO renderer.events (campaign_id, at, kind, detail) VALUES (%s, %s, %s, %s)", (C, at, kind, detail))
        self._committed()
        return note

    def holder(self) -> dict[str, Any] | None:
        """Who holds the lock, and whether that run is alive (``running``: its session holds the lock)."""
        return None if self.campaign is None else lock_holder(self._db, self.campaign, self.identity)

    def release_lock(self) -> None:
        if not self._locked or self.lost is not None or self._db.closed:
            return
        self._locked = False
        with pgconn.translated(self.url), self._db.transaction():
            self._q("DELETE FROM renderer.holders WHERE campaign_id = %s AND backend_pid = pg_backend_pid()")
            if self._run_id is not None:
                self._db.execute("UPDATE renderer.runs SET ended_at = %s WHERE id = %s", (now_iso(), self._run_id))
            self._db.execute("SELECT pg_advisory_unlock(%s)", (lock_key(self.identity),))

    # -- reading ------------------------------------------------------------------

    def current(self, instance_id: str, input_sha256: str) -> Submission | None:
        row = self._q("SELECT * FROM renderer.submissions WHERE campaign_id = %s AND instance_id = %s"
                      " AND input_sha256 = %s ORDER BY generation DESC LIMIT 1", (C, instance_id, input_sha256)).fetchone()
        return J.submission_of(row) if row else None

    def current_all(self) -> dict[tuple[str, str], Submission]:
        """``current`` for every (instance, input) at once: one query at the start of a run."""
        rows = self._q("SELECT DISTINCT ON (instance_id, input_sha256) * FROM renderer.submissions"
                       " WHERE campaign_id = %s ORDER BY instance_id, input_sha256, id DESC")
        return {(s.instance_id, s.input_sha256): s for s in map(J.submission_of, rows)}

    def get(self, submission_id: int) -> Submission:
        if submission_id in self._unsaved or (self._locked and submission_id in self._memory):  # the lock: no other run writes
            return self._unsaved.get(submission_id) or self._memory[submission_id]
        row = self._q("SELECT * FROM renderer.submissions WHERE campaign_id = %s AND id = %s",
                      (C, submission_id)).fetchone()
        if row is None:
            raise StateError(f"{self.label}: submission {submission_id} vanished")
        return J.submission_of(row)

    def latest_per_instance(self) -> list[Submission]:
        """The most recent submission of every instance the journal knows."""
        rows = self._q("SELECT * FROM (SELECT DISTINCT ON (instance_id) * FROM renderer.submissions"
                       " WHERE campaign_id = %s ORDER BY instance_id, id DESC) s ORDER BY id")
        return [J.submission_of(r) for r in rows]

    def all(self) -> list[Submission]:
        rows = self._q("SELECT * FROM renderer.submissions WHERE campaign_id = %s ORDER BY id")
        return [J.submission_of(r) for r in rows]

    def claimed_ids(self) -> set[str]:
        """Every request and session id some submission already owns."""
        ids: set[str] = set()
        for r in self._q("SELECT request_id, session_id FROM renderer.submissions WHERE campaign_id = %s"):
            ids.update(cells.untext(x) for x in (r["request_id"], r["session_id"]) if x)
        return ids

    def verdicts(self) -> dict[str, Verdict]:
        return J.verdicts_of(self._q("SELECT * FROM renderer.verdicts WHERE campaign_id = %s"))

    def events(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self._q("SELECT seq, at, submission_id, instance_id, kind, detail FROM renderer.events"
                       " WHERE campaign_id = %s ORDER BY seq DESC LIMIT %s", (C, limit)).fetchall()
        return [{k: cells.untext(v) for k, v in r.items()} for r in reversed(rows)]

    def families(self) -> dict[str, PricingFamily]:
        return J.families_of(self._q("SELECT family, factor, charged_at, probe_seconds FROM renderer.families"
                                     " WHERE campaign_id = %s"))

    def upload(self, path: str, file_sha256: str) -> Upload | None:
        row = self._q("SELECT path, file_sha256, storage_key FROM renderer.uploads"
                      " WHERE campaign_id = %s AND path = %s AND file_sha256 = %s", (C, path, file_sha256)).fetchone()
        return Upload(*(cells.untext(row[k]) for k in ("path", "file_sha256", "storage_key"))) if row else None

    def generation_max(self, instance_id: str, input_sha256: str) -> int:
        row = self._q("SELECT MAX(generation) AS g FROM renderer.submissions WHERE campaign_id = %s"
                      " AND instance_id = %s AND input_sha256 = %s", (C, instance_id, input_sha256)).fetchone()
        return int(row["g"] or 0)

    def reconciliations(self) -> dict[str, dict[str, Any]]:
        """The last reconciliation that proved each instance's submission, with its evidence."""
        proofs = J.reconciliations_of(self._q("SELECT instance_id, detail FROM renderer.events"
                                              " WHERE campaign_id = %s AND kind = 'reconciled' ORDER BY seq"))
        self._proofs.update(proofs)
        return proofs

    # -- writing ------------------------------------------------------------------

    def begin(self, *, instance_id: str, endpoint: str, provider: str, input_sha256: str, generation: int,
              idempotency_key: str, body: Any, estimate: tuple[float | None, float | None]) -> Submission:
        """The intent, with the exact body, committed before the first POST; this run's
        earlier verdict on the instance goes in the same transaction."""
        at = now_iso()
        text = J.dump_json(body)
        row = self._write(
            "WITH s AS (INSERT INTO renderer.submissions (campaign_id, instance_id, endpoint, provider, input_sha256,"
            " generation, idempotency_key, state, body, estimate_min, estimate_max, attempts, created_at, sent_at,"
            " updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 1, %s, %s, %s) RETURNING id, campaign_id),"
            " v AS (DELETE FROM renderer.verdicts d USING s WHERE d.campaign_id = s.campaign_id"
            " AND d.instance_id = %s) SELECT id FROM s",
            (C, instance_id, endpoint, provider, input_sha256, generation, idempotency_key, J.SENDING, text,
             cells.num(estimate[0]), cells.num(estimate[1]), at, at, at, instance_id),
        ).fetchone()
        return J.intent(int(row["id"]), at, instance_id=instance_id, endpoint=endpoint, provider=provider,
                        input_sha256=input_sha256, generation=generation, idempotency_key=idempotency_key,
                        body_json=text, estimate=estimate)

    def sending(self, sub: Submission) -> Submission:
        """Another attempt of the same POST (same body, same key), committed before it is sent."""
        at = now_iso()
        self._write("UPDATE renderer.submissions SET state = %s, attempts = %s, sent_at = COALESCE(sent_at, %s),"
                    " updated_at = %s WHERE campaign_id = %s AND id = %s",
                    (J.SENDING, sub.attempts + 1, at, at, C, sub.id))
        return replace(sub, state=J.SENDING, attempts=sub.attempts + 1, sent_at=sub.sent_at or at, updated_at=at)

    def _set(self, submission_id: int, columns: dict[str, Any]) -> None:
        if self.lost is not None:
            raise StateError(self.lost)
        cols = ", ".join(f"{k} = %s" for k in columns)
        try:
            with pgconn.translated(self.url):
                self._write(f"UPDATE renderer.submissions SET {cols} WHERE campaign_id = %s AND id = %s",
                            (*columns.values(), C, submission_id))
        except StateError as exc:
            if pgconn.broken(self._db):
                self.lost = self.lost or str(exc)
            raise

    def _update(self, sub: Submission, **fields: Any) -> Submission:
        new: Submission = self._remember(super()._update(sub, **fields))
        return new

    def record_adopted(self, sub: Adopted) -> None:
        """Seed a submission another run made, as the manifest records it."""
        at = now_iso()
        self._write(
            "INSERT INTO renderer.submissions (campaign_id, instance_id, endpoint, provider, input_sha256, generation,"
            " idempotency_key, state, body, estimate_min, estimate_max, attempts, request_id, session_id,"
            " credits_charged, error, created_at, sent_at, submitted_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 1, %s, %s, %s, %s, %s, %s, %s, %s)",
            (C, sub.instance_id, sub.endpoint, sub.provider, sub.input_sha256, sub.generation, sub.idempotency_key,
             sub.state, J.dump_json(sub.body), cells.num(sub.estimate[0]), cells.num(sub.estimate[1]),
             sub.request_id, sub.session_id, cells.num(sub.credits_charged), sub.error, at, sub.sent_at or at,
             sub.sent_at if sub.request_id else None, at),
        )

    def set_family(self, family: PricingFamily) -> None:
        """What a run learned about a pricing family, merged in one statement with what the store
        holds (another runner may be learning too): the larger factor wins."""
        self._write("INSERT INTO renderer.families VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (campaign_id, family)"
                    " DO UPDATE SET factor = GREATEST(renderer.families.factor, excluded.factor),"
                    " charged_at = COALESCE(excluded.charged_at, renderer.families.charged_at),"
                    " probe_seconds = COALESCE(excluded.probe_seconds, renderer.families.probe_seconds),"
                    " updated_at = excluded.updated_at",
                    (C, family.name, cells.num(family.factor), family.charged_at, cells.num(family.probe_seconds), now_iso()))

    def record_upload(self, path: str, file_sha256: str, storage_key: str, response: Any) -> None:
        self._write("INSERT INTO renderer.uploads VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (campaign_id, path,"
                    " file_sha256) DO UPDATE SET storage_key = excluded.storage_key, response = excluded.response,"
                    " uploaded_at = excluded.uploaded_at", (C, path, file_sha256, storage_key, J.dump_json(response), now_iso()))

    def note(self, kind: str, detail: str, instance_id: str | None = None) -> None:
        """An event worth keeping that is not a state change (a reconciliation, a resubmission)."""
        self._write("INSERT INTO renderer.events (campaign_id, at, instance_id, kind, detail)"
                    " VALUES (%s, %s, %s, %s, %s)", (C, now_iso(), instance_id, kind, detail))
        if kind == "reconciled" and instance_id is not None:
            self._proofs.update(J.reconciliations_of([{"instance_id": instance_id, "detail": detail}]))

    def set_verdict(self, instance_id: str, status: str, reason: str | None) -> None:
        self._write("INSERT INTO renderer.verdicts VALUES (%s, %s, %s, %s, %s) ON CONFLICT (campaign_id, instance_id)"
                    " DO UPDATE SET status = excluded.status, reason = excluded.reason, at = excluded.at",
                    (C, instance_id, status, reason, now_iso()))

    def clear_verdicts(self) -> None:
        self._write("DELETE FROM renderer.verdicts WHERE campaign_id = %s")


def remembered(name: str, subs: list[Submission], proofs: dict[str, dict[str, Any]], args: tuple[Any, ...],
               kwargs: dict[str, Any]) -> Any:
    """A read answered from what a store whose server is out of reach has seen (``subs``, by id):
    enough for the run to write its manifest with every id the API gave."""
    latest: dict[Any, Submission] = {}
    for sub in subs:  # by id: a later submission of an instance (or an input) wins
        latest[(sub.instance_id, sub.input_sha256)] = sub
        latest[sub.instance_id] = sub
    if name == "all":
        return subs
    if name == "get":
        found = [s for s in subs if s.id == (args[0] if args else kwargs["submission_id"])]
        if not found:
            raise StateError("the shared store is out of reach, and this submission was never seen")
        return found[0]
    if name == "current":
        return max((s for s in subs if (s.instance_id, s.input_sha256) == tuple(args)), default=None,
                   key=lambda s: s.generation)
    if name == "current_all":
        return {k: v for k, v in latest.items() if isinstance(k, tuple)}
    if name == "latest_per_instance":
        return sorted((v for k, v in latest.items() if isinstance(k, str)), key=lambda s: s.id)
    if name == "claimed_ids":
        return {x for s in subs for x in (s.request_id, s.session_id) if x}
    if name == "generation_max":
        return max((s.generation for s in subs if (s.instance_id, s.input_sha256) == tuple(args)), default=0)
    if name == "reconciliations":
        return dict(proofs)
    return {"verdicts": {}, "meta": {}, "events": [], "upload": None, "holder": None, "families": {}}[name]


for _name, _fn in list(vars(PgJournal).items()):
    if callable(_fn) and not _name.startswith("_") and _name not in ("close", "rolled_back", "accounts"):
        setattr(PgJournal, _name, _guarded(_fn))


@dataclass(frozen=True, slots=True)
class CampaignSummary:
    """One campaign of the store, for ``renderer status --all``."""

    name: str
    path: str  # relative to its repository (identity.campaign_identity)
    target: str  # where its runs go (identity.journal_key): "NAME=URL" per provider; "" before targets
    runs: int
    last_run: str | None
    holder: dict[str, Any] | None  # pid, hostname, acquired_at, running
    jobs: dict[str, int]  # manifest status -> instances
    charged: float
    held: float  # estimates of submissions that may have cost credits and whose charge is not known yet


_LATEST = """
WITH latest AS (
    SELECT DISTINCT ON (campaign_id, instance_id) campaign_id, instance_id, state, http_status, updated_at
    FROM renderer.submissions ORDER BY campaign_id, instance_id, id DESC)
SELECT COALESCE(l.campaign_id, v.campaign_id) AS campaign_id, l.state, l.http_status,
       CASE WHEN v.instance_id IS NOT NULL AND (l.instance_id IS NULL OR v.at >= l.updated_at)
            THEN v.status END AS verdict,
       COUNT(*) AS n
FROM latest l FULL JOIN renderer.verdicts v ON v.campaign_id = l.campaign_id AND v.instance_id = l.instance_id
GROUP BY 1, 2, 3, 4
"""
_CREDITS = """
SELECT campaign_id, endpoint, COALESCE(SUM(credits_charged), 0) AS charged,
       COALESCE(SUM(estimate_max) FILTER (WHERE credits_charged IS NULL), 0) AS held
FROM renderer.submissions WHERE state = ANY(%s) GROUP BY campaign_id, endpoint
"""
_FACTORS = "SELECT campaign_id, family, factor FROM renderer.families"


def _credits(conn: pgconn.Connection) -> dict[int, dict[str, float]]:
    """Charged and held per campaign; held at estimate x the factor its pricing family was
    charged, as the budget holds it (budget.counted)."""
    factors = {(r["campaign_id"], cells.untext(r["family"])): float(r["factor"]) for r in conn.execute(_FACTORS)}
    out: dict[int, dict[str, float]] = {}
    for r in conn.execute(_CREDITS, (sorted(J.SPENDING),)):
        money = out.setdefault(r["campaign_id"], {"charged": 0.0, "held": 0.0})
        family = providers.family(cells.untext(r["endpoint"]))
        money["charged"] += cells.num(r["charged"]) or 0
        money["held"] += (cells.num(r["held"]) or 0) * factors.get((r["campaign_id"], family), 1.0)
    return out
_CAMPAIGNS = """
SELECT c.id, c.name, c.identity, h.pid, h.hostname, h.acquired_at, h.backend_pid,
       (SELECT COUNT(*) FROM renderer.runs r WHERE r.campaign_id = c.id) AS runs,
       (SELECT MAX(started_at) FROM renderer.runs r WHERE r.campaign_id = c.id) AS last_run,
       EXISTS (SELECT 1 FROM pg_locks k WHERE k.locktype = 'advisory' AND k.granted AND k.pid = h.backend_pid)
           AS running
FROM renderer.campaigns c LEFT JOIN renderer.holders h ON h.campaign_id = c.id
ORDER BY c.name, c.identity
"""


def campaign_summaries(url: StateUrl) -> list[CampaignSummary]:
    """Every campaign the store holds: runs, jobs by status, credits charged and held (three queries)."""
    conn = pgconn.connect(url)
    try:
        with pgconn.translated(url):
            pgschema.migrate(conn, url.label)
            jobs: dict[int, dict[str, int]] = {}
            for r in conn.execute(_LATEST):
                status = cells.untext(r["verdict"]) or J.public_status(r["state"], r["http_status"])
                counts = jobs.setdefault(r["campaign_id"], {})
                counts[status] = counts.get(status, 0) + int(r["n"])
            credits = _credits(conn)
            out = []
            for c in conn.execute(_CAMPAIGNS):
                money = credits.get(c["id"]) or {"charged": 0, "held": 0}
                holder = None if c["pid"] is None else {
                    "pid": c["pid"], "hostname": c["hostname"], "acquired_at": c["acquired_at"],
                    "running": bool(c["running"])}
                name, _, rest = cells.untext(c["identity"]).partition("\n")
                path, _, target = rest.partition("\n")
                out.append(CampaignSummary(
                    name=cells.untext(c["name"]), path=path, target=target.replace("\n", ", "),
                    runs=int(c["runs"]), last_run=c["last_run"],
                    holder=holder, jobs=dict(sorted(jobs.get(c["id"], {}).items())),
                    charged=tidy(money["charged"]), held=tidy(money["held"])))
            return out
    finally:
        conn.close()


def campaign_journals(url: StateUrl) -> list[PgJournal]:
    """Every campaign's journal in the store (``renderer log --all``); close each."""
    conn = pgconn.connect(url)
    try:
        with pgconn.translated(url):
            pgschema.migrate(conn, url.label)
            rows = conn.execute("SELECT identity, name FROM renderer.campaigns ORDER BY name, identity").fetchall()
    finally:
        conn.close()
    return [PgJournal(url, cells.untext(r["identity"]), cells.untext(r["name"]), create=False) for r in rows]
