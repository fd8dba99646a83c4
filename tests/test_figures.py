"""renderer.figures: the one definition of every figure a screen shows (the screens are held to
the manifest in tests/integration/test_screen_figures.py)."""

from __future__ import annotations

from renderer import figures as F
from renderer.manifest import Manifest


def test_one_eta_from_the_work_left_and_the_rate_observed() -> None:
    assert F.eta(left=10, done=10, elapsed=20) == 20  # 1 s a job... 2 s a job: 10 more take 20 s
    assert F.eta(left=300, done=1, elapsed=60) is None  # one slow first render promises nothing
    assert F.eta(left=300, done=1, elapsed=60, to_submit=300, rate_limit=1.0) == 300  # the rate limit bounds it
    assert F.eta(left=100, done=100, elapsed=10, to_submit=100, rate_limit=0.5) == 200  # quick renders, slow limit
    assert F.eta(left=1, done=3, elapsed=6) == 2
    assert F.eta(left=1, done=1, elapsed=5) is None  # two jobs in all: said only once three are done, or all
    assert F.eta(left=0, done=5, elapsed=5) == 0


def test_the_final_line_is_the_manifests() -> None:
    data = {"jobs": {"a": {"status": "completed"}, "b": {"status": "failed"}, "c": {"status": "not_submitted"}},
            "credits": {"estimated": {"min": 30, "max": 90}, "charged": 60, "held": 30, "spent": 120}}
    assert F.final_line(data, before=20, elapsed=3.8) == (
        "run finished in 3.8s: 2/3 done (1 completed, 1 failed); 1 not submitted; "
        "spent in all runs 120 credits (charged 60, held 30); spent by this run 100")
    assert F.Credits.of_manifest(data).rows() == [
        ("estimated for the campaign", "30-90"), ("charged", "60"), ("held", "30"), ("spent in all runs", "120")]


def test_a_manifest_and_its_json_give_the_same_figures() -> None:
    data = {"jobs": {"a": {"status": "completed", "credits": {"estimated": {"min": 30, "max": 60}, "charged": 50}},
                     "b": {"status": "pending", "credits": {"estimated": {"min": 30, "max": 30}, "charged": None,
                                                            "held": 60}}},
            "credits": {"spent": 150}}
    m = Manifest.from_json(data)
    assert F.Credits.of_manifest(m) == F.Credits.of_manifest(m.to_json())
    assert F.Credits.of_manifest(m).text() == "spent in all runs 150 credits (charged 50, held 60)"
    assert F.Jobs.of_manifest(m).text() == F.Jobs.of_manifest(m.to_json()).text() == "1/2 done (1 completed); 1 pending"
    old = {"credits": {"charged": 40, "held": 5}}  # written before credits.spent: charged and held
    assert F.Credits.of_manifest(old).spent == 45
