"""A third provider, written as a plugin would write one: routes, schema, prices, stand-in.

"Toy" echoes text into a URL. ``POST /echo`` accepts a job; ``GET /jobs/{id}`` says
it is done. Its sandbox stand-in keeps what it saw in ``SEEN`` so tests can count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.routing import Route as HttpRoute

from renderer.providers.base import Price, PriceContext, Range, Route, Status, bearer, credits_from
from renderer.providers.protocol import (
    Balance,
    BatchRead,
    CampaignSchemaParts,
    Cancel,
    RateTier,
    Reconciliation,
    Uploads,
)

NAME = "toy"
TITLE = "Toy"
ENV_KEY = "TOY_API_KEY"
ENV_BASE_URL = "TOY_BASE_URL"
DEFAULT_BASE_URL = "https://api.toy.example"
SANDBOX_BASE_PATH = "/toy"
ROUTES: tuple[Route, ...] = (
    Route(endpoint="toy/echo", provider=NAME, path="/echo", schema="toy.echo.schema.json", family="echo",
          status_path="/jobs/{id}"),
)
BATCH_READS: tuple[BatchRead, ...] = ()
RECONCILIATION: Reconciliation | None = None
UPLOADS: Uploads | None = None
CANCEL: Cancel | None = None
BALANCE: Balance | None = None
PRICE_REFRESH = None

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["text"],
    "properties": {"text": {"type": "string", "minLength": 1}, "loud": {"type": "boolean"}},
    "additionalProperties": False,
}


def price(route: Route, body: Mapping[str, Any], ctx: PriceContext) -> Price:
    table = ctx.table["toy"]
    extra = table["loud_surcharge"] if body.get("loud") is True else 0
    return Price(Range.exact(table["per_request"] + extra))


def parse_submit(route: Route, payload: Any) -> str | None:
    rid = payload.get("id") if isinstance(payload, Mapping) else None
    return rid if isinstance(rid, str) and rid else None


def status_request(route: Route, request_id: str) -> tuple[str, dict[str, str]]:
    return route.status_path.replace("{id}", request_id), {}


def parse_status(route: Route, payload: Any) -> Status:
    if isinstance(payload, Mapping) and payload.get("state") == "done":
        return Status("completed", payload.get("url"), (payload["url"],))
    return Status("pending")


def credits_charged(headers: Mapping[str, str], payload: Any) -> float | None:
    return credits_from(headers, payload, field_name="cost")


def auth_headers(api_key: str) -> dict[str, str]:
    return bearer(api_key)


def default_prices() -> Mapping[str, Any]:
    return {"toy": {"per_request": 3, "loud_surcharge": 2}}


def output_duration(route: Route, body: Any, charged: float | None, table: Mapping[str, Any]) -> float | None:
    return None


def rate_tier(conf: Mapping[str, Any], table: Mapping[str, Any]) -> RateTier | None:
    return None


def campaign_schema(routes: Mapping[str, Route]) -> CampaignSchemaParts:
    settings = {"type": "object", "additionalProperties": False,
                "properties": {"concurrency": {"type": "integer", "minimum": 1}}}
    pricing = {"toy": {"type": "object", "properties": {"per_request": {"type": "number", "minimum": 0},
                                                         "loud_surcharge": {"type": "number", "minimum": 0}}}}
    return CampaignSchemaParts(settings, pricing)


def schemas() -> Mapping[str, Mapping[str, Any]]:
    return {"toy.echo.schema.json": SCHEMA}


# -- the sandbox stand-in ---------------------------------------------------------------

SEEN: dict[str, Any] = {"submissions": [], "reads": 0}


def sandbox_routes(state: Any) -> Sequence[BaseRoute]:
    jobs: dict[str, str] = {}

    def authorised(request: Request) -> bool:
        return request.headers.get("authorization", "").startswith("Bearer ")

    async def echo(request: Request) -> Response:
        if not authorised(request):
            return JSONResponse({"error": "no key"}, 401)
        body = await request.json()
        rid = f"toy-{len(jobs) + 1}"
        jobs[rid] = f"https://toy.example/{body['text']}"
        SEEN["submissions"].append(body)
        return JSONResponse({"id": rid, "state": "queued", "cost": 5 if body.get("loud") else 3})

    async def job(request: Request) -> Response:
        SEEN["reads"] += 1
        rid = request.path_params["rid"]
        if rid not in jobs:
            return JSONResponse({"error": "unknown job"}, 404)
        return JSONResponse({"id": rid, "state": "done", "url": jobs[rid]})

    return [Mount("/toy", routes=[HttpRoute("/echo", echo, methods=["POST"]), HttpRoute("/jobs/{rid}", job)])]
