"""What Samsar's stand-in routes share: its gate (a bearer key, its error words), request aliases,
the external user a request is for, and folding what samsar-js adds into the documented body."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from renderer.providers.protocol import CheckContext
from renderer.providers.samsar.checks import check
from renderer.providers.samsar.routes import SOURCE_KEYS
from renderer.sandbox.faults import FaultPlan
from renderer.sandbox.gateway import key_is_valid
from renderer.sandbox.pipeline import Admission, bearer, message
from renderer.sandbox.session import Session, owner_of
from renderer.sandbox.state import SandboxState
from renderer.sandbox.submit import Call, Normaliser

ROLLUP_IMAGE_KEYS = ("images", "image_list", "image_urls")
# samsar-js names an external user beside `input` as an object, or (an identity without a
# provider) as flat query-like keys
IDENTITY_KEYS = ("provider", "unique_key", "external_user_id", "external_app_id", "external_company_id",
                 "external_account_id", "email", "username", "display_name")


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


def external_user(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The external user a request is billed to: ``external_user`` beside `input`, or its flat keys."""
    given = body.get("external_user")
    if isinstance(given, Mapping):
        return {k: given[k] for k in IDENTITY_KEYS if isinstance(given.get(k), str)}
    flat = {k: body[k] for k in IDENTITY_KEYS if isinstance(body.get(k), str)}
    return flat if ("unique_key" in flat or "external_user_id" in flat) else None


def same_user(session: Session, query: Mapping[str, str]) -> bool:
    """A session of the external user a list's query names (unique_key, else external_user_id)."""
    user = session.extra.get("external_user") or {}
    for key in ("unique_key", "external_user_id"):
        if query.get(key):
            return bool(user.get(key) == query[key])
    return True


def canvas_refusal(call: Call, source: Session) -> str | None:
    """The exact check of a follow-up's focus box, against its source session's canvas."""
    remarks = check(call.route, call.inp, CheckContext(aspect_of=lambda ref: source.aspect_ratio))
    return "; ".join(r.refusal or r.message for r in remarks if not r.warning) or None


# -- what samsar-js sends beside the documented fields ----------------------------------------

def _keep(found: dict[str, Any], canonical: str, key: str, value: Any) -> str | None:
    """One more copy of a field (under the client's other name): kept when first or equal, else why not."""
    if canonical in found and found[canonical] != value:
        return f"{key} and {canonical} differ ({value!r} and {found[canonical]!r}): give one"
    found[canonical] = value
    return None


def _fold(body: dict[str, Any], pairs: tuple[tuple[str, str], ...]) -> dict[str, Any] | str:
    """Copies of a field under the client's other names: dropped when equal, refused when not."""
    out = dict(body)
    for canonical, alias in pairs:
        if alias in out:
            problem = _keep(out, canonical, alias, out.pop(alias))
            if problem:
                return problem
    return out


def folding(pairs: tuple[tuple[str, str], ...]) -> Normaliser:
    def normalise(body: dict[str, Any]) -> dict[str, Any] | str:
        return _fold(body, pairs)

    return normalise


STEP_KEYS = (("auto_render_full_video", "autoRenderFullVideo"), ("manual_step_stages", "manualStepStages"))


def step_controls(body: dict[str, Any]) -> dict[str, Any] | str:
    """samsar-js sends a step render's controls four times (beside and inside `input`, snake and camel
    case): one copy, beside `input`, is what the route reads; the input is then the plain video input."""
    inp = dict(body.get("input") or {})
    out = {k: v for k, v in body.items() if k != "input"}
    found: dict[str, Any] = {}
    for canonical, alias in STEP_KEYS:
        for source in (out, inp):
            for key in (canonical, alias):
                problem = _keep(found, canonical, key, source.pop(key)) if key in source else None
                if problem:
                    return problem
    return {**out, **found, "input": inp}
