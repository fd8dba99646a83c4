"""Every example campaign validates and plans; together they use every endpoint."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from renderer import providers
from renderer.cli import main
from renderer.plan.planner import build_plan
from renderer.campaign.campaign import load_campaign

CAMPAIGNS = sorted((Path(__file__).parent.parent / "campaigns").glob("*.yaml"))


@pytest.mark.parametrize("path", CAMPAIGNS, ids=[p.name for p in CAMPAIGNS])
def test_example_validates_without_warnings(path):
    err = io.StringIO()
    assert main(["validate", str(path)], out=io.StringIO(), err=err, env={}) == 0, err.getvalue()
    assert err.getvalue() == ""


@pytest.mark.parametrize("path", CAMPAIGNS, ids=[p.name for p in CAMPAIGNS])
def test_example_plans_within_its_budget(path, tmp_path):
    # planned from a copy: a manifest a run left beside the example in this checkout is not the test's
    shutil.copytree(path.parent, tmp_path / "campaigns", ignore=shutil.ignore_patterns("*.manifest.json"))
    err = io.StringIO()
    assert main(["plan", str(tmp_path / "campaigns" / path.name), "--json"], out=io.StringIO(), err=err, env={}) == 0, \
        err.getvalue()


def test_examples_use_every_endpoint():
    used = {job.endpoint for path in CAMPAIGNS for job in load_campaign(path).jobs.values()}
    assert used == set(providers.ROUTES), sorted(set(providers.ROUTES) - used)


def test_spring_launch_costs_what_the_contract_says():
    # contract §2 example: 3 enhances at 2k (3 x 50) + 6 image-list teasers of 30 s at
    # RUNWAYML 30/s (6 x 900) + a join of the three Spanish teasers (90 s x 3) = 5,820;
    # our example adds a translation of that 90 s cut (270) and an outro (75).
    plan, _ = build_plan(load_campaign(CAMPAIGNS[[p.name for p in CAMPAIGNS].index("spring-launch.yaml")]))
    by_job: dict[str, int] = {}
    for inst in plan.instances:
        by_job[inst.job] = by_job.get(inst.job, 0) + inst.price.credits.max
    assert by_job == {"stills": 150, "teaser": 5400, "spanish_cut": 270, "french_cut": 270, "french_outro": 75}
    assert plan.credits().min == plan.credits().max == 6165
