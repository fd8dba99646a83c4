"""Ready defaults for a provider's optional parts, and helpers providers share (pre-commit's ``lang_base``).

``OPTIONAL`` names every optional part of ``protocol.Registered`` with the value it takes
when a provider leaves it out: capabilities are absent (``None``, or empty), readers of
answers find nothing, the campaign schema gets the settings every provider has. A
provider may also assign one of these itself (``auth_headers = defaults.bearer``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

from renderer.providers.protocol import CampaignSchemaParts, CheckContext, RateTier, Remark
from renderer.vocabulary import Route

# -- defaults -------------------------------------------------------------------------------


def bearer(api_key: str) -> dict[str, str]:
    """The usual auth header: ``Authorization: Bearer <key>``."""
    return {"Authorization": f"Bearer {api_key}"}


def charges_unreported(headers: Mapping[str, str], payload: Any) -> float | None:
    """The API does not say what a job cost: the budget counts the estimate."""
    return None


def no_output_duration(route: Route, body: Any, charged: float | None, table: Mapping[str, Any]) -> float | None:
    return None


def no_rate_tier(conf: Mapping[str, Any], table: Mapping[str, Any]) -> RateTier | None:
    """No published rate limit: a campaign may still set `providers.<name>.requests_per_minute`."""
    return None


def no_base_url_hint(base_url: str) -> str | None:
    return None


def no_checks(route: Route, body: Mapping[str, Any], ctx: CheckContext) -> Sequence[Remark]:
    """No rules beyond the request schemas."""
    return ()


# The settings every provider takes under `providers.<name>` (execute/settings.py reads them).
COMMON_SETTINGS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "idempotent_keys": {
            "description": "This API honours Idempotency-Key: a submission whose answer was lost may be retried.",
            "type": "boolean",
        },
        "concurrency": {"description": "Requests in flight at once (1 or more).", "type": "integer", "minimum": 1},
        "requests_per_minute": {
            "description": "A cap on all requests to this provider per minute; more than 0.",
            "type": "number",
            "exclusiveMinimum": 0,
        },
    },
    "additionalProperties": False,
}


def basic_campaign_schema(routes: Mapping[str, Route]) -> CampaignSchemaParts:
    """The common settings; its price-table keys take any object (gen_schema adds them)."""
    return CampaignSchemaParts(COMMON_SETTINGS, {})


OPTIONAL: dict[str, Any] = {
    "auth_headers": bearer,
    "credits_charged": charges_unreported,
    "output_duration": no_output_duration,
    "rate_tier": no_rate_tier,
    "campaign_schema": basic_campaign_schema,
    "base_url_hint": no_base_url_hint,
    "check": no_checks,
    "RESPONSE_FIELDS": None,
    "BATCH_READS": (),
    "RECONCILIATION": (),
    "UPLOADS": None,
    "CANCEL": None,
    "APPROVAL": None,
    "LATEST": None,
    "BALANCE": None,
    "PRICE_REFRESH": None,
    "SANDBOX": None,
}


# -- helpers ----------------------------------------------------------------------------------


def credits_from(headers: Mapping[str, str], payload: Any, header: str = "x-credits-charged",
                 field_name: str = "creditsCharged") -> float | None:
    """Credits an answer says it cost: the header, else the body field."""
    for raw in (headers.get(header), payload.get(field_name) if isinstance(payload, Mapping) else None):
        if isinstance(raw, bool) or raw is None:
            continue
        try:
            value = float(raw)
        except OverflowError:  # an integer past float range: said (shapes.credits says why it is unusable)
            return int(raw)
        except (TypeError, ValueError):
            continue
        return int(value) if value.is_integer() else value
    return None


@cache
def package_json(package: str, name: str) -> Any:
    """A JSON file shipped in a provider's package (its prices, its campaign-schema parts)."""
    return json.loads(resources.files(package).joinpath(name).read_text("utf-8"))


@cache
def package_schemas(package: str) -> Mapping[str, Mapping[str, Any]]:
    """The request schemas in a provider package's ``schemas/`` folder, by file name."""
    folder = resources.files(package).joinpath("schemas")
    return {p.name: json.loads(p.read_text("utf-8")) for p in sorted(folder.iterdir(), key=lambda p: p.name)
            if p.name.endswith(".schema.json")}
