"""`renderer validate FILE...`: every error of every file, located."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from renderer.commands.common import Settings
from renderer.errors import Invalid, UserError
from renderer.plan.planner import build_plan
from renderer.plan.price_overrides import below_documented
from renderer.spec.campaign import load_campaign


def _no_warning(warning: UserError) -> None:
    pass


def validate(paths: Sequence[str], settings: Settings = Settings(),
             warn: Callable[[UserError], None] = _no_warning) -> int:
    """Check every file; raise one ``Invalid`` with the errors of all of them. Warnings go to ``warn``."""
    errors: list[UserError] = []
    for path in paths:
        try:
            campaign = load_campaign(path, settings.yaml)
            for warning in below_documented(campaign):
                warn(warning)
            build_plan(campaign, limits=settings.plan)
        except Invalid as exc:
            errors.extend(exc.errors)
    if errors:
        raise Invalid(errors)
    return 0
