"""Samsar's image routes: enhance, remove/replace branding, add_image_set, rollups, titles, /image/status, /image/list.

A rollup-with-enhance tile counts as low resolution unless it already gives an
`enhanced_url`, and so do its header and footer images (the docs' example charges them);
low-resolution images are enhanced at 1k (the cheapest tier), so the charge is exact and
inside the planner's range.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as HttpRoute

from renderer.providers.samsar.routes import ROLLUP_FRAME_KEYS, ROUTES
from renderer.providers.samsar.stand_in.common import gate, rollup_images
from renderer.providers.samsar.stand_in.video import served, submit_route
from renderer.sandbox.forms import is_multipart, parse_multipart
from renderer.sandbox.faults import FaultPlan
from renderer.sandbox.pipeline import Process, handle, message, ok
from renderer.sandbox.session import COMPLETED, FAILED, PENDING, Session, iso
from renderer.sandbox.state import SandboxState
from renderer.sandbox.submit import Accepted, Call, Handler

_IMAGE_KINDS = ("image",)
_PROVIDER = "NANOBANANA"
LIST_CAP = 500


def _queued(call: Call, prefix: str, case_type: str, n_results: int = 1, **extra: Any) -> tuple[Session, int | float] | Response:
    price = call.price(extra.pop("estimate", None))
    refused = call.charge(price)
    if refused:
        return refused
    sid = call.state.new_id(prefix)
    session = call.new_session(sid, "image", credits_charged=price, provider=_PROVIDER, case_type=case_type)
    names = [f"{sid}.png"] if n_results == 1 else [f"{sid}-{i + 1}.png" for i in range(n_results)]
    session.result_urls = tuple(call.file_url(n) for n in names)
    return session, price


def _ids(session: Session) -> dict[str, Any]:
    return {"request_id": session.id, "session_id": session.id, "global_status_id": session.id}


def _enhance(call: Call) -> Response | Accepted:
    made = _queued(call, "img_enh_", "image_enhance")
    if isinstance(made, Response):
        return made
    session, price = made
    res = str(call.inp.get("resolution") or "1k").upper()
    session.extra["echo"] = {"image_url": call.inp["image_url"], "resolution": res}
    body = {
        "status": "queued", **_ids(session), "case_type": session.case_type,
        "image_url": call.inp["image_url"], "resolution": res, "aspect_ratio": "16:9",
        "creditsCharged": price, "remainingCredits": call.remaining,
    }
    return Accepted(body, price, call.remaining)


def _branding(prefix: str, case_type: str, field: str) -> Handler:
    """remove_branding (``image_url``); the samsar-js README's replaceBrandingFromImage (``image_urls``:
    the image and its new logo), queued the same way: its path, answer, case type and price are
    unpublished, and this is the stand-in's assumption."""

    def handler(call: Call) -> Response | Accepted:
        made = _queued(call, prefix, case_type)
        if isinstance(made, Response):
            return made
        session, price = made
        session.extra["echo"] = {field: call.inp[field]}
        body = {
            "status": "queued", **_ids(session), "case_type": session.case_type,
            field: call.inp[field], "creditsCharged": price, "remainingCredits": call.remaining,
        }
        return Accepted(body, price, call.remaining)

    return handler


def _add_image_set(call: Call) -> Response | Accepted:
    inp = call.inp
    n = int(inp.get("num_images") or len(inp["image_urls"]))
    made = _queued(call, "img_set_", "image_list_to_image_set", n_results=n)
    if isinstance(made, Response):
        return made
    session, price = made
    echo = {"image_urls": inp["image_urls"], "prompt": inp.get("prompt"), "num_images": n}
    if "aspect_ratio" in inp:  # samsar-js sends it (the image doc does not list it)
        echo["aspect_ratio"] = inp["aspect_ratio"]
    session.extra["echo"] = echo
    body = {
        "status": "queued", **_ids(session), "case_type": session.case_type,
        "image_urls": inp["image_urls"], "metadata": inp.get("metadata"), "prompt": inp.get("prompt"),
        "num_images": n, **({"aspect_ratio": inp["aspect_ratio"]} if "aspect_ratio" in inp else {}),
        "creditsCharged": price, "remainingCredits": call.remaining,
    }
    return Accepted(body, price, call.remaining)


def _rollup_answer(call: Call, session: Session, price: Any, **extra: Any) -> Accepted:
    session.ready_at = session.created_at  # the docs show rollups finishing within the request
    status = session.status(call.state.now())
    body: dict[str, Any] = {
        "status": {COMPLETED: "completed", FAILED: "failed"}.get(status, "queued"),
        "session_id": session.id, "request_id": session.id, **extra,
    }
    if status == COMPLETED:
        body.update(result_url=session.result_urls[0], thumbnail_url=session.thumbnail_url,
                    result_urls=list(session.result_urls))
    body.update(creditsCharged=price, remainingCredits=call.remaining)
    return Accepted(body, price, call.remaining)


def _rollup(call: Call) -> Response | Accepted:
    made = _queued(call, "rollup_", "rollup_banner")
    if isinstance(made, Response):
        return made
    session, price = made
    session.thumbnail_url = call.file_url(f"{session.id}-thumb.png")
    return _rollup_answer(call, session, price)


def _tile_url(item: Mapping[str, Any]) -> str:
    return str(item.get("enhanced_url") or item.get("image_url"))  # the schema refuses bare strings


def _rollup_enhance(call: Call) -> Response | Accepted:
    images = rollup_images(call.inp)
    low_res = [not i.get("enhanced_url") for i in images]
    frames = sum(1 for k in ROLLUP_FRAME_KEYS if call.inp.get(k))
    made = _queued(call, "rollup_enh_", "rollup_banner_enhance", estimate={"low_res_images": sum(low_res) + frames})
    if isinstance(made, Response):
        return made
    session, price = made
    rollup_id = call.state.new_id("rollup_")
    session.result_urls = (call.file_url(f"{rollup_id}.png"),)
    session.thumbnail_url = call.file_url(f"{rollup_id}-thumb.png")
    inputs = [
        call.file_url(f"{session.id}-tile-{n + 1}.png") if low else _tile_url(item)
        for n, (item, low) in enumerate(zip(images, low_res))
    ]
    session.extra["input_image_urls"] = inputs
    return _rollup_answer(
        call, session, price, rollup_session_id=rollup_id, rollup_request_id=rollup_id,
        case_type=session.case_type, input_image_urls=inputs,
    )


def _title(call: Call) -> Response | Accepted:
    """POST /image/assign_title (and /v2/image/assign_title): a short title, answered at once."""
    price = call.price()
    refused = call.charge(price)
    if refused:
        return refused
    source = call.inp.get("image_url") or "image"
    stem = str(source).split("?")[0].rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0] if "image_url" in call.inp else ""
    words = [w for w in stem.replace("_", "-").split("-") if w and not w.isdigit()] or ["Product", "Photo"]
    metadata = call.inp.get("metadata")
    if isinstance(metadata, Mapping) and isinstance(metadata.get("product"), str):
        words = metadata["product"].split()
    title = " ".join(w.capitalize() for w in words)[:60]
    return Accepted({"content": title, "title": title}, price, call.remaining)


async def _title_form(request: Request) -> dict[str, Any] | str | None:
    """samsar-js uploads a binary image as multipart (``image``, ``metadata``): read as image_data."""
    kind = request.headers.get("content-type", "")
    if not is_multipart(kind):
        return None
    try:
        fields = parse_multipart(await request.body(), kind, "the image as multipart/form-data with an `image` field")
    except ValueError as exc:
        return str(exc)
    if "image" not in fields:
        return "missing required field image"
    _, ctype, data = fields["image"]
    body: dict[str, Any] = {"image_data": f"data:{ctype or 'application/octet-stream'};base64,"
                                          f"{base64.b64encode(data).decode('ascii')}"}
    if "metadata" in fields:
        text = fields["metadata"][2].decode("utf-8", "replace")
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = text
        body["metadata"] = parsed if isinstance(parsed, dict) else text
    return body


HANDLERS: dict[str, Handler] = {
    "image_enhance": _enhance,
    "image_remove_branding": _branding("img_rm_", "logo_remove", "image_url"),
    "image_replace_branding": _branding("img_rp_", "logo_replace", "image_urls"),
    "image_assign_title": _title,
    "image_add_image_set": _add_image_set,
    "image_rollup": _rollup,
    "image_rollup_enhance": _rollup_enhance,
}


# -- reading ----------------------------------------------------------------------------


def image_payload(session: Session, now: float) -> dict[str, Any]:
    status = session.status(now)
    payload: dict[str, Any] = {
        "session_id": session.id, "request_id": session.id, "status": status, "type": "image",
        "provider": session.provider, "case_type": session.case_type,
    }
    if status == COMPLETED:
        payload["result_url"] = session.result_urls[0]
        if len(session.result_urls) > 1:
            payload["result_urls"] = list(session.result_urls)
        if session.thumbnail_url:
            payload["thumbnail_url"] = session.thumbnail_url
        if "input_image_urls" in session.extra:
            payload["input_image_urls"] = session.extra["input_image_urls"]
    elif status == FAILED:
        payload["message"] = "Image generation failed."
    return payload


def _list_item(session: Session, now: float) -> dict[str, Any]:
    finished = session.created_wall + max(0.0, session.ready_at - session.created_at)
    status = session.status(now)
    return {
        **session.extra.get("echo", {}),  # what the submission's answer echoed: its own inputs
        **image_payload(session, now), "request_type": "API", "created_at": iso(session.created_wall),
        "updated_at": iso(session.created_wall if status == PENDING else finished),
    }


def parse_limit(raw: str | None, cap: int) -> int | None | str:
    """The `limit` query value capped by the server; an error message when malformed."""
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        return "limit must be a positive integer"
    if value < 1:
        return "limit must be a positive integer"
    return min(value, cap)


def _image_list(state: SandboxState) -> Process:
    async def process(request: Request, owner: str | None, plan: FaultPlan) -> Response:
        limit = parse_limit(request.query_params.get("limit"), LIST_CAP)
        if isinstance(limit, str):
            return message(400, limit)
        now = state.now()
        mine = [s for s in list(state.sessions.values()) if s.owner == owner and s.kind == "image"]
        mine.reverse()  # most recent first
        return ok({"sessions": [_list_item(s, now) for s in mine[: limit or LIST_CAP]]})

    return process


def routes(state: SandboxState, version: str = "v1") -> list[HttpRoute]:
    """The image routes below /v1 (and /v2's image/assign_title)."""
    out = [
        submit_route(state, r, HANDLERS[r.family], read=_title_form if r.family == "image_assign_title" else None)
        for r in served(ROUTES)
        if r.family in HANDLERS and r.api_version == version
    ]
    if version != "v1":
        return out
    listing = _image_list(state)

    async def image_list(request: Request) -> Response:
        return await handle(state, request, gate, listing)

    out.append(HttpRoute("/image/list", image_list, methods=["GET"]))
    return out
