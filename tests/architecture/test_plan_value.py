"""A plan is a self-contained value: pending bodies resolve through what it carries."""

from __future__ import annotations

import gc
import inspect
import weakref
from pathlib import Path

from renderer.execute.scheduler import Scheduler
from renderer.vocabulary import Outputs
from renderer.plan.planner import Planner, build_plan
from renderer.campaign.campaign import load_campaign

CAMPAIGN = """\
version: 1
name: chain
jobs:
  still:
    endpoint: samsar/image/enhance
    input: {image_url: "https://cdn.example.com/a.png", resolution: 2k}
  clip:
    endpoint: samsar/video/image_list_to_video
    needs: [still]
    estimate: {duration: 10}
    input:
      image_urls: ["{{ needs.still.result_url }}"]
      video_model: RUNWAYML
      aspect_ratio: "9:16"
"""


def test_the_plan_resolves_pending_bodies_without_the_planner(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(CAMPAIGN, "utf-8")
    plan, planner = build_plan(load_campaign(str(path)))
    assert isinstance(planner, Planner)
    gone = weakref.ref(planner)
    del planner
    gc.collect()
    assert gone() is None  # nothing the plan carries keeps it alive
    clip = plan.by_id["clip"]
    assert clip.pending and plan.resolver is not None
    resolved = plan.resolver("clip", {"still": Outputs(result_url="https://cdn.example.com/out.png")})
    assert resolved.body["input"]["image_urls"] == ["https://cdn.example.com/out.png"]
    assert len(resolved.input_sha256) == 64
    assert resolved.price.credits is not None


def test_the_scheduler_takes_no_planner() -> None:
    assert "planner" not in inspect.signature(Scheduler).parameters
