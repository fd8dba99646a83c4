"""Request checks: the same JSON Schemas the planner uses, so the sandbox refuses
exactly what `renderer validate` refuses, worded the same way (``app.py`` hands this
to the stand-ins as ``Catalogue.check``: they do not import the campaign's schemas).

Like a campaign's `input`, a wrapped route's schema describes the fields inside
`input`, so messages name those fields as a campaign author writes them.

Beyond `validate`, a stand-in answers as the API does where `validate` only warns: a
value its schema marks ``x-unknown: refuse`` (a language the route does not translate
to), and the provider's remarks (``check``: a font the chosen language lacks) are 400s.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from renderer import providers
from renderer.campaign.schemas import check, is_valid, unknown_value
from renderer.providers.protocol import CheckContext
from renderer.vocabulary import Route


def validate(route: Route, body: Mapping[str, Any], ctx: CheckContext | None = None) -> str | None:
    """The problems with a (canonical, wrapped) request body, as one message; None if fine."""
    checked = body.get("input", body) if route.wrap_input else body
    # is_valid is the compiled gate; the slower check() runs only to word a refusal
    if not is_valid(route.schema, checked):
        violations = check(route.schema, checked)
        return "; ".join(dict.fromkeys(v.message for v in violations[:5])) or "invalid request body"
    missing = [k for k in route.requires if body.get(k) is None]
    if route.wrap_input and missing:
        return f"missing required field {missing[0]}"
    return refusal(route, checked, ctx or CheckContext())


def refusal(route: Route, inp: Any, ctx: CheckContext) -> str | None:
    """Why the API refuses a body its schema accepts: an unknown value it refuses, a provider's remark."""
    unknown = unknown_value(route.schema, inp)
    if unknown is not None and unknown[2].policy == "refuse":
        field, value, known = unknown
        name = route.path.rsplit("/", 1)[-1]
        return f"{field}: {value!r} is not a {field} {name} supports; pass one of {', '.join(map(str, known.values))}"
    if not isinstance(inp, Mapping):
        return None
    remarks = providers.of(route).check(route, inp, ctx)
    return "; ".join(r.refusal or r.message for r in remarks[:5]) or None
