"""Settling a POST whose answer was lost, without paying twice.

When a submission may have been processed (read timeout, connection reset after
the request was written, a 5xx without Retry-After, or a run killed between the
intent and the answer) and the provider is not known to honour Idempotency-Key,
the only safe moves are to *prove* what happened from what the API lists, or to
say "unknown" and leave the decision to a person (``--resubmit-unknown``).

What the list routes can prove, and what they cannot:

- Routes whose provider has a reconciliation list (``Provider.RECONCILIATION``, e.g.
  ``GET /image/list``): it shows recent sessions with their ``case_type`` and
  ``created_at`` but not their input. A submission is attributed
  to a listed session only when exactly one session of the route's case type was
  created in the submission's time window (from ``clock_skew`` before the first
  attempt until now) that no other submission in the journal already owns, *and*
  this is the only unsettled submission of that case type. That proves the API
  accepted a request of this kind in that window that this campaign did not
  otherwise account for; it cannot exclude another client of the same account
  sending the same kind of request in the same seconds. Two or more candidates,
  or two or more unsettled submissions, prove nothing: all stay ``unknown``.
- An empty list does not prove that nothing was processed (a request can still be
  in the server's queue, and the list only shows the most recent sessions), so
  absence never allows a resubmission.
- A list of completed sessions that shows neither inputs nor creation times cannot
  tie a session to a request, and routes without a list have nothing: ``unknown``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from renderer import providers
from renderer.execute.client import ProviderClient, route_url
from renderer.execute.journal import SENDING, UNKNOWN, Submission, parse_iso
from renderer.providers.base import Route
from renderer.providers.protocol import Reconciliation


@dataclass(frozen=True, slots=True)
class Finding:
    """The outcome of one reconciliation: a proven request id, or why there is none."""

    request_id: str | None
    note: str
    payload: Any = None


def _capability(route: Route) -> Reconciliation | None:
    rec = providers.of(route).RECONCILIATION
    return rec if rec is not None and rec.applies(route) else None


def can_reconcile(route: Route) -> bool:
    return _capability(route) is not None


async def reconcile(
    client: ProviderClient,
    route: Route,
    sub: Submission,
    *,
    claimed: set[str],
    unsettled: Iterable[Submission],
    clock_skew: float,
    now: float,
    list_limit: int = 500,
) -> Finding:
    """Try to prove which session (if any) an ambiguous submission created."""
    rec = _capability(route)
    if rec is None:
        return Finding(None, f"{route.endpoint} has no list route that ties a session to a request")
    case_type = rec.case_types[route.family]
    rivals = [
        s for s in unsettled
        if s.id != sub.id and s.state in (SENDING, UNKNOWN) and s.endpoint in _same_case(route, rec, case_type)
    ]
    if rivals:
        return Finding(None, f"{len(rivals) + 1} unsettled {case_type} submissions; the list cannot tell them apart")
    answer = await client.send(
        "GET", route_url(client.base_url, route, rec.path), params={"limit": str(list_limit)}, label="reconcile"
    )
    sessions = rec.sessions(answer.payload) if answer.ok else None
    if sessions is None:
        return Finding(None, f"could not read {rec.path} ({answer.error or 'unexpected shape'})")
    since = (parse_iso(sub.sent_at or sub.created_at) or now) - clock_skew
    candidates = []
    for item in sessions:
        if not isinstance(item, Mapping) or item.get("case_type") != case_type:
            continue
        sid = item.get("session_id") or item.get("request_id")
        if not isinstance(sid, str) or sid in claimed:
            continue
        created = parse_iso(item.get("created_at")) if isinstance(item.get("created_at"), str) else None
        if created is None or created < since:
            continue
        candidates.append(item)
    if len(candidates) == 1:
        item = candidates[0]
        rid = item.get("request_id") or item.get("session_id")
        return Finding(rid, f"proven by {rec.path}: the only unclaimed {case_type} session created since the intent", item)
    if not candidates:
        return Finding(None, f"no unclaimed {case_type} session listed since the intent; that does not prove it was not processed")
    return Finding(None, f"{len(candidates)} unclaimed {case_type} sessions since the intent; cannot tell which is ours")


def _same_case(route: Route, rec: Reconciliation, case_type: str) -> set[str]:
    """The endpoints whose sessions the list reports with the same case type."""
    return {r.endpoint for r in providers.of(route).ROUTES if rec.case_types.get(r.family) == case_type}
