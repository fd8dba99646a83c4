"""`renderer validate FILE...`: every error of every file, located."""

from __future__ import annotations

from collections.abc import Sequence

from renderer.commands.common import Settings
from renderer.errors import Invalid, UserError
from renderer.plan.planner import build_plan
from renderer.spec.campaign import load_campaign


def validate(paths: Sequence[str], settings: Settings = Settings()) -> int:
    """Check every file; raise one ``Invalid`` with the errors of all of them."""
    errors: list[UserError] = []
    for path in paths:
        try:
            campaign = load_campaign(path, settings.yaml)
            build_plan(campaign, limits=settings.plan)
        except Invalid as exc:
            errors.extend(exc.errors)
    if errors:
        raise Invalid(errors)
    return 0
