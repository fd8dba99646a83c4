"""Samsar's reading routes: the status shapes, latest version, completed lists, fonts, models."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as HttpRoute

from renderer.providers.samsar.checks import fonts_by_language
from renderer.providers.samsar.routes import CLIENT_ONLY_VIDEO_MODELS
from renderer.providers.samsar.stand_in.common import IDENTITY_KEYS, gate
from renderer.providers.samsar.stand_in.image import image_payload, parse_limit
from renderer.sandbox.faults import FaultPlan
from renderer.sandbox.pipeline import Endpoint, Process, handle, message, ok, open_gate
from renderer.sandbox.session import COMPLETED, FAILED, PENDING, Session
from renderer.sandbox.state import SandboxState

Shape = Callable[[Session, float], dict[str, Any]]
COMPLETED_LIST_CAP = 5000


def _stages(session: Session, now: float) -> dict[str, str]:
    span = max(session.ready_at - session.created_at, 1e-9)
    progress = (now - session.created_at) / span
    return {
        "prompt_generation": "COMPLETED" if progress >= 0.3 else "IN_PROGRESS",
        "video_generation": "IN_PROGRESS" if progress >= 0.3 else "PENDING",
    }


def video_payload(session: Session, now: float) -> dict[str, Any]:
    status = session.status(now)
    payload: dict[str, Any] = {
        "session_id": session.id, "request_id": session.id, "status": status, "type": "video",
        "provider": session.provider,
    }
    if session.external:
        payload["external_request_id"] = session.id
    if status == PENDING:
        payload["expressGenerationStatus"] = _stages(session, now)
    elif status == COMPLETED:
        url = session.result_urls[0]
        payload.update(
            result_url=url, result_urls=list(session.result_urls), has_subtitles=session.has_subtitles,
            result_language=session.language, videoLink=url, remoteURL=url,
        )
    elif status == FAILED:
        payload.update(expressGenerationError="Video generation failed.", message="Video generation failed.")
    else:
        payload["message"] = "Render was cancelled."
    return payload


def any_payload(session: Session, now: float) -> dict[str, Any]:
    return image_payload(session, now) if session.kind == "image" else video_payload(session, now)


def movie_payload(session: Session, now: float) -> dict[str, Any]:
    """The older /video/status shape of create_movie: {status, details, result: {url}}."""
    status = session.status(now)
    stages = _stages(session, now) if status == PENDING else {"prompt_generation": status, "video_generation": status}
    details = [{"stage": k, "status": v} for k, v in stages.items()]
    result = {"status": COMPLETED, "url": session.result_urls[0]} if status == COMPLETED else {}
    return {"status": status, "details": details, "result": result}


def _status_reader(state: SandboxState, label: str, kinds: tuple[str, ...], shape: Shape) -> Process:
    reads = state.counters.status_reads
    by_id = state.counters.status_reads_by_id

    async def process(request: Request, owner: str | None, plan: FaultPlan) -> Response:
        reads[label] += 1
        query = request.query_params
        rid = query.get("request_id") or query.get("session_id")
        if not rid:
            return message(400, "request_id query parameter is missing.")
        session = state.find(owner or "", rid, kinds)
        if session is None:
            return message(404, f"Request {rid} not found")
        by_id[rid] += 1
        return ok(shape(session, state.now()))

    return process


def _latest_version(state: SandboxState, label: str) -> Process:
    reads = state.counters.status_reads

    async def process(request: Request, owner: str | None, plan: FaultPlan) -> Response:
        reads[label] += 1
        sid = request.query_params.get("session_id") or request.query_params.get("request_id")
        if not sid:
            return message(400, "session_id query parameter is missing.")
        known = state.sessions.get(sid)
        if known is None or known.kind not in ("video", "movie"):
            return message(404, f"Session {sid} not found")
        if known.owner != owner:  # this route's docs answer 403 here, not 404
            return message(403, "Session does not belong to the API key")
        state.counters.status_reads_by_id[sid] += 1
        status = known.status(state.now())
        if status == COMPLETED:
            return ok({"session_id": sid, "result_url": known.result_urls[0],
                       "has_subtitles": known.has_subtitles, "result_language": known.language})
        if status == PENDING:
            return ok({"session_id": sid, "status": PENDING, "message": "Render not ready yet."}, 202)
        text = "Video generation failed." if status == FAILED else "Render was cancelled."
        return ok({"session_id": sid, "status": status, "message": text})

    return process


def _credits(state: SandboxState) -> Process:
    """GET /credits (samsar-js ``getCreditsBalance``; /v2/credits, /v2/user/credits): the key's remaining
    Samsar credits. With an external user's identity in the query (samsar-js ``getV2Credits({externalUser})``)
    it also names the user (``ExternalCreditsBalanceResponse``); the stand-in keeps one balance per key."""

    async def process(request: Request, owner: str | None, plan: FaultPlan) -> Response:
        body: dict[str, Any] = {"remainingCredits": state.balance("samsar", owner or ""), "lastTopUp": None}
        user = {k: v for k, v in request.query_params.items() if k in IDENTITY_KEYS}
        if "unique_key" in user or "external_user_id" in user:
            body["external_user"] = user
        return ok(body)

    return process


def _completed_list(state: SandboxState) -> Process:
    async def process(request: Request, owner: str | None, plan: FaultPlan) -> Response:
        limit = parse_limit(request.query_params.get("limit"), COMPLETED_LIST_CAP)
        if isinstance(limit, str):
            return message(400, limit)
        now = state.now()
        items = [
            {"session_id": s.id, "langauge": s.language, "result_language": s.language,
             "has_subtitles": s.has_subtitles, "result_url": s.result_urls[0]}
            for s in list(state.sessions.values())
            if s.owner == owner and s.kind == "video" and s.status(now) == COMPLETED
        ]
        return ok(items[: limit or COMPLETED_LIST_CAP])

    return process


# Image-model base prices are listed by the docs only here, for display; nothing charges them.
_IMAGE_MODELS = [("GPTIMAGE2", 46), ("NANOBANANA2", 23), ("SEEDREAM", 15), ("CUSTOM_TEXT_TO_IMAGE", 10)]
_LABELS = {"SEEDANCEI2V": "Seedance 1.5", "HAPPYHORSEI2V": "Happy Horse 1.0 I2V", "RUNWAYML": "RunwayML Gen 4.5"}
_COMPONENTS = {"pipeline": 4, "inference": 4, "image_gen_edit": 2, "speech": 2, "music": 2, "effects_and_lipsync": 2}


def supported_models(table: Mapping[str, Any]) -> dict[str, Any]:
    """GET /video/supported_models, with video prices read from the one price table."""
    samsar = table["samsar"]
    videos = []
    for model, rate in samsar["video_model_per_second"].items():
        if rate is None or model in CLIENT_ONLY_VIDEO_MODELS:  # the docs list six models; these are samsar-js's
            continue
        dist = {**_COMPONENTS, "video": rate - sum(_COMPONENTS.values()), "total": rate,
                "optionalAddons": {"express_cta_generation": samsar["express_cta_per_second"]}}
        videos.append({"label": _LABELS.get(model, model), "value": model, "basePrice": rate, "pricingDistribution": dist})
    images = [{"label": m, "value": m, "basePrice": p} for m, p in _IMAGE_MODELS]
    return {"IMAGE_MODELS": images, "VIDEO_MODELS": videos}


def routes(state: SandboxState, version: str) -> list[HttpRoute]:
    mount = f"/{version}"
    readers: list[tuple[str, Process]] = [("/status", _status_reader(state, f"GET {mount}/status", ("video", "image", "movie"), any_payload))]
    if version == "v1":
        readers += [
            ("/external_users/status", _status_reader(state, "GET /v1/external_users/status", ("video", "image", "movie"), any_payload)),
            ("/image/status", _status_reader(state, "GET /v1/image/status", ("image",), image_payload)),
            ("/video/status", _status_reader(state, "GET /v1/video/status", ("movie", "video"), movie_payload)),
            ("/video/fetch_latest_version", _latest_version(state, "GET /v1/video/fetch_latest_version")),
            ("/video/list_completed_video_sessions", _completed_list(state)),
        ]
    readers.append(("/credits", _credits(state)))
    if version == "v2":
        readers.append(("/user/credits", _credits(state)))
    out = [HttpRoute(path, _authed(state, process), methods=["GET"]) for path, process in readers]
    if version == "v1":
        models = supported_models(state.table)
        out += [
            HttpRoute("/supported_fonts", _public(state, {"fontsByLanguage": dict(fonts_by_language())}), methods=["GET"]),
            HttpRoute("/video/supported_models", _public(state, models), methods=["GET"]),
        ]
    return out


def _authed(state: SandboxState, process: Process) -> Endpoint:
    async def get(request: Request) -> Response:
        return await handle(state, request, gate, process)

    return get


def _public(state: SandboxState, payload: dict[str, Any]) -> Endpoint:
    async def process(request: Request, owner: str | None, plan: FaultPlan) -> Response:
        return ok(payload)

    async def get(request: Request) -> Response:  # no authentication, as documented
        return await handle(state, request, open_gate, process)

    return get
