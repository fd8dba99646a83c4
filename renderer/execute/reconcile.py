"""Settling a POST whose answer was lost, without paying twice.

When a submission may have been processed (read timeout, connection reset after
the request was written, a 5xx without Retry-After, or a run killed between the
intent and the answer) and the provider is not known to honour Idempotency-Key,
the only safe moves are to *prove* what happened from what the API lists, or to
say "unknown" and leave the decision to a person (``--resubmit-unknown``).

What the list routes can prove, and what they cannot:

- Routes whose provider has a reconciliation list (``Provider.RECONCILIATION``, e.g.
  ``GET /image/list``) show recent sessions. A listed
  session is this submission's only with proof from its *own* fields: they echo
  the body that was sent (its source ``image_url``, ``image_urls``, ``prompt``...),
  every field both carry is equal, at least one of them identifies the input, it
  was created in the submission's window (from ``clock_skew`` before the first
  attempt), no submission in the journal owns it, and it is the only such session.
  Another unsettled submission with the same identifying input makes it ambiguous.
  Being "the only unclaimed session" of a case type is not proof: another campaign
  on the same account, or another client, creates those too. A list whose items
  do not echo the input (the docs' example does not) proves nothing: ``unknown``.
- An empty list does not prove that nothing was processed (a request can still be
  in the server's queue, and the list only shows the most recent sessions), so
  absence never allows a resubmission.
- A list of completed sessions that shows neither inputs nor creation times cannot
  tie a session to a request, and routes without a list have nothing: ``unknown``.

Every proof comes with its evidence (``Finding.evidence``): the scheduler prints
it, and the manifest entry records it under ``reconciled``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Iterable, Mapping

from renderer import providers
from renderer.execute.client import ProviderClient, route_url
from renderer.execute.records import SENDING, UNKNOWN, Submission, parse_iso
from renderer.providers import shapes
from renderer.vocabulary import Route
from renderer.providers.protocol import Reconciliation


# Fields of a body that identify its input, when a listed session echoes them.
IDENTIFYING = ("image_url", "image_urls", "prompt", "images", "image_list")


@dataclass(frozen=True, slots=True)
class Finding:
    """The outcome of one reconciliation: a proven request id with its evidence, or why there is none."""

    request_id: str | None
    note: str
    payload: Any = None
    evidence: Mapping[str, Any] | None = None
    by: str | None = None  # the list route that proved it


def _capability(route: Route) -> Reconciliation | None:
    return next((rec for rec in providers.of(route).RECONCILIATION if rec.applies(route)), None)


def can_reconcile(route: Route) -> bool:
    return _capability(route) is not None


def _input(body: Any) -> Mapping[str, Any]:
    if isinstance(body, Mapping):
        inner = body.get("input")
        return inner if isinstance(inner, Mapping) else body
    return {}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a == b or a.lower() == b.lower()  # "2k" sent, "2K" echoed
    return bool(a == b)


def matching_fields(sent: Any, item: Mapping[str, Any]) -> dict[str, Any] | None:
    """The fields a listed session shares with the body sent, if they prove it is that body's."""
    inp = _input(sent)
    shared = {k: inp[k] for k in inp if k in item and item[k] is not None and inp[k] is not None}
    if not any(k in IDENTIFYING for k in shared):
        return None
    if any(not _same(v, item[k]) for k, v in shared.items()):
        return None
    return shared


def _identity(body: Any) -> tuple[tuple[str, str], ...]:
    inp = _input(body)
    return tuple((k, repr(inp[k])) for k in IDENTIFYING if k in inp)


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
    mine = _identity(sub.body)
    if not mine:
        return Finding(None, f"the body sent holds none of {', '.join(IDENTIFYING)}: nothing could prove a session is ours")
    rivals = [
        s for s in unsettled
        if s.id != sub.id and s.state in (SENDING, UNKNOWN) and s.endpoint in _same_case(route, rec, case_type)
        and _identity(s.body) == mine
    ]
    if rivals:
        return Finding(None, f"{len(rivals) + 1} unsettled {case_type} submissions with the same input; "
                             "the list cannot tell them apart")
    answer = await client.send(
        "GET", route_url(client.base_url, route, rec.path), params={"limit": str(list_limit)}, label="reconcile"
    )
    sessions = rec.sessions(answer.payload) if answer.ok else None
    if sessions is None:
        return Finding(None, f"could not read {rec.path} ({answer.error or 'unexpected shape'})")
    since = (parse_iso(sub.sent_at or sub.created_at) or now) - clock_skew
    candidates = _candidates(sessions, sub, rec.kind_field, case_type, claimed, since)
    if len(candidates) == 1:
        item, fields = candidates[0]
        rid = shapes.optional_id(item.get("request_id")) or shapes.optional_id(item.get("session_id"))
        evidence = {"session_id": item.get("session_id"), "case_type": case_type, "created_at": item.get("created_at"),
                    "matched": fields, "window_start": _iso(since)}
        return Finding(rid, f"proven by {rec.path}: the only unclaimed {case_type} session since the intent "
                            f"whose own fields match the body sent ({', '.join(sorted(fields))})", item, evidence, rec.path)
    if not candidates:
        return Finding(None, f"no unclaimed {case_type} session listed since the intent echoes the body sent; "
                             "that does not prove it was not processed")
    return Finding(None, f"{len(candidates)} unclaimed {case_type} sessions since the intent match the body sent; "
                         "cannot tell which is ours")


def _candidates(sessions: Iterable[Any], sub: Submission, kind_field: str, case_type: str, claimed: set[str],
                since: float) -> list[tuple[Mapping[str, Any], dict[str, Any]]]:
    """Listed sessions of the case type, unclaimed, created in the window, echoing the body sent."""
    out: list[tuple[Mapping[str, Any], dict[str, Any]]] = []
    for item in sessions:
        if not isinstance(item, Mapping) or item.get(kind_field) != case_type:
            continue
        sid = shapes.optional_id(item.get("session_id")) or shapes.optional_id(item.get("request_id"))
        if sid is None or sid in claimed:
            continue
        created = parse_iso(item.get("created_at")) if isinstance(item.get("created_at"), str) else None
        if created is None or created < since:
            continue
        fields = matching_fields(sub.body, item)
        if fields is not None:
            out.append((item, fields))
    return out


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _same_case(route: Route, rec: Reconciliation, case_type: str) -> set[str]:
    """The endpoints whose sessions the list reports with the same case type."""
    return {r.endpoint for r in providers.of(route).ROUTES if rec.applies(r) and rec.case_types.get(r.family) == case_type}
