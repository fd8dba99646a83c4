"""EnhanceCraft: image jobs made of operations, on a local file or a stored key.

A campaign names ``input_key`` (already uploaded) or ``input_file`` (a local
path, relative to the campaign, that the executor uploads first through
``POST /api/v1/upload/api``). Credit prices of the paid operations are not
published, so they are unknown until a campaign's ``pricing`` gives them.

The package holds all of EnhanceCraft: this module (the provider as registered),
``prices.json``, ``campaign.json``, ``schemas/`` and ``stand_in`` (the sandbox's
EnhanceCraft, which enforces the published tier through ``rate_tier``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from renderer.providers import shapes
from renderer.providers.defaults import bearer, credits_from, package_json, package_schemas
from renderer.providers.protocol import CampaignSchemaParts, RateTier, StandIn, Uploads
from renderer.vocabulary import ApiState, Price, PriceContext, Range, Route, Status, add_ranges

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from renderer.sandbox.state import SandboxState

NAME = "enhancecraft"
TITLE = "EnhanceCraft"  # as people write it
ENV_KEY = "ENHANCECRAFT_API_KEY"
ENV_BASE_URL = "ENHANCECRAFT_BASE_URL"
DEFAULT_BASE_URL = "https://api.enhancecraft.com"
UPLOAD_PATH = "/api/v1/upload/api"

ROUTES: tuple[Route, ...] = (
    Route(
        endpoint="enhancecraft/jobs",
        provider=NAME,
        path="/api/v1/jobs/api",
        schema="enhancecraft.jobs.schema.json",
        family="enhancecraft_job",
        status_path="/api/v1/jobs/api/{id}",
    ),
)


def price(route: Route, body: Mapping[str, Any], ctx: PriceContext) -> Price:
    table = ctx.table["enhancecraft"]["operations"]
    ops = body.get("operations")
    if not isinstance(ops, list):
        return Price(None, None, ("operations known at run time",))
    parts: list[Range | None] = []
    unknown: list[str] = []
    for op in ops:
        kind = op.get("type") if isinstance(op, Mapping) else None
        credits = table.get(kind) if isinstance(kind, str) else None
        if credits is None:
            unknown.append(str(kind))
            parts.append(None)
        else:
            parts.append(Range.exact(credits))
    notes: tuple[str, ...] = ()
    if unknown:
        names = ", ".join(sorted(set(unknown)))
        notes = (f"EnhanceCraft does not publish credit prices for: {names}; set pricing.enhancecraft.operations",)
    return Price(add_ranges(parts), None, notes)


RESPONSE_FIELDS = (
    "id", "job_id", "status", "output_url", "output_key", "error_message", "credits_used", "creditsCharged",
    "created_at", "updated_at", "completed_at", "operations",
)


def parse_submit(route: Route, payload: Any) -> str | None:
    """The job id of a submit answer; raises ``ShapeError`` when it is not an id."""
    if isinstance(payload, Mapping):
        for key in ("id", "job_id"):
            value = payload.get(key)
            if value is not None and value != "":
                return shapes.ident(value, key)
    return None


def status_request(route: Route, request_id: str) -> tuple[str, dict[str, str]]:
    return route.status_path.replace("{id}", quote(request_id, safe="")), {}


def parse_status(route: Route, payload: Any) -> Status:
    if not isinstance(payload, Mapping):
        raise shapes.ShapeError(f"the job answer is {type(payload).__name__}, not an object")
    raw = (shapes.status_text(payload.get("status")) or "queued").lower()
    if raw == "completed":
        url = shapes.storage_path(payload["output_url"], "output_url") if payload.get("output_url") is not None else None
        return Status(ApiState.COMPLETED, url, (url,) if url else ())
    if raw == "failed":
        return Status(ApiState.FAILED, error=shapes.text(payload.get("error_message")) or "job failed")
    return Status(ApiState.PENDING)


def credits_charged(headers: Mapping[str, str], payload: Any) -> float | None:
    return credits_from(headers, payload)


auth_headers = bearer


def default_prices() -> Mapping[str, Any]:
    """Its prices (prices.json): operations, and the published requests per minute of each tier."""
    table: Mapping[str, Any] = package_json(__name__, "prices.json")
    return table


DEFAULT_TIER = "pro"  # the lowest tier with API access, when a campaign names none
MONTHLY_REQUESTS = {"pro": 50_000, "business": 200_000, "enterprise": None}  # the docs' quotas; None: unlimited


def rate_tier(conf: Mapping[str, Any], table: Mapping[str, Any]) -> RateTier | None:
    """The published limit of the campaign's tier (`providers.enhancecraft.tier`)."""
    tier = conf.get("tier", DEFAULT_TIER)
    return RateTier(tier, table["enhancecraft"]["tiers_requests_per_minute"].get(tier), MONTHLY_REQUESTS.get(tier))


UPLOADS = Uploads(field="input_file", key_field="input_key", path=UPLOAD_PATH, part="file", answer_key="storage_key")
# No batch reads, reconciliation, cancel, balance route or price refresh: the docs name none.


def campaign_schema(routes: Mapping[str, Route]) -> CampaignSchemaParts:
    parts = package_json(__name__, "campaign.json")
    return CampaignSchemaParts(parts["settings"], parts["pricing"], parts["rules"])


def schemas() -> Mapping[str, Mapping[str, Any]]:
    """Its request schema (``schemas/``), by file name."""
    return package_schemas(__name__)


def _stand_in(state: SandboxState) -> Mapping[str, Sequence[BaseRoute]]:
    from renderer.providers.enhancecraft import stand_in

    return stand_in.routes(state, ROUTES[0], UPLOAD_PATH)


SANDBOX = StandIn("/enhancecraft", _stand_in, error=lambda text: {"detail": text})  # FastAPI's error shape
