"""What Samsar's stand-in routes share: its gate (a bearer key, its error words) and request aliases."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from renderer.providers.samsar.routes import SOURCE_KEYS
from renderer.sandbox.faults import FaultPlan
from renderer.sandbox.gateway import key_is_valid
from renderer.sandbox.pipeline import Admission, bearer, message
from renderer.sandbox.session import owner_of
from renderer.sandbox.state import SandboxState

ROLLUP_IMAGE_KEYS = ("images", "image_list", "image_urls")


def gate(state: SandboxState, request: Request, plan: FaultPlan) -> Admission:
    """Samsar's authentication: 400 without a key, 401 for a key it does not know."""
    scheme, key = bearer(request)
    if not scheme or (scheme == "bearer" and not key):
        return Admission(reject=message(400, "Missing API key: send Authorization: Bearer <API_KEY>"))
    if scheme != "bearer" or not key_is_valid(state, key):
        return Admission(reject=message(401, "Invalid API key"))
    return Admission(owner_of(key))


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
