"""Samsar's receipt templates (samsar-js README): create one (free), read its JSON (free), query a receipt (50).

All three answer at once. A template is kept as a session of kind ``receipt_template``
(so a persistent sandbox remembers it); another key's template is not found. samsar-js
sends every URL and id twice (``image_url`` with ``receipt_url`` and ``template_url``,
``template_id`` with ``receipt_template_id``): copies are folded into the documented
field, and copies that differ are refused.
"""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as HttpRoute

from renderer.providers.samsar.routes import ROUTES
from renderer.providers.samsar.stand_in.common import folding, gate
from renderer.providers.samsar.stand_in.video import served, submit_route
from renderer.sandbox.faults import FaultPlan
from renderer.sandbox.pipeline import Process, handle, message, ok
from renderer.sandbox.session import Session, iso
from renderer.sandbox.state import SandboxState
from renderer.sandbox.submit import Accepted, Call

KIND = ("receipt_template",)
_CREATE = folding((("image_url", "receipt_url"), ("image_url", "template_url")))
_QUERY = folding((("image_url", "receipt_url"), ("template_id", "receipt_template_id")))
FIELDS = [{"key": "amount", "type": "number", "required": True}, {"key": "currency", "type": "string", "required": True},
          {"key": "date", "type": "string", "required": True}, {"key": "reference", "type": "string", "required": False}]


def _template(session: Session) -> dict[str, Any]:
    return {"schema_version": "1", "name": session.extra.get("name"), "fields": FIELDS}


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _create(call: Call) -> Response | Accepted:
    price = call.price()
    refused = call.charge(price)
    if refused:
        return refused
    tid = call.state.new_id("rtpl_")
    session = call.state.add(Session(
        id=tid, owner=call.owner, endpoint=call.route.endpoint, kind=KIND[0], created_at=call.state.now(),
        ready_at=call.state.now(), created_wall=call.state.config.wall_clock(), credits_charged=price,
        extra={"name": call.inp.get("template_name"), "image_url": call.inp["image_url"]},
    ))
    body = {"template_id": tid, "template_hash": _hash(tid), "template_name": call.inp.get("template_name"),
            "normalized_template": _template(session), "created_at": iso(session.created_wall)}
    return Accepted(body, price, call.remaining)


def _query(call: Call) -> Response | Accepted:
    tid = call.inp["template_id"]
    template = call.state.find(call.owner, tid, KIND)
    if template is None:
        return call.style(404, f"Receipt template {tid} not found")
    price = call.price()
    refused = call.charge(price)
    if refused:
        return refused
    digest = int(_hash(str(call.inp["image_url"])), 16)
    amount = f"{100 + digest % 900}.{digest % 100:02d}"
    receipt = {"amount": amount, "currency": "THB", "date": "2026-11-21", "reference": f"REF{digest % 10**8:08d}"}
    body = {
        "template_id": tid, "template_hash": _hash(tid), "template_name": template.extra.get("name"),
        "receipt_json": receipt, "standardized_receipt": {"total": amount, "currency": "THB"},
        "items": [{"description": "transfer", "amount": amount}], "unreadable_fields": [], "confidence": 0.93,
        "validation": {"is_valid": True, "issues": [], "missing_required_fields": [], "type_mismatch_fields": []},
        "attempts": 1, "creditsCharged": price, "remainingCredits": call.remaining,
    }
    return Accepted(body, price, call.remaining)


def _template_json(state: SandboxState) -> Process:
    async def process(request: Request, owner: str | None, plan: FaultPlan) -> Response:
        tid = request.query_params.get("template_id")
        if not tid:
            return message(400, "template_id query parameter is missing.")
        template = state.find(owner or "", tid, KIND)
        if template is None:
            return message(404, f"Receipt template {tid} not found")
        state.counters.status_reads["GET /v1/image/template_json"] += 1
        created = iso(template.created_wall)
        return ok({"template_id": tid, "template_hash": _hash(tid), "template_name": template.extra.get("name"),
                   "source_image_url": template.extra.get("image_url"), "normalized_template": _template(template),
                   "template_json": _template(template), "created_at": created, "updated_at": created})

    return process


HANDLERS = {"receipt_template_create": (_create, _CREATE), "receipt_query": (_query, _QUERY)}


def routes(state: SandboxState) -> list[HttpRoute]:
    out = [submit_route(state, r, HANDLERS[r.family][0], normalise=HANDLERS[r.family][1])
           for r in served(ROUTES) if r.family in HANDLERS]
    reader = _template_json(state)

    async def get(request: Request) -> Response:
        return await handle(state, request, gate, reader)

    out.append(HttpRoute("/image/template_json", get, methods=["GET"]))
    return out
