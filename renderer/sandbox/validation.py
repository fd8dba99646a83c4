"""Request checks: the same JSON Schemas the planner uses, so the sandbox refuses
exactly what `renderer validate` refuses, worded the same way (``app.py`` hands this
to the stand-ins as ``Catalogue.check``: they do not import the campaign's schemas).

Like a campaign's `input`, a wrapped route's schema describes the fields inside
`input`, so messages name those fields as a campaign author writes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from renderer.campaign.schemas import check, is_valid
from renderer.vocabulary import Route


def validate(route: Route, body: Mapping[str, Any]) -> str | None:
    """The problems with a (canonical, wrapped) request body, as one message; None if fine."""
    checked = body.get("input", body) if route.wrap_input else body
    # is_valid is the compiled gate; the slower check() runs only to word a refusal
    if is_valid(route.schema, checked):
        if route.wrap_input and "external_user" in route.job_keys and not isinstance(body.get("external_user"), Mapping):
            return "missing required field external_user"
        return None
    violations = check(route.schema, checked)
    return "; ".join(dict.fromkeys(v.message for v in violations[:5])) or "invalid request body"
