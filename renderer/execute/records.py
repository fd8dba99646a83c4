"""What a journal holds, in any store: the states of a submission and the records read back.

A submission row belongs to (instance id, input_sha256, generation). A generation
is one logical submission; it may take several HTTP attempts (``attempts``). A new
generation is started only after a definitive outcome (failed or refused), so that
a deliberate re-render gets a new Idempotency-Key.

Both stores (``renderer.execute.sqlitestore``, ``renderer.execute.pgstore``) write
these records and read them back the same way (``submission_of``: a row by column
name); the interface they share is ``renderer.execute.store.JournalStore``, and the
writes after the intent are ``renderer.execute.transitions``. Nothing here opens a
store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping, Protocol

from renderer.execute import cells
from renderer.manifest import PricingFamily
from renderer.vocabulary import JobStatus, SubmissionState, public_status

# Journal states (``renderer.vocabulary.SubmissionState``; ``public_status``: how the manifest calls them).
PREPARED = SubmissionState.PREPARED  # known not processed (retryable error); may be sent again
SENDING = SubmissionState.SENDING  # a POST is, or may have been, on the wire
ACCEPTED = SubmissionState.ACCEPTED
COMPLETED = SubmissionState.COMPLETED
FAILED = SubmissionState.FAILED
CANCELLED = SubmissionState.CANCELLED
REJECTED = SubmissionState.REJECTED  # the API refused it; nothing was processed
UNKNOWN = SubmissionState.UNKNOWN  # sent, answer lost, fate not established
AWAITING = SubmissionState.AWAITING_APPROVAL  # stopped at its approval point (renderer.execute.approval)
APPROVING = SubmissionState.APPROVING  # approved: the continuing POST is, or may have been, on the wire
TERMINAL = frozenset({COMPLETED, FAILED, CANCELLED, REJECTED})
# States whose credits may have been spent.
SPENDING = frozenset({SENDING, ACCEPTED, COMPLETED, FAILED, CANCELLED, UNKNOWN, AWAITING, APPROVING})
FINISHED = frozenset({COMPLETED, FAILED, CANCELLED})  # the API has said all it will about these


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
    def public_status(self) -> JobStatus:
        return public_status(self.state, self.http_status)

    @property
    def cost(self) -> float | None:
        """Credits this submission counts for in a budget: charged, else the estimate's max."""
        if self.state not in SPENDING:
            return 0.0
        if self.credits_charged is not None:
            return self.credits_charged
        return self.estimate_max


@dataclass(frozen=True, slots=True)
class Adopted:
    """A submission another run made, as the manifest records it: what the journal is seeded
    with (``renderer.execute.adoption``) when it does not know it."""

    instance_id: str
    endpoint: str
    provider: str
    input_sha256: str
    generation: int
    idempotency_key: str
    state: str
    body: Any
    estimate: tuple[float | None, float | None]
    request_id: str | None
    session_id: str | None
    credits_charged: float | None
    sent_at: str | None
    error: str | None


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


def dump_json(value: Any) -> str:
    """A JSON cell: compact, keys sorted, as every store writes it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def load_json(text: str | None) -> Any:
    """A JSON cell read back (None stays None)."""
    return None if text is None else json.loads(text)


class Row(Protocol):
    """A stored row, read by column name (``sqlite3.Row``, or psycopg's ``dict_row``)."""

    def __getitem__(self, key: str, /) -> Any: ...


def submission_of(row: Row) -> Submission:
    """A stored row (SQLite's or PostgreSQL's, by column name) as a ``Submission``: both hand back
    doubles, and ``cells.num`` reads 50.0 credits back as 50."""
    t = cells.untext
    return Submission(
        id=row["id"], instance_id=t(row["instance_id"]), endpoint=t(row["endpoint"]), provider=t(row["provider"]),
        input_sha256=t(row["input_sha256"]), generation=row["generation"],
        idempotency_key=t(row["idempotency_key"]), state=row["state"], body=load_json(t(row["body"])),
        estimate_min=cells.num(row["estimate_min"]), estimate_max=cells.num(row["estimate_max"]), attempts=row["attempts"],
        request_id=t(row["request_id"]), session_id=t(row["session_id"]), http_status=row["http_status"],
        credits_charged=cells.num(row["credits_charged"]), result_url=t(row["result_url"]),
        result_urls=tuple(load_json(t(row["result_urls"])) or ()), thumbnail_url=t(row["thumbnail_url"]),
        duration=cells.num(row["duration"]), response=load_json(t(row["response"])), error=t(row["error"]),
        created_at=row["created_at"], sent_at=row["sent_at"], submitted_at=row["submitted_at"],
        finished_at=row["finished_at"], updated_at=row["updated_at"],
        credits_reported=load_json(t(row["credits_reported"])),
    )


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


def families_of(rows: Iterable[Row]) -> dict[str, PricingFamily]:
    """What runs learned about each pricing family, as either store keeps it."""
    return {cells.untext(r["family"]): PricingFamily(cells.untext(r["family"]), r["factor"], r["charged_at"],
                                                     r["probe_seconds"]) for r in rows}


def stale_lock_note(holder: Row) -> str:
    """What a run says when it takes over the lock of a run that ended without releasing it."""
    return (f"recovered a stale lock: the run of pid {holder['pid']} on {holder['hostname']} "
            f"(started {holder['acquired_at']}) ended without releasing it; resuming from the journal")


def intent(submission_id: int, at: str, *, instance_id: str, endpoint: str, provider: str, input_sha256: str,
           generation: int, idempotency_key: str, body_json: str,
           estimate: tuple[float | None, float | None]) -> Submission:
    """The submission ``begin`` just recorded, as any store reads it back."""
    return Submission(
        id=submission_id, instance_id=instance_id, endpoint=endpoint, provider=provider,
        input_sha256=input_sha256, generation=generation, idempotency_key=idempotency_key, state=SENDING,
        body=json.loads(body_json), estimate_min=cells.num(estimate[0]), estimate_max=cells.num(estimate[1]), attempts=1,
        request_id=None, session_id=None, http_status=None, credits_charged=None, result_url=None,
        result_urls=(), thumbnail_url=None, duration=None, response=None, error=None, created_at=at,
        sent_at=at, submitted_at=None, finished_at=None, updated_at=at,
    )
