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

Nothing here talks to an API; the scheduler is unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from renderer import providers
from renderer.errors import Invalid, UserError
from renderer.execute import journal as J
from renderer.execute.scheduler import idempotency_key
from renderer.execute.store import JournalStore
from renderer.plan.model import Instance, Outputs, Plan
from renderer.plan.planner import Planner

_STATES = {"pending": J.ACCEPTED, "unknown": J.ACCEPTED, "failed": J.FAILED, "cancelled": J.CANCELLED}


@dataclass(frozen=True, slots=True)
class Adoption:
    adopted: tuple[str, ...]  # instance ids seeded into the journal
    accepted: int  # how many entries of the manifest record an accepted job

    def note(self, manifest: Path, journal: Path) -> str | None:
        if not self.adopted:
            return None
        return (f"adopted {len(self.adopted)} accepted job(s) from {manifest} that the journal {journal} did not know; "
                "they are polled, not sent again")


def accepted_entries(previous: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """Entries that record a job an API accepted (or may have) and that did not complete."""
    jobs = (previous or {}).get("jobs") or {}
    out: dict[str, Mapping[str, Any]] = {}
    for iid, e in jobs.items():
        if not isinstance(e, Mapping) or e.get("status") == "completed":
            continue
        rid = e.get("request_id")
        if (isinstance(rid, str) and rid) or e.get("status") in ("pending", "unknown"):
            out[iid] = e
    return out


def adopt(plan: Plan, planner: Planner, journal: JournalStore, previous: Mapping[str, Any] | None) -> Adoption:
    """Write into ``journal`` every accepted job of ``previous`` it does not know."""
    entries = accepted_entries(previous)
    if not entries:
        return Adoption((), 0)
    claimed = journal.claimed_ids()
    known = journal.current_all()
    instances = {i.id: i for i in plan.instances}
    old_jobs = (previous or {}).get("jobs") or {}
    adopted: list[str] = []
    for iid, e in entries.items():
        inst, sha = instances.get(iid), e.get("input_sha256")
        rid = e.get("request_id") if isinstance(e.get("request_id"), str) and e.get("request_id") else None
        if inst is None or not isinstance(sha, str) or (rid is not None and rid in claimed):
            continue
        current = known.get((iid, sha))
        if current is not None and current.state not in (J.PREPARED, J.REJECTED):
            continue  # the journal knows this submission, or a later one
        _seed(journal, plan, planner, inst, e, sha, rid, old_jobs)
        adopted.append(iid)
    return Adoption(tuple(adopted), len(entries))


def _seed(journal: JournalStore, plan: Plan, planner: Planner, inst: Instance, e: Mapping[str, Any], sha: str,
          rid: str | None, old_jobs: Mapping[str, Any]) -> None:
    route = providers.route(inst.endpoint)
    assert route is not None
    status = str(e.get("status"))
    state = _STATES.get(status, J.ACCEPTED) if rid is not None else J.UNKNOWN
    raw = e.get("generation")
    generation = raw if isinstance(raw, int) and raw >= 1 else 1
    credits: Mapping[str, Any] = e["credits"] if isinstance(e.get("credits"), Mapping) else {}
    est: Mapping[str, Any] = credits["estimated"] if isinstance(credits.get("estimated"), Mapping) else {}
    journal.adopt(
        instance_id=inst.id, endpoint=inst.endpoint, provider=route.provider, input_sha256=sha,
        generation=max(generation, journal.generation_max(inst.id, sha) + 1),
        idempotency_key=idempotency_key(plan.campaign.name, inst.id, sha, generation),
        state=state, body=_body(planner, inst, e, sha, old_jobs),
        estimate=(_number(est.get("min")), _number(est.get("max"))),
        request_id=rid, session_id=e.get("session_id") if isinstance(e.get("session_id"), str) else rid,
        credits_charged=_number(credits.get("charged")),
        sent_at=e.get("submitted_at") if isinstance(e.get("submitted_at"), str) else None,
        error=f"adopted from the manifest ({status})" if state == J.UNKNOWN else None,
    )


def _body(planner: Planner, inst: Instance, e: Mapping[str, Any], sha: str, old_jobs: Mapping[str, Any]) -> Any:
    """The body that was sent: the manifest's copy, else the plan's body with the same hash."""
    if "request_body" in e:
        return e["request_body"]
    if not inst.pending:
        return inst.body if inst.input_sha256 == sha else None
    upstream = {u: Outputs.from_manifest(old_jobs[u]) for u in inst.needs if isinstance(old_jobs.get(u), Mapping)}
    if len(upstream) != len(inst.needs):
        return None
    try:
        body, resolved_sha, _ = planner.resolve(inst.id, upstream)
    except (Invalid, UserError):
        return None
    return body if resolved_sha == sha else None


def _number(x: Any) -> float | None:
    return x if isinstance(x, (int, float)) and not isinstance(x, bool) else None
