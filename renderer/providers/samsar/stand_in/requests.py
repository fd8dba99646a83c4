"""Samsar's request lists and the detailed status: GET /v2/requests, /v1/external_users/requests, /v2/status_detailed.

samsar-js types a listed request as ``ExternalRequestSummary``; order, paging and the
``route_key`` values are unpublished. The stand-in lists newest first, ``limit``
(default 50, capped at 500; a malformed one is a 400, as /image/list's), and names a
route by its path below /v2 (``text_to_video``, ``video/step/text_to_video``).
``/v2/requests`` lists every /v2 request of the key (with an external user's identity in
the query, that user's only); ``/v1/external_users/requests`` every external request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as HttpRoute

from renderer.providers.samsar.stand_in.common import IDENTITY_KEYS, gate, same_user
from renderer.providers.samsar.stand_in.image import parse_limit
from renderer.providers.samsar.stand_in.step import detailed
from renderer.sandbox.faults import FaultPlan
from renderer.sandbox.pipeline import Process, handle, message, ok
from renderer.sandbox.session import COMPLETED, PENDING, Session, iso
from renderer.sandbox.state import SandboxState

DEFAULT_LIMIT, CAP = 50, 500


def summary(session: Session, now: float) -> dict[str, Any]:
    """samsar-js ``ExternalRequestSummary`` of one request."""
    status = session.status(now)
    v2 = session.extra.get("v2") or {}
    sources = list(v2.get("source_ids") or ())
    finished = session.created_wall + max(0.0, min(session.ready_at, now) - session.created_at)
    item: dict[str, Any] = {
        "request_id": session.id, "upstream_request_id": session.id, "upstream_session_id": session.id,
        "route_key": v2.get("route_key") or session.endpoint.split("/", 1)[-1], "status": status,
        "prompt": v2.get("prompt"), "video_url": session.result_urls[0] if status == COMPLETED else None,
        "image_count": v2.get("image_count"), "credits_charged": session.credits_charged, "credits_refunded": 0,
        "target_language": v2.get("target_language"), "source_request_ids": sources, "source_session_ids": sources,
        "created_at": iso(session.created_wall), "updated_at": iso(session.created_wall if status == PENDING else finished),
    }
    if session.external:
        item["external_request_id"] = session.id
    return item


def _lister(state: SandboxState, label: str, wanted: Callable[[Session], bool]) -> Process:
    async def process(request: Request, owner: str | None, plan: FaultPlan) -> Response:
        state.counters.status_reads[label] += 1
        query = request.query_params
        limit = parse_limit(query.get("limit"), CAP)
        if isinstance(limit, str):
            return message(400, limit)
        now = state.now()
        mine = [s for s in list(state.sessions.values())
                if s.owner == owner and s.kind == "video" and wanted(s) and same_user(s, query)]
        mine.reverse()  # most recent first
        body: dict[str, Any] = {"requests": [summary(s, now) for s in mine[: limit or DEFAULT_LIMIT]]}
        user = {k: v for k, v in query.items() if k in IDENTITY_KEYS}
        if user:
            body["external_user"] = user
        return ok(body)

    return process


def _detailed(state: SandboxState) -> Process:
    async def process(request: Request, owner: str | None, plan: FaultPlan) -> Response:
        state.counters.status_reads["GET /v2/status_detailed"] += 1
        rid = request.query_params.get("request_id") or request.query_params.get("session_id")
        if not rid:
            return message(400, "request_id query parameter is missing.")
        session = state.find(owner or "", rid, ("video",))
        if session is None:
            return message(404, f"Request {rid} not found")
        state.counters.status_reads_by_id[rid] += 1
        return ok(detailed(session, state.now()))

    return process


def routes(state: SandboxState, version: str) -> list[HttpRoute]:
    if version == "v1":
        readers = [("/external_users/requests", _lister(state, "GET /v1/external_users/requests", lambda s: s.external))]
    else:
        readers = [("/requests", _lister(state, "GET /v2/requests", lambda s: "v2" in s.extra)),
                   ("/status_detailed", _detailed(state))]
    out = []
    for path, reader in readers:
        async def get(request: Request, reader: Process = reader) -> Response:
            return await handle(state, request, gate, reader)

        out.append(HttpRoute(path, get, methods=["GET"]))
    return out
