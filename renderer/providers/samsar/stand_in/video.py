"""Samsar's video routes that create work: /video/*, /external_users/*, the /v2 omni routes, create_movie.

Durations are decided here, deterministically, because prices hang on them:
text-to-video and create_movie render what was asked; an image-list video is one
clip of the model's shortest unit per image (inside the planner's assumed range);
translate, clone, subtitle, outro, footer and avatar sessions keep their source's
length; a join is the sum of its parts.

A request names an external user with ``external_user`` beside `input` (or samsar-js's
flat identity keys on /v2): its session is external (an ``extreq_`` id, listed for that
user). An /external_users/* follow-up without one acts on the account's own session and
is billed as /video/* would be (video doc); only the two creation routes require it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as HttpRoute

from renderer.providers.samsar.routes import ROUTES
from renderer.providers.samsar.stand_in.common import canvas_refusal, external_user, gate, source_id
from renderer.sandbox.pipeline import handle
from renderer.sandbox.session import CANCELLED, COMPLETED, PENDING, Session
from renderer.sandbox.state import SandboxState
from renderer.sandbox.submit import Accepted, Call, Handler, Normaliser, Reader, submission
from renderer.vocabulary import Route

_PREFIX = {
    "text_to_video": "vid_", "image_list_to_video": "vid_img_", "translate": "vid_tr_",
    "join": "vid_join_", "clone": "vid_clone_", "add_subtitles": "vid_sub_",
    "remove_subtitles": "vid_nosub_", "add_outro_image": "vid_outro_",
    "update_outro_image": "vid_outro_update_", "update_footer_image": "vid_footer_update_",
    "regenerate_avatar": "vid_avatar_", "step": "vid_step_",
}
_VIDEO_KINDS = ("video",)


def _external(call: Call) -> bool:
    return external_user(call.body) is not None


def _new_id(call: Call, name: str, external: bool) -> str:
    if external:
        return call.state.new_id("extreq_", 128)
    return call.state.new_id(_PREFIX[name])


def aspect(inp: dict[str, Any]) -> str:
    ratio = inp.get("aspect_ratio")
    return ratio if ratio in ("16:9", "9:16") else "16:9"  # the docs' fallback


def language(inp: dict[str, Any]) -> str:
    lang = inp.get("language")
    return lang.lower() if isinstance(lang, str) and lang and lang != "auto" else "en"


def answer(call: Call, session: Session, charged: Any, **extra: Any) -> Accepted:
    sid = session.id
    body: dict[str, Any] = {"request_id": sid, "session_id": sid}
    if session.external:
        status_path = "/v2/status" if call.route.api_version == "v2" else "/v1/external_users/status"
        body["external_request_id"] = sid
        body["status_endpoint"] = f"{status_path}?request_id={sid}"
        body["creditsCharged"] = charged
    body.update(extra)
    return Accepted(body, charged, call.remaining)


def create(call: Call, name: str, charged: Any, **fields: Any) -> Session:
    """A new video session of this request (external when the request or its source is)."""
    fields.setdefault("external", _external(call))
    sid = _new_id(call, name, fields["external"])
    session = call.new_session(sid, "video", credits_charged=charged, **fields)
    session.result_urls = (call.file_url(f"{sid}.mp4"),)
    user = external_user(call.body)
    if user:
        session.extra["external_user"] = user
    if call.route.api_version == "v2":  # what GET /v2/requests shows of it
        inp = call.inp
        sources = [v for v in (source_id(inp),) if isinstance(v, str)] + \
            [v for v in inp.get("session_ids") or () if isinstance(v, str)]
        images = inp.get("image_urls")
        session.extra["v2"] = {
            "route_key": call.route.path.lstrip("/"), "prompt": inp.get("prompt"),
            "image_count": len(images) if isinstance(images, list) else None,
            "target_language": inp.get("language") if call.route.family == "translate" else None,
            "source_ids": sources,
        }
    return session


def image_list_duration(call: Call) -> int:
    """One clip of the model's shortest unit per image (inside the planner's assumed range)."""
    model = call.inp.get("video_model") or "RUNWAYML"
    units = call.state.table["samsar"]["video_model_units_seconds"].get(model) or [5]
    return len(call.inp["image_urls"]) * min(units)


def _text_to_video(call: Call) -> Response | Accepted:
    inp = call.inp
    price = call.price()
    refused = call.charge(price)
    if refused:
        return refused
    session = create(
        call, "text_to_video", price, duration=inp["duration"], aspect_ratio=aspect(inp),
        language=language(inp), has_subtitles=inp.get("enable_subtitles") is not False,
        provider=inp["video_model"],
    )
    return answer(call, session, price)


def _image_list_to_video(call: Call) -> Response | Accepted:
    inp = call.inp
    duration = image_list_duration(call)
    price = call.price({"duration": duration})
    refused = call.charge(price)
    if refused:
        return refused
    session = create(
        call, "image_list_to_video", price, duration=duration, aspect_ratio=aspect(inp),
        language=language(inp), has_subtitles=inp.get("enable_subtitles") is not False,
        provider=inp.get("video_model") or "RUNWAYML",
    )
    return answer(call, session, price)


def _completed_source(call: Call, sid: Any) -> Session | Response:
    session = call.state.find(call.owner, sid, _VIDEO_KINDS)
    if session is None:
        return call.style(404, f"Session {sid} not found")
    status = session.status(call.state.now())
    if status != COMPLETED:
        return call.style(400, f"Session {sid} has no completed video (status {status})")
    return session


def _derived(call: Call, name: str, **overrides: Any) -> Response | Accepted:
    """A new session made from one completed source: translate, clone, subtitles, outro, footer, avatar."""
    source = _completed_source(call, source_id(call.inp))
    if isinstance(source, Response):
        return source
    refusal = canvas_refusal(call, source)  # an outro box is "validated against the session canvas"
    if refusal:
        return call.style(400, refusal)
    price = call.price()
    refused = call.charge(price)
    if refused:
        return refused
    fields: dict[str, Any] = {
        "duration": source.duration, "aspect_ratio": source.aspect_ratio, "language": source.language,
        "has_subtitles": source.has_subtitles, "provider": source.provider,
        "external": _external(call) or source.external,  # an extreq_ id stays external
    }
    fields.update(overrides)
    session = create(call, name, price, **fields)
    if name in ("clone", "regenerate_avatar"):
        return answer(call, session, price, status=PENDING, type="video", creditsCharged=price)
    return answer(call, session, price)


def _translate(call: Call) -> Response | Accepted:
    inp = call.inp
    return _derived(call, "translate", language=inp["language"], has_subtitles=inp.get("enable_subtitles") is True)


def _clone(call: Call) -> Response | Accepted:
    return _derived(call, "clone")


def _regenerate_avatar(call: Call) -> Response | Accepted:
    return _derived(call, "regenerate_avatar")


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
    session = create(
        call, "join", price, duration=sum(s.duration or 0 for s in sources), aspect_ratio=first.aspect_ratio,
        language=first.language, has_subtitles=all(s.has_subtitles for s in sources), provider=first.provider,
        external=_external(call) or any(s.external for s in sources),
    )
    return answer(call, session, price)


def _cancel(call: Call) -> Response | Accepted:
    """/video/cancel_render: video sessions only (the create_movie docs have no cancel)."""
    sid = source_id(call.inp)
    session = call.state.find(call.owner, sid, _VIDEO_KINDS)
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
        sid, "movie", credits_charged=price, duration=inp["duration"], aspect_ratio=aspect(inp),
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
    "regenerate_avatar": _regenerate_avatar,
    "subtitles": _subtitles,
    "outro_footer": _outro_footer,
    "cancel": _cancel,
    "create_movie": _create_movie,
}


def _with_external_user(handler: Handler) -> Handler:
    """The routes that require `external_user` beside `input` (the schema checks `input` only)."""

    def checked(call: Call) -> Response | Accepted:
        if "external_user" in call.route.requires and not isinstance(call.body.get("external_user"), Mapping):
            return call.style(400, "missing required field external_user")
        return handler(call)

    return checked


def submit_route(state: SandboxState, route: Route, handler: Handler, *, read: Reader | None = None,
                 normalise: Normaliser | None = None) -> HttpRoute:
    process = submission(state, route, _with_external_user(handler), read=read, normalise=normalise)

    async def post(request: Request) -> Response:
        return await handle(state, request, gate, process, endpoint=route.endpoint, submission=True)

    return HttpRoute(route.path, post, methods=["POST"])


def served(routes: tuple[Route, ...]) -> list[Route]:
    """One route per path: a client-only alias that posts to a documented path is served by that path."""
    seen: set[tuple[str, str]] = set()
    out: list[Route] = []
    for r in sorted(routes, key=lambda r: r.alias_of is not None):
        if (r.api_version, r.path) not in seen:
            seen.add((r.api_version, r.path))
            out.append(r)
    return out


def routes(state: SandboxState, version: str) -> list[HttpRoute]:
    """The video submission routes served under /v1 or /v2."""
    return [
        submit_route(state, r, HANDLERS[r.family])
        for r in served(ROUTES)
        if r.family in HANDLERS and r.api_version == version
    ]
