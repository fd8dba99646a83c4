"""Samsar: the video, image and older create_movie APIs, and the /v2 omni routes.

Routes, prices and status shapes are taken from ``shared/api-docs``. Where the
official client ``samsar-js`` calls a different path than the docs
(``video/create``, ``image/enhance_and_generate_rollup_banner``) both are routes
here, the client's marked ``alias_of`` the documented one. The /v2 routes, step
renders, image titles, branding replacement and receipt templates are known from
samsar-js alone (its README and ``dist/`` types): their prices are unpublished
(unknown, never zero) but for what the README prices.

The package holds all of Samsar: this module (the provider as registered: pricing,
answers, capabilities), ``routes`` (who it is, its routes), ``checks`` (rules between
fields), ``prices.json``, ``fonts.json`` (``GET /supported_fonts`` as documented),
``campaign.json`` (its parts of the campaign schema), ``schemas/`` (request schemas),
``refresh`` (``renderer pricing refresh``) and ``stand_in`` (the sandbox's Samsar).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import quote

from renderer.providers import shapes
from renderer.providers.defaults import bearer, credits_from, package_json, package_schemas
from renderer.providers.protocol import (
    Approval,
    Balance,
    BatchRead,
    CampaignSchemaParts,
    Cancel,
    Latest,
    Reconciliation,
    StandIn,
)
from renderer.providers.samsar.checks import check as check
from renderer.providers.samsar.routes import DEFAULT_BASE_URL as DEFAULT_BASE_URL
from renderer.providers.samsar.routes import ENV_BASE_URL as ENV_BASE_URL
from renderer.providers.samsar.routes import ENV_KEY as ENV_KEY
from renderer.providers.samsar.routes import NAME as NAME
from renderer.providers.samsar.routes import ROUTES as ROUTES
from renderer.providers.samsar.routes import ROLLUP_FRAME_KEYS
from renderer.providers.samsar.routes import SOURCE_KEYS as SOURCE_KEYS
from renderer.providers.samsar.routes import STEP_CONTROLS, STEP_STATUS_PATH
from renderer.providers.samsar.routes import TITLE as TITLE
from renderer.vocabulary import ApiState, Paused, Pending, Preview, Price, PriceContext, Range, Route, Status, add_ranges

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from renderer.sandbox.state import SandboxState

# Aliases the docs give for image_list_to_video's express CTA switch.
EXPRESS_CTA_KEYS = (
    "express_cta_generation", "expressCtaGeneration", "auto_generate_cta_text",
    "autoGenerateCtaText", "generate_cta_texts", "generateCtaTexts",
)
Pricer = Callable[[Route, Mapping[str, Any], PriceContext], Price]


# -- pricing -----------------------------------------------------------------


def price(route: Route, body: Mapping[str, Any], ctx: PriceContext) -> Price:
    """Credits for one request, from the docs' tables (see prices.json)."""
    fn = _PRICERS[route.family]
    return fn(route, body.get("input", body) if route.wrap_input else body, ctx)


def _table_key(route: Route) -> str:
    """The price table of a route: the /v2 routes have their own (unpublished but for clone)."""
    return "samsar_v2" if route.api_version == "v2" else "samsar"


def _table(ctx: PriceContext, route: Route) -> Mapping[str, Any]:
    return ctx.table[_table_key(route)]


def _unpublished(route: Route, key: str) -> str:
    return f"{route.endpoint}: no published price; add it under pricing.{_table_key(route)}.{key}"


def _estimate_range(value: Any) -> Range | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return Range.exact(value)
    if isinstance(value, Mapping) and isinstance(value.get("min"), (int, float)) and isinstance(value.get("max"), (int, float)):
        return Range(value["min"], value["max"])
    return None


def _model_rate(route: Route, ctx: PriceContext, model: Any, key: str) -> tuple[Any, float | None]:
    rates = _table(ctx, route).get(key) or {}
    if isinstance(model, Pending):
        return model, None
    return model, rates.get(model) if isinstance(model, str) else None


def _rate_note(route: Route, model: Any, key: str) -> str:
    return f"no published price for video_model {model}; add it under pricing.{_table_key(route)}.{key}"


def _text_to_video(key: str) -> Pricer:
    def pricer(route: Route, inp: Mapping[str, Any], ctx: PriceContext) -> Price:
        model, rate = _model_rate(route, ctx, inp.get("video_model"), key)
        duration = _estimate_range(inp.get("duration"))
        notes: list[str] = []
        if rate is None:
            notes.append(_rate_note(route, model, key))
        if duration is None:
            notes.append("duration is not known until run time")
        credits = duration.scale(rate) if (rate is not None and duration is not None) else None
        return Price(credits, duration, tuple(notes))

    return pricer


def _image_list_to_video(key: str) -> Pricer:
    def pricer(route: Route, inp: Mapping[str, Any], ctx: PriceContext) -> Price:
        t = _table(ctx, route)
        model, rate = _model_rate(route, ctx, inp.get("video_model", "RUNWAYML"), key)
        notes: list[str] = []
        rate_total = rate
        if rate is None:
            notes.append(_rate_note(route, model, key))
        for on, addon in ((inp.get("add_narrator_avatar") is True, "narrator_avatar_per_second"),
                          (any(inp.get(k) is True for k in EXPRESS_CTA_KEYS), "express_cta_per_second")):
            if on and t.get(addon) is None:
                rate_total = None
                notes.append(_unpublished(route, addon))
            elif on and rate_total is not None:
                rate_total += t[addon]
        duration = _estimate_range(ctx.estimate.get("duration"))
        if duration is None:
            images = inp.get("image_urls", inp.get("images", inp.get("image_list")))
            # clip lengths are the model's, not a price: always the documented table's
            units = ctx.table["samsar"]["video_model_units_seconds"].get(model) if isinstance(model, str) else None
            if isinstance(images, list) and units:
                n = len(images)
                duration = Range(n * min(units), n * max(units))
                notes.append(
                    f"duration assumed {duration.min}-{duration.max} s ({n} image(s) x one "
                    f"{min(units)}-{max(units)} s {model} clip each); set estimate.duration to pin it"
                )
            else:
                notes.append("duration unknown: the server decides it; set estimate.duration")
        credits = duration.scale(rate_total) if (duration is not None and rate_total is not None) else None
        return Price(credits, duration, tuple(notes))

    return pricer


def _source_duration(inp: Mapping[str, Any], ctx: PriceContext) -> tuple[Range | None, list[str]]:
    estimated = _estimate_range(ctx.estimate.get("duration"))
    if estimated is not None:
        return estimated, []
    for key in SOURCE_KEYS:
        if key in inp:
            d = ctx.duration_of(inp[key])
            if d is None:
                return None, [f"duration of source session {inp[key]} is unknown; set estimate.duration"]
            return d, []
    return None, ["no source session; set estimate.duration"]


def _per_second_of_source(key: str) -> Pricer:
    def pricer(route: Route, inp: Mapping[str, Any], ctx: PriceContext) -> Price:
        duration, notes = _source_duration(inp, ctx)
        rate = _table(ctx, route).get(key)
        if rate is None:
            return Price(None, duration, (*notes, _unpublished(route, key)))
        return Price(duration.scale(rate) if duration is not None else None, duration, tuple(notes))

    return pricer


def _flat(key: str, keeps_duration: bool = True) -> Pricer:
    def pricer(route: Route, inp: Mapping[str, Any], ctx: PriceContext) -> Price:
        duration, notes = _source_duration(inp, ctx) if keeps_duration else (None, [])
        value = _table(ctx, route).get(key)
        if value is None:
            return Price(None, duration, (_unpublished(route, key),))
        # the price does not depend on the duration, so an unknown one is no caveat here
        return Price(Range.exact(value), duration, ())

    return pricer


def _join(route: Route, inp: Mapping[str, Any], ctx: PriceContext) -> Price:
    estimated = _estimate_range(ctx.estimate.get("duration"))
    ids = inp.get("session_ids")
    notes: list[str] = []
    if estimated is not None:
        duration: Range | None = estimated
    elif isinstance(ids, list) and ids:
        duration = add_ranges([ctx.duration_of(i) for i in ids])
        if duration is None:
            notes.append("duration of a joined session is unknown; set estimate.duration")
    else:
        duration = None
        notes.append("joined sessions are not known until run time; set estimate.duration")
    rate = _table(ctx, route)["join_per_second"]
    return Price(duration.scale(rate) if duration is not None else None, duration, tuple(notes))


def _create_movie(route: Route, inp: Mapping[str, Any], ctx: PriceContext) -> Price:
    rates = ctx.table["samsar_create_movie"]["per_second"]
    model = inp.get("video_model")
    rate = rates.get(model) if isinstance(model, str) else None
    duration = _estimate_range(inp.get("duration"))
    notes = []
    if rate is None:
        notes.append(
            f"create_movie price for video_model {model} is not published; "
            "add it under pricing.samsar_create_movie.per_second"
        )
    credits = duration.scale(rate) if (duration is not None and rate is not None) else None
    return Price(credits, duration, tuple(notes))


def _image_enhance(route: Route, inp: Mapping[str, Any], ctx: PriceContext) -> Price:
    res = inp.get("resolution", "1k")
    table = _table(ctx, route)["image_enhance"]
    if isinstance(res, str) and res.lower() in table:
        return Price(Range.exact(table[res.lower()]))
    return Price(Range(min(table.values()), max(table.values())), None, ("resolution known at run time",))


def _image_add_image_set(route: Route, inp: Mapping[str, Any], ctx: PriceContext) -> Price:
    per = _table(ctx, route)["image_add_image_set_per_image"]
    n = inp.get("num_images")
    if isinstance(n, (int, float)) and not isinstance(n, bool):
        return Price(Range.exact(per * n))
    if n is not None:  # given but not known yet (pending): the urls do not count then
        return Price(None, None, ("number of images known at run time",))
    urls = inp.get("image_urls")
    if isinstance(urls, list):
        return Price(Range.exact(per * len(urls)))
    return Price(None, None, ("number of images known at run time",))


def _image_rollup_enhance(route: Route, inp: Mapping[str, Any], ctx: PriceContext) -> Price:
    """20 per rollup + the enhance credits of every image below 2020x2526: the tiles and, as the
    docs' own example shows (one tile with a header and a footer image charged 120), the header
    and footer images too."""
    t = _table(ctx, route)
    flat = t["image_rollup_banner"]
    per_image = Range(min(t["image_enhance"].values()), max(t["image_enhance"].values()))
    low_res = _estimate_range(ctx.estimate.get("low_res_images"))
    notes: list[str] = []
    if low_res is None:
        images = next((inp[k] for k in ("images", "image_list", "image_urls") if k in inp), None)
        if not isinstance(images, list):
            return Price(None, None, ("tiles known at run time; set estimate.low_res_images",))
        frames = [k.split("_")[0] for k in ROLLUP_FRAME_KEYS if inp.get(k)]
        low_res = Range(0, len(images) + len(frames))
        counted = f"{len(images)} tile(s)" + "".join(f" + the {f} image" for f in frames)
        notes.append(f"0-{low_res.max} of {counted} assumed below 2020x2526 and enhanced; set estimate.low_res_images")
    notes.append(f"enhanced images priced {per_image.min}-{per_image.max} each (1k-4k: the server picks)")
    return Price(low_res.times(per_image) + Range.exact(flat), None, tuple(notes))


def _fixed(key: str) -> Pricer:
    return _flat(key, keeps_duration=False)


_PRICERS = {
    "text_to_video": _text_to_video("video_model_per_second"),
    "image_list_to_video": _image_list_to_video("video_model_per_second"),
    "step_text_to_video": _text_to_video("step_video_model_per_second"),
    "step_image_to_video": _image_list_to_video("step_video_model_per_second"),
    "translate": _per_second_of_source("translate_per_second"),
    "join": _join,
    "clone": _flat("clone_per_request"),
    "regenerate_avatar": _flat("regenerate_avatar_per_request"),
    "subtitles": _flat("subtitles_per_request"),
    "outro_footer": _flat("outro_footer_per_request"),
    "cancel": _flat("cancel_per_request", keeps_duration=False),
    "create_movie": _create_movie,
    "image_enhance": _image_enhance,
    "image_remove_branding": _fixed("image_remove_branding"),
    "image_replace_branding": _fixed("image_replace_branding"),
    "image_add_image_set": _image_add_image_set,
    "image_rollup": _fixed("image_rollup_banner"),
    "image_rollup_enhance": _image_rollup_enhance,
    "image_assign_title": _fixed("image_assign_title"),
    "receipt_template_create": _fixed("receipt_template_create"),
    "receipt_query": _fixed("receipt_query"),
}


# -- answers -----------------------------------------------------------------

# The account's balance: samsar-js `getCreditsBalance()` is `GET credits`, answering
# {"remainingCredits": number, "lastTopUp": {...} | null}.
def parse_balance(payload: Any) -> float | None:
    value = payload.get("remainingCredits") if isinstance(payload, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value


BALANCE = Balance("/credits", parse_balance)


# What a stored answer keeps (the manifest is committed): the fields the docs give
# a status or submit answer that a user needs. Anything else (echoed headers,
# debug dumps) is dropped before it is stored. A synchronous route's answer is its
# result: a title (`content`, `title`), a receipt template (`template_id`, ...), the
# receipt read against it (`receipt_json`, ...: the manifest then holds that receipt's data).
RESPONSE_FIELDS = (
    "request_id", "session_id", "sessionID", "external_request_id", "external_user_id", "status",
    "result_url", "result_urls", "videoLink", "remoteURL", "result", "thumbnail_url", "creditsCharged",
    "remainingCredits", "duration", "aspect_ratio", "language", "result_language", "has_subtitles",
    "created_at", "updated_at", "message", "expressGenerationError", "details", "global_status_id",
    "status_endpoint", "request_type", "title", "provider", "case_type",
    "content", "template_id", "template_name", "template_hash", "normalized_template", "template_json",
    "receipt_json", "standardized_receipt", "items", "unreadable_fields", "confidence", "validation",
    "current_step", "next_step", "step_status",
)
_ID_KEYS = ("request_id", "session_id", "sessionID", "external_request_id")
_SYNC_ID_KEYS = {"receipt_template_create": ("template_id",)}  # the id a synchronous answer's result has


def parse_submit(route: Route, payload: Any) -> str | None:
    """The id to poll, from a 200 answer to a submission (None: it has none).

    A route whose answer is its result (``creates_session`` off) and that names no id
    (an image title, a receipt read) is named by the answer's digest, ``answer-<sha256>``:
    it is recorded as accepted and finished at once, never polled.
    Raises ``ShapeError`` when the id the answer gives is not an id.
    """
    if not isinstance(payload, Mapping):
        return None
    for key in _ID_KEYS + _SYNC_ID_KEYS.get(route.family, ()):
        value = payload.get(key)
        if value is not None and value != "":
            return shapes.ident(value, key)
    if not route.creates_session and route.family != "cancel":  # cancel_render answers the session's id
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
        return "answer-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
    return None


def base_url_hint(base_url: str) -> str | None:
    """Why a submission may get 404 from a base URL: the docs' URLs end in /v1."""
    if not base_url.rstrip("/").endswith(("/v1", "/v2")):
        return f"{ENV_BASE_URL} is {base_url}; Samsar's routes live below /v1 (e.g. {DEFAULT_BASE_URL})"
    return None


TEMPLATE_JSON_PATH = "/image/template_json"


def status_request(route: Route, request_id: str) -> tuple[str, dict[str, str]]:
    """A step render is read at its own path (the id in it); a receipt template by its JSON (free)."""
    if "{request_id}" in route.status_path:
        return route.status_path.format(request_id=quote(request_id, safe="")), {}
    if route.status_path == TEMPLATE_JSON_PATH:
        return TEMPLATE_JSON_PATH, {"template_id": request_id}
    return route.status_path, {"request_id": request_id}


_STATES: dict[str, ApiState] = {
    "COMPLETED": ApiState.COMPLETED, "FAILED": ApiState.FAILED,
    "CANCELLED": ApiState.CANCELLED, "CANCELED": ApiState.CANCELLED,
}
_URL_KEYS = ("result_url", "videoLink", "remoteURL")


def parse_status(route: Route, payload: Any) -> Status:
    """Normalise the status shapes (video, image, create_movie, step renders, a template read back).

    A step render that waits for ``process_next`` is pending whatever its ``status`` says.
    Raises ``ShapeError`` when a value the outcome depends on has the wrong shape.
    """
    if not isinstance(payload, Mapping):
        raise shapes.ShapeError(f"the status answer is {type(payload).__name__}, not an object")
    if route.family == "receipt_template_create" and payload.get("status") is None:
        return Status(ApiState.COMPLETED) if shapes.is_id(payload.get("template_id")) else Status(ApiState.PENDING)
    raw = (shapes.status_text(payload.get("status")) or "PENDING").upper()
    state = _STATES.get(raw, ApiState.PENDING)
    if state == ApiState.PENDING or waiting_for_process_next(payload):
        return Status(ApiState.PENDING)
    if state == ApiState.FAILED:
        error = next((shapes.text(payload.get(k)) for k in ("expressGenerationError", "message", "details")
                      if shapes.text(payload.get(k))), None)
        return Status(ApiState.FAILED, error=error or "render failed")
    if state == ApiState.CANCELLED:
        return Status(ApiState.CANCELLED)
    urls = shapes.urls(payload.get("result_urls"), "result_urls")
    url = None
    for key in _URL_KEYS:
        if payload.get(key) is not None:
            url = shapes.url(payload[key], key)
            break
    result = payload.get("result")
    if url is None and isinstance(result, Mapping) and result.get("url") is not None:
        url = shapes.url(result["url"], "result.url")
    url = url or (urls[0] if urls else None)
    if url and not urls:
        urls = (url,)
    return Status(ApiState.COMPLETED, url, urls, shapes.optional_url(payload.get("thumbnail_url")))


def names_no_result(payload: Any) -> bool:
    """A finished answer that names no result URL anywhere the docs put one."""
    if not isinstance(payload, Mapping):
        return False
    result = payload.get("result")
    return not any(payload.get(k) for k in (*_URL_KEYS, "result_urls")) \
        and not (isinstance(result, Mapping) and result.get("url"))


def credits_charged(headers: Mapping[str, str], payload: Any) -> float | None:
    """The `x-credits-charged` header, else the body's `creditsCharged`."""
    return credits_from(headers, payload)


auth_headers = bearer


# -- durations, prices, limits -------------------------------------------------


def output_duration(route: Route, body: Any, charged: float | None, table: Mapping[str, Any]) -> float | None:
    """Seconds of video a finished job made, when its request or its charge says so.

    The requested duration for text-to-video and create_movie; for an image-list
    video, whose length the server decides, the credits charged divided by the
    per-second rate of this very body (model, avatar, CTA add-ons).
    """
    if route.family in ("text_to_video", "step_text_to_video", "create_movie"):
        inner = body.get("input", body) if isinstance(body, Mapping) else {}
        d = inner.get("duration") if isinstance(inner, Mapping) else None
        if isinstance(d, (int, float)) and not isinstance(d, bool):
            return float(d)
    if route.family in ("image_list_to_video", "step_image_to_video") and charged:
        unit = price(route, body, PriceContext(table, {"duration": 1}))
        if unit.credits is not None and unit.credits.is_exact and unit.credits.max:
            return charged / unit.credits.max
    return None


def default_prices() -> Mapping[str, Any]:
    """Its prices (prices.json): `samsar`, `samsar_v2` (the /v2 routes) and the older `samsar_create_movie`."""
    table: Mapping[str, Any] = package_json(__name__, "prices.json")
    return table


# Samsar publishes no rate limits: no `rate_tier` (a campaign may set requests_per_minute).


# -- capabilities ----------------------------------------------------------------

IMAGE_STATUS_PATH = "/image/status"
IMAGE_LIST_PATH = "/image/list"
VIDEO_LIST_PATH = "/video/list_completed_video_sessions"
V2_LIST_PATH = "/requests"  # GET /v2/requests (samsar-js listV2Requests)
STEP_FAMILIES = ("step_text_to_video", "step_image_to_video")


def _is_image(route: Route) -> bool:
    return route.status_path == IMAGE_STATUS_PATH and route.creates_session


def _is_listed_video(route: Route) -> bool:
    return route.status_path == "/status" and route.api_version == "v1" and route.creates_session


def _is_listed_v2(route: Route) -> bool:
    """The /v2 omni routes that make a video: GET /v2/requests lists them (step renders are read
    by id: their own status read is the one that says they wait for an approval)."""
    return route.api_version == "v2" and route.creates_session and route.status_path == "/status"


def _sessions(payload: Any) -> list[Any] | None:
    items = payload.get("sessions") if isinstance(payload, Mapping) else None
    return items if isinstance(items, list) else None


def _requests(payload: Any) -> list[Any] | None:
    items = payload.get("requests") if isinstance(payload, Mapping) else None
    return items if isinstance(items, list) else None


def _as_list(payload: Any) -> list[Any] | None:
    return payload if isinstance(payload, list) else None


def _v2_item_status(item: Mapping[str, Any], rid: str) -> dict[str, Any]:
    """A /v2/requests item (samsar-js ``ExternalRequestSummary``) as a status answer."""
    out: dict[str, Any] = {"status": item.get("status"), "request_id": rid,
                           "session_id": item.get("upstream_session_id") or rid}
    if item.get("video_url") is not None:
        out["result_url"] = item["video_url"]
    if item.get("credits_charged") is not None:
        out["creditsCharged"] = item["credits_charged"]
    for key in ("external_request_id", "created_at", "updated_at", "message"):
        if item.get(key) is not None:
            out[key] = item[key]
    return out


BATCH_READS: tuple[BatchRead, ...] = (
    # one GET /image/list answers for every image job (the newest `limit` sessions)
    BatchRead("image", IMAGE_LIST_PATH, _is_image, _sessions, lambda item, rid: dict(item), windowed=True),
    # completed videos only: a video missing from it is unfinished or failed, read by id every third miss
    BatchRead("video", VIDEO_LIST_PATH, _is_listed_video, _as_list,
              lambda item, rid: {"status": "COMPLETED", "request_id": rid, **item}, missing_read_every=3),
    # every /v2 request of the key; its order, paging and cap are unpublished: taken as the newest N
    BatchRead("v2", V2_LIST_PATH, _is_listed_v2, _requests, _v2_item_status, windowed=True),
)

# The case_type /image/list reports, per pricing family.
CASE_TYPES = {
    "image_enhance": "image_enhance",
    "image_remove_branding": "logo_remove",
    "image_replace_branding": "logo_replace",  # unpublished: the stand-in's assumption
    "image_add_image_set": "image_list_to_image_set",
    "image_rollup": "rollup_banner",
    "image_rollup_enhance": "rollup_banner_enhance",
}
# The route_key /v2/requests reports, per pricing family (unpublished: the route's path below /v2).
ROUTE_KEYS = {
    "text_to_video": "text_to_video",
    "image_list_to_video": "image_list_to_video",
    "step_text_to_video": "video/step/text_to_video",
    "step_image_to_video": "video/step/image_to_video",
}

RECONCILIATION = (
    Reconciliation(IMAGE_LIST_PATH, CASE_TYPES, lambda route: _is_image(route) and route.family in CASE_TYPES, _sessions),
    # a /v2 request echoes its prompt: a lost text-to-video (or image-list with a prompt) answer can be proven
    Reconciliation(V2_LIST_PATH, ROUTE_KEYS,
                   lambda route: route.api_version == "v2" and route.family in ROUTE_KEYS, _requests, "route_key"),
)

_CANCEL_ROUTE = next(r for r in ROUTES if r.endpoint == "samsar/video/cancel_render")


def _cancels(route: Route) -> bool:
    """/video/cancel_render cancels video sessions (v1, external and /v2, step renders too);
    the create_movie docs have no cancel, and synchronous routes leave nothing running."""
    return route.creates_session and route.status_path in ("/status", "/external_users/status", STEP_STATUS_PATH)


def _why_not(route: Route) -> str | None:
    if route.family == "create_movie":
        return "the create_movie API has no cancel"
    if not route.creates_session:
        return "it answers at once: nothing is left running"
    return None


CANCEL = Cancel(_CANCEL_ROUTE, _cancels, lambda session_id: {"input": {"videoSessionId": session_id}}, "video renders",
                _why_not)


# -- a step render's stop for approval (samsar-js README: createV2StepVideoFromText with stepMode two_step) ------

GATE_STAGE = "ai_video_generation"  # "an explicit second-step approval before image-to-video generation"


def _step_controls(stop: bool) -> dict[str, Any]:
    if not stop:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in STEP_CONTROLS}
    return {"auto_render_full_video": False, "manual_step_stages": [GATE_STAGE]}


def _step(payload: Any) -> Mapping[str, Any]:
    step = payload.get("step") if isinstance(payload, Mapping) else None
    return step if isinstance(step, Mapping) else {}


def waiting_for_process_next(payload: Any) -> bool:
    """The README's own test: ``waiting_for_process_next || can_process_next`` (top level, or in ``step``)."""
    if not isinstance(payload, Mapping):
        return False
    step = _step(payload)
    return any(src.get(k) is True for src in (payload, step) for k in ("waiting_for_process_next", "can_process_next"))


def _paused(payload: Any) -> Paused | None:
    if not waiting_for_process_next(payload):
        return None
    raw = (payload.get("status") if isinstance(payload, Mapping) else None) or ""
    if isinstance(raw, str) and raw.upper() in ("FAILED", "CANCELLED", "CANCELED"):
        return None
    step = _step(payload)
    stage = payload.get("next_step") or step.get("next_step")
    label = payload.get("current_step_label") or step.get("current_step_label")
    return Paused(shapes.text(stage), shapes.text(label))


def _proceeded(payload: Any) -> bool | None:
    """After process_next: no longer waiting and past the gate (or finished) says it went through."""
    if not isinstance(payload, Mapping):
        return None
    if waiting_for_process_next(payload):
        return False
    status = str(payload.get("status") or "").upper()
    current = payload.get("current_step") or _step(payload).get("current_step")
    if status in ("COMPLETED", "FAILED", "CANCELLED") or current in (GATE_STAGE, "video_generation"):
        return True
    return None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _previews(payload: Any) -> tuple[Preview, ...]:
    """Scene stills and audio from a detailed status (``session.layers``, ``session.audioLayers``)."""
    session = payload.get("session") if isinstance(payload, Mapping) else None
    if not isinstance(session, Mapping):
        return ()
    out: list[Preview] = []
    for i, layer in enumerate(session.get("layers") or ()):
        if not isinstance(layer, Mapping):
            continue
        image, preview = _mapping(layer.get("image")), _mapping(layer.get("preview"))
        url = shapes.optional_url(image.get("url")) or shapes.optional_url(preview.get("url"))
        if url:
            said = preview.get("type")
            kind = said if isinstance(said, str) and said in ("image", "video", "audio") else "image"
            index = layer.get("index") if isinstance(layer.get("index"), int) else i
            out.append(Preview(kind, url, index, _number(layer.get("startTime")), _number(layer.get("endTime")),
                               shapes.text(layer.get("prompt"))))
    for i, audio in enumerate(session.get("audioLayers") or ()):
        url = shapes.optional_url(audio.get("url")) if isinstance(audio, Mapping) else None
        if url and isinstance(audio, Mapping):
            index = audio.get("index") if isinstance(audio.get("index"), int) else i
            out.append(Preview("audio", url, index, _number(audio.get("startTime")), _number(audio.get("endTime")),
                               shapes.text(audio.get("type"))))
    return tuple(out)


def _step_path(request_id: str, tail: str) -> str:
    return f"/video/step/{quote(request_id, safe='')}/{tail}"


APPROVAL = Approval(
    applies=lambda route: route.family in STEP_FAMILIES,
    controls=_step_controls,
    paused=_paused,
    previews_request=lambda route, rid: (_step_path(rid, "status_detailed"), {}),
    previews=_previews,
    proceed=lambda route, rid: (_step_path(rid, "process_next"), {}),
    proceeded=_proceeded,
)


# -- GET /video/fetch_latest_version: "the latest available render URL for a given video session_id" -------


def _needs_latest(route: Route, payload: Any) -> bool:
    """A v1 video read that says COMPLETED but names no URL (older sessions may: the docs' /status
    puts the URL in result_url, result_urls, videoLink or remoteURL, each optional)."""
    if route.api_version != "v1" or not _cancels(route) or not isinstance(payload, Mapping):
        return False
    status = payload.get("status")
    return isinstance(status, str) and status.upper() == "COMPLETED" and names_no_result(payload)


def _merge_latest(status_payload: Any, http_status: int, latest: Any) -> Any:
    """The status answer as fetch_latest_version completes it: its URL (200), pending (202), or its end."""
    if not isinstance(status_payload, Mapping) or not isinstance(latest, Mapping):
        return status_payload
    if http_status == 202:
        return {**status_payload, "status": "PENDING"}
    said = latest.get("status")
    if isinstance(said, str) and said.upper() in ("FAILED", "CANCELLED", "CANCELED"):
        return {**status_payload, "status": said, "message": latest.get("message")}
    if latest.get("result_url") is not None:
        kept = {k: latest[k] for k in ("result_url", "has_subtitles", "result_language") if k in latest}
        return {**status_payload, **kept}
    return status_payload


LATEST = Latest("/video/fetch_latest_version", _needs_latest, lambda rid: {"session_id": rid}, _merge_latest)


def _refresh(out: TextIO, env: Mapping[str, str]) -> int:
    from renderer.providers.samsar.refresh import refresh

    return refresh(out, env)


PRICE_REFRESH = _refresh


# -- the campaign schema and the sandbox ------------------------------------------


def campaign_schema(routes: Mapping[str, Route]) -> CampaignSchemaParts:
    """Samsar's settings and prices, and its rules for the keys beside `input` (from the routes' data:
    which need `external_user`, which take it, which take a webhook)."""
    parts = copy.deepcopy(package_json(__name__, "campaign.json"))
    mine = {e: r for e, r in routes.items() if r.provider == NAME}
    enums = (
        sorted(e for e, r in mine.items() if "external_user" in r.requires),
        sorted(e for e, r in mine.items() if "external_user" not in r.job_keys),
        sorted(e for e, r in routes.items() if "webhookUrl" not in r.job_keys),
    )
    for rule, enum in zip(parts["rules"], enums):
        rule["if"]["properties"]["endpoint"]["enum"] = enum
    return CampaignSchemaParts(parts["settings"], parts["pricing"], parts["rules"])


def schemas() -> Mapping[str, Mapping[str, Any]]:
    """Its request schemas (``schemas/``), by file name."""
    return package_schemas(__name__)


def _stand_in(state: SandboxState) -> Mapping[str, Sequence[BaseRoute]]:
    from renderer.providers.samsar import stand_in

    return stand_in.routes(state)


SANDBOX = StandIn("/v1", _stand_in)  # and /v2 beside it, as on the real host
