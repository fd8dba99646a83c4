"""The manifest is the durable record: seed the journal with what it says was accepted.

The journal is a local cache; a CI runner is a new machine, a cache can miss, a
file can be lost. The manifest travels with the campaign (committed, or kept as an
artifact), and records every job an API accepted with its request id. Before the
scheduler starts, every such job the journal does not know is written into the
journal as the manifest records it:

==================================  ==========================================
manifest entry                      journal row (the scheduler then...)
==================================  ==========================================
request id, ``pending``/``unknown`` ``accepted``: polls it, never resubmits it
no request id, ``unknown``          ``unknown``: settles it (same key, or proof)
request id, ``failed``/``cancelled`` that state: a re-render gets a new key
==================================  ==========================================

and every POST ``<manifest>.inflight`` names that neither the manifest nor the journal
accounts for: ``accepted`` with the request id its accepted line names (polled), else
``unknown`` (settled by its key or by proof, never sent blindly).

Nothing here talks to an API; the scheduler is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from renderer import providers
from renderer.errors import Invalid, UserError
from renderer.execute import records as J
from renderer.execute.inflight import Intent, latest
from renderer.execute.submitter import idempotency_key
from renderer.execute.store import JournalStore
from renderer.execute.upload import needs_upload
from renderer.manifest import Manifest, ManifestEntry
from renderer.plan.model import Instance, Plan
from renderer.vocabulary import JobStatus, Outputs

_STATES: dict[str, str] = {JobStatus.PENDING: J.ACCEPTED, JobStatus.UNKNOWN: J.ACCEPTED, JobStatus.FAILED: J.FAILED,
                            JobStatus.CANCELLED: J.CANCELLED}


@dataclass(frozen=True, slots=True)
class Adoption:
    adopted: tuple[str, ...]  # instance ids seeded into the journal
    accepted: int  # how many entries of the manifest record an accepted job

    def note(self, manifest: Path, journal: str) -> str | None:
        if not self.adopted:
            return None
        return (f"adopted {len(self.adopted)} accepted job(s) from {manifest} that the journal {journal} did not know; "
                "they are polled (or settled), not sent again")


def accepted_entries(previous: Manifest | None) -> dict[str, ManifestEntry]:
    """Entries that record a job an API accepted (or may have) and that did not complete."""
    jobs = previous.jobs if previous is not None else {}
    return {iid: e for iid, e in jobs.items()
            if not e.completed and (bool(e.request_id) or e.status in (JobStatus.PENDING, JobStatus.UNKNOWN))}


def adopt_from_manifest(plan: Plan, journal: JournalStore, previous: Manifest | None,
                        intents: Iterable[Intent] = ()) -> Adoption:
    """Write into ``journal`` every accepted job of ``previous`` it does not know, and every
    POST named beside the manifest (``renderer.execute.inflight``) that neither knows."""
    done = _adopt_entries(plan, journal, previous)
    sent = _adopt_intents(journal, previous, intents)
    return Adoption(done.adopted + tuple(i for i in sent if i not in done.adopted), done.accepted)


def _adopt_intents(journal: JournalStore, previous: Manifest | None, intents: Iterable[Intent]) -> tuple[str, ...]:
    """POSTs a killed run named before sending them, that the manifest does not account for:
    ``accepted`` with the request id an accepted line names (polled), else ``unknown`` (they
    may have been processed), settled by the scheduler, never sent blindly."""
    pending = [i for i in latest(intents).values() if not i.accounted_for(previous)]
    if not pending:
        return ()
    known = journal.current_all()
    out = []
    for i in pending:
        current = known.get((i.instance_id, i.input_sha256))
        route = providers.route(i.endpoint)
        if route is None or (current is not None and current.generation >= i.generation):
            continue  # the journal knows this submission (it writes an attempt before naming it here)
        journal.record_adopted(J.Adopted(
            instance_id=i.instance_id, endpoint=i.endpoint, provider=route.provider, input_sha256=i.input_sha256,
            generation=i.generation,
            idempotency_key=i.idempotency_key, body=i.body, estimate=i.estimate, sent_at=i.sent_at or None,
            **_answer(i)))
        out.append(i.instance_id)
    return tuple(out)


def _answer(i: Intent) -> dict[str, Any]:
    """What the killed run knew of the POST's answer: its request id, or nothing."""
    if i.request_id is not None:
        return {"state": J.ACCEPTED, "request_id": i.request_id, "session_id": i.session_id or i.request_id,
                "credits_charged": i.credits_charged, "error": None}
    return {"state": J.UNKNOWN, "request_id": None, "session_id": None, "credits_charged": None,
            "error": "sent by a run that was cut off before its answer was recorded; it may have been processed"}


def _adopt_entries(plan: Plan, journal: JournalStore, previous: Manifest | None) -> Adoption:
    entries = accepted_entries(previous)
    if not entries or previous is None:
        return Adoption((), 0)
    claimed = journal.claimed_ids()
    known = journal.current_all()
    instances = {i.id: i for i in plan.instances}
    adopted: list[str] = []
    for iid, e in entries.items():
        inst, sha, rid = instances.get(iid), e.input_sha256, e.request_id or None
        if inst is None or not sha or (rid is not None and rid in claimed):
            continue
        current = known.get((iid, sha))
        if current is not None and current.state not in (J.PREPARED, J.REJECTED):
            continue  # the journal knows this submission, or a later one
        _seed(journal, plan, inst, e, sha, rid, previous)
        adopted.append(iid)
    return Adoption(tuple(adopted), len(entries))


def _seed(journal: JournalStore, plan: Plan, inst: Instance, e: ManifestEntry, sha: str, rid: str | None,
          previous: Manifest) -> None:
    route = providers.route(inst.endpoint)
    assert route is not None
    status = e.status or JobStatus.UNKNOWN
    state = _STATES.get(status, J.ACCEPTED) if rid is not None else J.UNKNOWN
    est = e.credits_estimated
    journal.record_adopted(J.Adopted(
        instance_id=inst.id, endpoint=inst.endpoint, provider=route.provider, input_sha256=sha,
        generation=max(e.generation, journal.generation_max(inst.id, sha) + 1),
        idempotency_key=idempotency_key(plan.campaign.name, inst.id, sha, e.generation),
        state=state, body=_body(plan, inst, e, sha, previous),
        estimate=(est.min, est.max) if est is not None else (None, None),
        request_id=rid, session_id=e.session_id or rid, credits_charged=e.credits_charged,
        sent_at=e.submitted_at, error=f"adopted from the manifest ({status})" if state == J.UNKNOWN else None,
    ))


def _body(plan: Plan, inst: Instance, e: ManifestEntry, sha: str, previous: Manifest) -> Any:
    """The body that was sent: the manifest's copy, else the plan's body with the same hash.

    None (not known) where a local file was uploaded first: the plan's body names the file,
    the one sent named the upload's storage key, and only ``request_body`` records that."""
    if e.has_request_body:
        return e.request_body
    body = _planned_body(plan, inst, e, sha, previous)
    route = providers.route(inst.endpoint)
    return None if route is not None and needs_upload(route, body) else body


def _planned_body(plan: Plan, inst: Instance, e: ManifestEntry, sha: str, previous: Manifest) -> Any:
    if e.has_request and e.request is not None:
        return e.request  # the body input_sha256 hashes: sent as it is unless a file was uploaded
    if not inst.pending:
        return inst.body if inst.input_sha256 == sha else None
    upstream = {u: Outputs.from_manifest(up) for u in inst.needs if (up := previous.get(u)) is not None}
    if len(upstream) != len(inst.needs) or plan.resolver is None:
        return None
    try:
        resolved = plan.resolver(inst.id, upstream)
    except (Invalid, UserError):
        return None
    return resolved.body if resolved.input_sha256 == sha else None
