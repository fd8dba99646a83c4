"""Helpers for planner tests: plans and their shapes; campaign files under tmp_path (``write``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from renderer.errors import Invalid
from renderer.plan.model import Plan
from renderer.plan.planner import Planner, build_plan
from renderer.campaign.campaign import load_campaign

from helpers.campaign_files import write  # noqa: F401  (fixture)


def plan_file(path: Path | str, manifest: Mapping[str, Any] | None = None, select: Iterable[str] = ()) -> tuple[Plan, Planner]:
    return build_plan(load_campaign(str(path)), manifest, select)


def shape(plan: Plan) -> list[tuple[str, tuple[str, ...]]]:
    """Instance ids in plan order, each with its exact needs."""
    return [(i.id, i.needs) for i in plan.instances]


def credits(plan: Plan, iid: str) -> tuple[Any, Any] | None:
    c = plan.by_id[iid].price.credits
    return None if c is None else (c.min, c.max)


def errors_of(path: Path | str, **kw: Any) -> list[str]:
    with pytest.raises(Invalid) as exc:
        plan_file(path, **kw)
    return [str(e) for e in exc.value.errors]
