"""Samsar's video routes that create work: /video/*, /external_users/*, /v2/video/clone, create_movie.

Durations are decided here, deterministically, because prices hang on them:
text-to-video and create_movie render what was asked; an image-list video is one
clip of the model's shortest unit per image (inside the planner's assumed range);
translate, clone, subtitle, outro and footer sessions keep their source's length;
a join is the sum of its parts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as HttpRoute

from renderer.providers.samsar.routes import ROUTES
from renderer.providers.samsar.stand_in.common import gate, source_id
from renderer.sandbox.pipeline import handle
from renderer.sandbox.session import CANCELLED, COMPLETED, PENDING, Session
from renderer.sandbox.state import SandboxState
from renderer.sandbox.submit import Accepted, Call, Handler, submission
from renderer.vocabulary import Route

_PREFIX = {
    "text_to_video": "vid_", "image_list_to_video": "vid_img_", "translate": "vid_tr_",
    "join": "vid_join_", "clone": "vid_clone_", "add_subtitles": "vid_sub_",
    "remove_subtitles": "vid_nosub_", "add_outro_image": "vid_outro_",
    "update_outro_image": "vid_outro_update_", "update_footer_image": "vid_footer_update_",
}
_VIDEO_KINDS = ("video",)


def _external(call: Call) -> bool:
    return call.route.endpoint.startswith("samsar/external_users/")


def _new_id(call: Call, name: str) -> str:
    if _external(call):
        return call.state.new_id("extreq_", 128)
    return call.state.new_id(_PREFIX[name])


def _aspect(inp: dict[str, Any]) -> str:
    ratio = inp.get("aspect_ratio")
    return ratio if ratio in ("16:9", "9:16") else "16:9"  # the docs' fallback


def _language(inp: dict[str, Any]) -> str:
    lang = inp.get("language")
    return lang.lower() if isinstance(lang, str) and lang and lang != "auto" else "en"


def _answer(call: Call, session: Session, charged: Any, **extra: Any) -> Accepted:
    sid = session.id
    body: dict[str, Any] = {"request_id": sid, "session_id": sid}
    if session.external:
        body["external_request_id"] = sid
        body["status_endpoint"] = f"/v1/external_users/status?request_id={sid}"
        body["creditsCharged"] = charged
    body.update(extra)
    return Accepted(body, charged, call.remaining)


def _create(call: Call, name: str, charged: Any, **fields: Any) -> Session:
    sid = _new_id(call, name)
    fields.setdefault("external", _external(call))
    session = call.new_session(sid, "video", credits_charged=charged, **fields)
    session.result_urls = (call.file_url(f"{sid}.mp4"),)
    return session


def _text_to_video(call: Call) -> Response | Accepted:
    inp = call.inp
    price = call.price()
    refused = call.charge(price)
    if refused:
        return refused
    session = _create(
        call, "text_to_video", price, duration=inp["duration"], aspect_ratio=_aspect(inp),
        language=_language(inp), has_subtitles=inp.get("enable_subtitles") is not False,
        provider=inp["video_model"],
    )
    return _answer(call, session, price)


def _image_list_to_video(call: Call) -> Response | Accepted:
    inp = call.inp
    model = inp.get("video_model") or "RUNWAYML"
    units = call.state.table["samsar"]["video_model_units_seconds"].get(model) or [5]
    duration = len(inp["image_urls"]) * min(units)  # one shortest clip per image
    price = call.price({"duration": duration})
    refused = call.charge(price)
    if refused:
        return refused
    session = _create(
        call, "image_list_to_video", price, duration=duration, aspect_ratio=_aspect(inp),
        language=_language(inp), has_subtitles=inp.get("enable_subtitles") is not False, provider=model,
    )
    return _answer(call, session, price)


def _completed_source(call: Call, sid: Any) -> Session | Response:
    session = call.state.find(call.owner, sid, _VIDEO_KINDS)
    if session is None:
        return call.style(404, f"Session {sid} not found")
    status = session.status(call.state.now())
    if status != COMPLETED:
        return call.style(400, f"Session {sid} has no completed video (status {status})")
    return session


def _derived(call: Call, name: str, **overrides: Any) -> Response | Accepted:
    """A new session made from one completed source: translate, clone, subtitles, outro, footer."""
    source = _completed_source(call, source_id(call.inp))
    if isinstance(source, Response):
        return source
    price = call.price()
    refused = call.charge(price)
    if refused:
        return refused
    fields: dict[str, Any] = {
        "duration": source.duration, "aspect_ratio": source.aspect_ratio, "language": source.language,
        "has_subtitles": source.has_subtitles, "provider": source.provider,
        "external": _external(call) or source.external,
    }
    fields.update(overrides)
    session = _create(call, name, price, **fields)
    if name == "clone":
        return _answer(call, session, price, status=PENDING, type="video", creditsCharged=price)
    return _answer(call, session, price)


def _translate(call: Call) -> Response | Accepted:
    inp = call.inp
    return _derived(call, "translate", language=inp["language"].lower(), has_subtitles=inp.get("enable_subtitles") is True)


def _clone(call: Call) -> Response | Accepted:
    return _derived(call, "clone")


def _subtitles(call: Call) -> Response | Accepted:
    adding = call.route.endpoint.endswith("add_subtitles")
    return _derived(call, "add_subtitles" if adding else "remove_subtitles", has_subtitles=adding)


def _outro_footer(call: Call) -> Response | Accepted:
    return _derived(call, call.route.endpoint.rsplit("/", 1)[-1])


def _join(call: Call) -> Response | Accepted:
    sources: list[Session] = []
    for sid in call.inp["session_ids"]:
        source = _completed_source(call, sid)
        if isinstance(source, Response):
            return source
        sources.append(source)
    ratios = sorted({s.aspect_ratio for s in sources})
    if len(ratios) > 1:
        return call.style(400, f"input.session_ids: sessions must share one aspect_ratio; found {', '.join(ratios)}")
    price = call.price()
    refused = call.charge(price)
    if refused:
        return refused
    first = sources[0]
    session = _create(
        call, "join", price, duration=sum(s.duration or 0 for s in sources), aspect_ratio=first.aspect_ratio,
        language=first.language, has_subtitles=all(s.has_subtitles for s in sources), provider=first.provider,
        external=_external(call) or any(s.external for s in sources),
    )
    return _answer(call, session, price)


def _cancel(call: Call) -> Response | Accepted:
    sid = source_id(call.inp)
    session = call.state.find(call.owner, sid, ("video", "movie"))
    if session is None:
        return call.style(404, f"Session {sid} not found")
    status = session.status(call.state.now())
    if status not in (PENDING, CANCELLED):
        return call.style(400, f"Session {sid} is not rendering (status {status}); nothing to cancel")
    price = call.price()
    refused = call.charge(price)
    if refused:
        return refused
    session.cancelled = True
    call.state.touch(session)
    body = {
        "request_id": sid, "session_id": sid, "status": CANCELLED, "cancelled": True,
        "message": "Render cancellation requested.",
    }
    return Accepted(body, price, call.remaining)


def _create_movie(call: Call) -> Response | Accepted:
    inp = call.inp
    price = call.price()
    refused = call.charge(price)
    if refused:
        return refused
    sid = call.state.new_id("movie_")
    session = call.new_session(
        sid, "movie", credits_charged=price, duration=inp["duration"], aspect_ratio=_aspect(inp),
        provider=inp["video_model"],
    )
    session.result_urls = (call.file_url(f"{sid}.mp4"),)
    return Accepted({"request_id": sid}, price, call.remaining)


HANDLERS: dict[str, Handler] = {
    "text_to_video": _text_to_video,
    "image_list_to_video": _image_list_to_video,
    "translate": _translate,
    "join": _join,
    "clone": _clone,
    "subtitles": _subtitles,
    "outro_footer": _outro_footer,
    "cancel": _cancel,
    "create_movie": _create_movie,
}


def _with_external_user(handler: Handler) -> Handler:
    """external_users routes need the `external_user` beside `input` (the schema checks `input` only)."""

    def checked(call: Call) -> Response | Accepted:
        if "external_user" in call.route.job_keys and not isinstance(call.body.get("external_user"), Mapping):
            return call.style(400, "missing required field external_user")
        return handler(call)

    return checked


def submit_route(state: SandboxState, route: Route, handler: Handler) -> HttpRoute:
    process = submission(state, route, _with_external_user(handler))

    async def post(request: Request) -> Response:
        return await handle(state, request, gate, process, endpoint=route.endpoint, submission=True)

    return HttpRoute(route.path, post, methods=["POST"])


def routes(state: SandboxState, version: str) -> list[HttpRoute]:
    """The video submission routes served under /v1 or /v2."""
    return [
        submit_route(state, r, HANDLERS[r.family])
        for r in ROUTES
        if r.family in HANDLERS and r.api_version == version
    ]
