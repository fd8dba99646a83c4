"""A third provider, written from docs/architecture.md alone, as a plugin would write one.

"Toy" echoes text into a URL: ``POST /echo`` accepts a job, ``GET /jobs/{id}`` says it is
done. One package: this module has the required parts of a provider and two optional
ones, its published rate tier and its sandbox stand-in (``stand_in.py``); every other
optional part takes its default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from renderer.providers.protocol import RateTier, StandIn
from renderer.vocabulary import ApiState, Price, PriceContext, Range, Route, Status

from toy_provider import stand_in

# -- required --------------------------------------------------------------------------------

NAME = "toy"
TITLE = "Toy"
ENV_KEY = "TOY_API_KEY"
ENV_BASE_URL = "TOY_BASE_URL"
DEFAULT_BASE_URL = "https://api.toy.example"
ROUTES: tuple[Route, ...] = (
    Route(endpoint="toy/echo", provider=NAME, path="/echo", schema="toy.echo.schema.json", family="echo",
          status_path="/jobs/{id}"),
)
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["text"],
    "properties": {"text": {"type": "string", "minLength": 1}, "loud": {"type": "boolean"}},
    "additionalProperties": False,
}


def schemas() -> Mapping[str, Mapping[str, Any]]:
    return {"toy.echo.schema.json": SCHEMA}


def price(route: Route, body: Mapping[str, Any], ctx: PriceContext) -> Price:
    table = ctx.table["toy"]
    extra = table["loud_surcharge"] if body.get("loud") is True else 0
    return Price(Range.exact(table["per_request"] + extra))


def default_prices() -> Mapping[str, Any]:
    return {"toy": {"per_request": 3, "loud_surcharge": 2, "tiers_requests_per_minute": {"hobby": 3, "pro": 600}}}


def parse_submit(route: Route, payload: Any) -> str | None:
    rid = payload.get("id") if isinstance(payload, Mapping) else None
    return rid if isinstance(rid, str) and rid else None


def status_request(route: Route, request_id: str) -> tuple[str, dict[str, str]]:
    return route.status_path.replace("{id}", request_id), {}


def parse_status(route: Route, payload: Any) -> Status:
    if isinstance(payload, Mapping) and payload.get("state") == "done":
        return Status(ApiState.COMPLETED, payload.get("url"), (payload["url"],))
    return Status(ApiState.PENDING)


# -- optional: its published rate limit, and its stand-in ---------------------------------------


def rate_tier(conf: Mapping[str, Any], table: Mapping[str, Any]) -> RateTier | None:
    tier = conf.get("tier", "pro")
    return RateTier(tier, table["toy"]["tiers_requests_per_minute"].get(tier))


SANDBOX = StandIn("/toy", stand_in.routes, error=lambda text: {"error": text})
