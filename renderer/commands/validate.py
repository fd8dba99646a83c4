"""`renderer validate FILE...`: every error of every file, located."""

from __future__ import annotations

from collections.abc import Sequence

from renderer.commands.common import Settings
from renderer.errors import Invalid, UserError
from renderer.plan.planner import check_plan
from renderer.campaign.campaign import load_campaign
from renderer.plan.price_overrides import below_documented


def validate(paths: Sequence[str], settings: Settings = Settings(), warnings: list[UserError] | None = None) -> int:
    """Check every file; raise one ``Invalid`` with the errors of all of them.

    Warnings (allowed, but worth a look) are appended to ``warnings``."""
    errors: list[UserError] = []
    for path in paths:
        try:
            campaign = load_campaign(path, settings.yaml)
            if warnings is not None:
                warnings.extend(below_documented(campaign))
            found = check_plan(campaign, settings.plan)  # streams: no plan is kept
            if warnings is not None:
                warnings.extend(found)
        except Invalid as exc:
            errors.extend(exc.errors)
    if errors:
        raise Invalid(errors)
    return 0
