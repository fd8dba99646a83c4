"""`run --plan PLANFILE` says in plain words why a saved plan no longer applies."""

from __future__ import annotations

from typing import Any

from renderer.plan.planfile import differences


def record(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "campaign": "spring-launch", "campaign_file": "campaigns/spring-launch.yaml", "campaign_sha256": "a",
        "manifest_file": "campaigns/spring-launch.manifest.json", "manifest_sha256": None,
        "prices": {"sha256": "p", "as_of": {"samsar": "2026-11-21"}}, "budget": {"max_credits": 60000},
        "instances": {"stills": {"action": "run", "input_sha256": "1", "credits": {"min": 50, "max": 50}}},
    }
    return base | over


def test_a_plan_of_another_campaign_says_so_and_nothing_else() -> None:
    saved = record(campaign="marketplace-images", campaign_file="campaigns/images.yaml", campaign_sha256="b",
                   budget={"max_credits": None}, instances={"banner": {"action": "run"}})
    assert differences(saved, record()) == [
        "it is the plan of the campaign 'marketplace-images' (campaigns/images.yaml), not of 'spring-launch'"]


def test_a_budget_added_or_removed_reads_as_none_not_python() -> None:
    assert differences(record(budget={"max_credits": None}), record()) == ["the budget changed: none then, 60,000 now"]
    assert differences(record(), record(budget={"max_credits": None})) == ["the budget changed: 60,000 then, none now"]
    assert differences(record(), record()) == []
