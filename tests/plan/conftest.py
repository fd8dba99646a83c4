"""Helpers for planner tests: campaign files under tmp_path, plans, and their shapes."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from renderer.errors import Invalid
from renderer.plan.model import Plan
from renderer.plan.planner import Planner, build_plan
from renderer.campaign.campaign import load_campaign


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


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """write(text, name='campaign.yaml') -> the path of a dedented file under tmp_path."""

    def _write(text: str, name: str = "campaign.yaml") -> Path:
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return p

    return _write
