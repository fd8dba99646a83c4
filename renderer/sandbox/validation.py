"""Request checks: the same JSON Schemas the planner uses, so the sandbox refuses
exactly what `renderer validate` refuses, worded the same way.

Like a campaign's `input`, a wrapped route's schema describes the fields inside
`input`, so messages name those fields as a campaign author writes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from renderer.providers.base import Route
from renderer.providers.samsar import SOURCE_KEYS
from renderer.campaign.schemas import check, is_valid

ROLLUP_IMAGE_KEYS = ("images", "image_list", "image_urls")


def validate(route: Route, body: Mapping[str, Any], table: Mapping[str, Any]) -> str | None:
    """The problems with a (canonical, wrapped) request body, as one message; None if fine."""
    checked = body.get("input", body) if route.wrap_input else body
    # is_valid is the compiled gate; the slower check() runs only to word a refusal
    if is_valid(route.schema, checked):
        if route.wrap_input and "external_user" in route.job_keys and not isinstance(body.get("external_user"), Mapping):
            return "missing required field external_user"
        return None
    violations = check(route.schema, checked)
    return "; ".join(dict.fromkeys(v.message for v in violations[:5])) or "invalid request body"


def source_id(inp: Mapping[str, Any]) -> Any:
    """The session a follow-up route acts on (videoSessionId, or an external request id)."""
    for key in SOURCE_KEYS:
        if key in inp:
            return inp[key]
    return None


def rollup_images(inp: Mapping[str, Any]) -> Any:
    """The tile list of a rollup request, under whichever documented alias it came."""
    for key in ROLLUP_IMAGE_KEYS:
        if key in inp:
            return inp[key]
    return None
