"""Samsar: the video, image and older create_movie APIs.

Routes, prices and status shapes are taken from ``shared/api-docs``. Where the
official client ``samsar-js`` calls a different path than the docs
(``video/create``, ``image/enhance_and_generate_rollup_banner``) both are routes
here, the client's marked ``alias_of`` the documented one.

The package holds all of Samsar: this module (the provider as registered: pricing,
answers, capabilities), ``routes`` (who it is, its routes), ``prices.json``,
``campaign.json`` (its parts of the campaign schema), ``schemas/`` (request schemas),
``refresh`` (``renderer pricing refresh``) and ``stand_in`` (the sandbox's Samsar).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from renderer.providers import shapes
from renderer.providers.defaults import bearer, credits_from, package_json, package_schemas
from renderer.providers.protocol import Balance, BatchRead, CampaignSchemaParts, Cancel, Reconciliation, StandIn
from renderer.providers.samsar.routes import DEFAULT_BASE_URL as DEFAULT_BASE_URL
from renderer.providers.samsar.routes import ENV_BASE_URL as ENV_BASE_URL
from renderer.providers.samsar.routes import ENV_KEY as ENV_KEY
from renderer.providers.samsar.routes import NAME as NAME
from renderer.providers.samsar.routes import ROUTES as ROUTES
from renderer.providers.samsar.routes import SOURCE_KEYS as SOURCE_KEYS
from renderer.providers.samsar.routes import TITLE as TITLE
from renderer.vocabulary import ApiState, Pending, Price, PriceContext, Range, Route, Status, add_ranges

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


def _table(ctx: PriceContext) -> Mapping[str, Any]:
    return ctx.table["samsar"]


def _estimate_range(value: Any) -> Range | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return Range.exact(value)
    if isinstance(value, Mapping) and isinstance(value.get("min"), (int, float)) and isinstance(value.get("max"), (int, float)):
        return Range(value["min"], value["max"])
    return None


def _model_rate(ctx: PriceContext, model: Any) -> tuple[Any, float | None]:
    rates = _table(ctx)["video_model_per_second"]
    if isinstance(model, Pending):
        return model, None
    return model, rates.get(model)


def _text_to_video(route: Route, inp: Mapping[str, Any], ctx: PriceContext) -> Price:
    model, rate = _model_rate(ctx, inp.get("video_model"))
    duration = _estimate_range(inp.get("duration"))
    notes: list[str] = []
    if rate is None:
        notes.append(f"no published price for video_model {model}; add it under pricing.samsar.video_model_per_second")
    if duration is None:
        notes.append("duration is not known until run time")
    credits = duration.scale(rate) if (rate is not None and duration is not None) else None
    return Price(credits, duration, tuple(notes))


def _image_list_to_video(route: Route, inp: Mapping[str, Any], ctx: PriceContext) -> Price:
    t = _table(ctx)
    model, rate = _model_rate(ctx, inp.get("video_model", "RUNWAYML"))
    notes: list[str] = []
    if rate is None:
        notes.append(f"no published price for video_model {model}; add it under pricing.samsar.video_model_per_second")
        rate_total = None
    else:
        rate_total = rate
        if inp.get("add_narrator_avatar") is True:
            rate_total += t["narrator_avatar_per_second"]
        if any(inp.get(k) is True for k in EXPRESS_CTA_KEYS):
            rate_total += t["express_cta_per_second"]
    duration = _estimate_range(ctx.estimate.get("duration"))
    if duration is None:
        images = inp.get("image_urls", inp.get("images", inp.get("image_list")))
        units = t["video_model_units_seconds"].get(model) if isinstance(model, str) else None
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
        rate = _table(ctx)[key]
        return Price(duration.scale(rate) if duration is not None else None, duration, tuple(notes))

    return pricer


def _flat(key: str, keeps_duration: bool = True) -> Pricer:
    def pricer(route: Route, inp: Mapping[str, Any], ctx: PriceContext) -> Price:
        duration, notes = _source_duration(inp, ctx) if keeps_duration else (None, [])
        # the price does not depend on the duration, so an unknown one is no caveat here
        return Price(Range.exact(_table(ctx)[key]), duration, ())

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
    rate = _table(ctx)["join_per_second"]
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
    table = _table(ctx)["image_enhance"]
    if isinstance(res, str) and res.lower() in table:
        return Price(Range.exact(table[res.lower()]))
    return Price(Range(min(table.values()), max(table.values())), None, ("resolution known at run time",))


def _image_add_image_set(route: Route, inp: Mapping[str, Any], ctx: PriceContext) -> Price:
    per = _table(ctx)["image_add_image_set_per_image"]
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
    t = _table(ctx)
    flat = t["image_rollup_banner"]
    per_tile = Range(min(t["image_enhance"].values()), max(t["image_enhance"].values()))
    low_res = _estimate_range(ctx.estimate.get("low_res_images"))
    notes: list[str] = []
    if low_res is None:
        images = next((inp[k] for k in ("images", "image_list", "image_urls") if k in inp), None)
        if not isinstance(images, list):
            return Price(None, None, ("tiles known at run time; set estimate.low_res_images",))
        low_res = Range(0, len(images))
        notes.append(
            f"0-{len(images)} tile(s) assumed below 2020x2526 and enhanced; set estimate.low_res_images"
        )
    notes.append(f"enhanced tiles priced {per_tile.min}-{per_tile.max} each (1k-4k: the server picks)")
    return Price(low_res.times(per_tile) + Range.exact(flat), None, tuple(notes))


def _fixed(key: str) -> Pricer:
    def pricer(route: Route, inp: Mapping[str, Any], ctx: PriceContext) -> Price:
        return Price(Range.exact(_table(ctx)[key]))

    return pricer


_PRICERS = {
    "text_to_video": _text_to_video,
    "image_list_to_video": _image_list_to_video,
    "translate": _per_second_of_source("translate_per_second"),
    "join": _join,
    "clone": _flat("clone_per_request"),
    "subtitles": _flat("subtitles_per_request"),
    "outro_footer": _flat("outro_footer_per_request"),
    "cancel": _flat("cancel_per_request", keeps_duration=False),
    "create_movie": _create_movie,
    "image_enhance": _image_enhance,
    "image_remove_branding": _fixed("image_remove_branding"),
    "image_add_image_set": _image_add_image_set,
    "image_rollup": _fixed("image_rollup_banner"),
    "image_rollup_enhance": _image_rollup_enhance,
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
# debug dumps) is dropped before it is stored.
RESPONSE_FIELDS = (
    "request_id", "session_id", "sessionID", "external_request_id", "external_user_id", "status",
    "result_url", "result_urls", "videoLink", "remoteURL", "result", "thumbnail_url", "creditsCharged",
    "remainingCredits", "duration", "aspect_ratio", "language", "result_language", "has_subtitles",
    "created_at", "updated_at", "message", "expressGenerationError", "details", "global_status_id",
    "status_endpoint", "request_type", "title", "provider", "case_type",
)
_ID_KEYS = ("request_id", "session_id", "sessionID", "external_request_id")


def parse_submit(route: Route, payload: Any) -> str | None:
    """The id to poll, from a 200 answer to a submission (None: it has none).

    Raises ``ShapeError`` when the id the answer gives is not an id.
    """
    if not isinstance(payload, Mapping):
        return None
    for key in _ID_KEYS:
        value = payload.get(key)
        if value is not None and value != "":
            return shapes.ident(value, key)
    return None


def base_url_hint(base_url: str) -> str | None:
    """Why a submission may get 404 from a base URL: the docs' URLs end in /v1."""
    if not base_url.rstrip("/").endswith(("/v1", "/v2")):
        return f"{ENV_BASE_URL} is {base_url}; Samsar's routes live below /v1 (e.g. {DEFAULT_BASE_URL})"
    return None


def status_request(route: Route, request_id: str) -> tuple[str, dict[str, str]]:
    return route.status_path, {"request_id": request_id}


_STATES: dict[str, ApiState] = {
    "COMPLETED": ApiState.COMPLETED, "FAILED": ApiState.FAILED,
    "CANCELLED": ApiState.CANCELLED, "CANCELED": ApiState.CANCELLED,
}
_URL_KEYS = ("result_url", "videoLink", "remoteURL")


def parse_status(route: Route, payload: Any) -> Status:
    """Normalise the three status shapes (video, image, create_movie).

    Raises ``ShapeError`` when a value the outcome depends on has the wrong shape.
    """
    if not isinstance(payload, Mapping):
        raise shapes.ShapeError(f"the status answer is {type(payload).__name__}, not an object")
    raw = (shapes.status_text(payload.get("status")) or "PENDING").upper()
    state = _STATES.get(raw, ApiState.PENDING)
    if state == ApiState.PENDING:
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
    if route.family in ("text_to_video", "create_movie"):
        inner = body.get("input", body) if isinstance(body, Mapping) else {}
        d = inner.get("duration") if isinstance(inner, Mapping) else None
        if isinstance(d, (int, float)) and not isinstance(d, bool):
            return float(d)
    if route.family == "image_list_to_video" and charged:
        unit = price(route, body, PriceContext(table, {"duration": 1}))
        if unit.credits is not None and unit.credits.is_exact and unit.credits.max:
            return charged / unit.credits.max
    return None


def default_prices() -> Mapping[str, Any]:
    """Its prices (prices.json): `samsar` and the older `samsar_create_movie`."""
    table: Mapping[str, Any] = package_json(__name__, "prices.json")
    return table


# Samsar publishes no rate limits: no `rate_tier` (a campaign may set requests_per_minute).


# -- capabilities ----------------------------------------------------------------

IMAGE_STATUS_PATH = "/image/status"
IMAGE_LIST_PATH = "/image/list"
VIDEO_LIST_PATH = "/video/list_completed_video_sessions"


def _is_image(route: Route) -> bool:
    return route.status_path == IMAGE_STATUS_PATH


def _is_listed_video(route: Route) -> bool:
    return route.status_path == "/status" and route.api_version == "v1"


def _sessions(payload: Any) -> list[Any] | None:
    items = payload.get("sessions") if isinstance(payload, Mapping) else None
    return items if isinstance(items, list) else None


def _as_list(payload: Any) -> list[Any] | None:
    return payload if isinstance(payload, list) else None


BATCH_READS: tuple[BatchRead, ...] = (
    # one GET /image/list answers for every image job (the newest `limit` sessions)
    BatchRead("image", IMAGE_LIST_PATH, _is_image, _sessions, lambda item, rid: dict(item), windowed=True),
    # completed videos only: a video missing from it is unfinished or failed, read by id every third miss
    BatchRead("video", VIDEO_LIST_PATH, _is_listed_video, _as_list,
              lambda item, rid: {"status": "COMPLETED", "request_id": rid, **item}, missing_read_every=3),
)

# The case_type /image/list reports, per pricing family.
CASE_TYPES = {
    "image_enhance": "image_enhance",
    "image_remove_branding": "logo_remove",
    "image_add_image_set": "image_list_to_image_set",
    "image_rollup": "rollup_banner",
    "image_rollup_enhance": "rollup_banner_enhance",
}

RECONCILIATION = Reconciliation(
    IMAGE_LIST_PATH, CASE_TYPES, lambda route: _is_image(route) and route.family in CASE_TYPES, _sessions)

_CANCEL_ROUTE = next(r for r in ROUTES if r.endpoint == "samsar/video/cancel_render")
CANCEL = Cancel(
    _CANCEL_ROUTE,
    lambda route: route.creates_session and route.status_path in ("/status", "/external_users/status", "/video/status"),
    lambda session_id: {"input": {"videoSessionId": session_id}},
    "video renders",
)


def _refresh(out: TextIO, env: Mapping[str, str]) -> int:
    from renderer.providers.samsar.refresh import refresh

    return refresh(out, env)


PRICE_REFRESH = _refresh


# -- the campaign schema and the sandbox ------------------------------------------


def campaign_schema(routes: Mapping[str, Route]) -> CampaignSchemaParts:
    """Samsar's settings and prices, and its rules for the keys beside `input`."""
    parts = copy.deepcopy(package_json(__name__, "campaign.json"))
    without_webhook = sorted(e for e, r in routes.items() if "webhookUrl" not in r.job_keys)
    parts["rules"][1]["if"]["properties"]["endpoint"]["enum"] = without_webhook
    return CampaignSchemaParts(parts["settings"], parts["pricing"], parts["rules"])


def schemas() -> Mapping[str, Mapping[str, Any]]:
    """Its request schemas (``schemas/``), by file name."""
    return package_schemas(__name__)


def _stand_in(state: SandboxState) -> Mapping[str, Sequence[BaseRoute]]:
    from renderer.providers.samsar import stand_in

    return stand_in.routes(state)


SANDBOX = StandIn("/v1", _stand_in)  # and /v2 beside it, as on the real host
