"""A campaign's `pricing` overrides and adds prices for its own plan only."""

from __future__ import annotations

from .conftest import credits, plan_file

CAMPAIGN = """
version: 1
name: priced
PRICING
jobs:
  movie:
    endpoint: samsar/video/create_movie
    input: {prompt: x, image_model: IMAGEN3, video_model: VEOI2V, duration: 30}
  clip:
    endpoint: samsar/video/text_to_video
    input: {prompt: x, image_model: GPTIMAGE2, video_model: RUNWAYML, duration: 10}
  cut:
    endpoint: samsar/video/translate_video
    needs: [clip]
    input: {videoSessionId: "{{ needs.clip.session_id }}", language: es}
  photo:
    endpoint: enhancecraft/jobs
    input:
      input_key: uploads/a.jpg
      operations: [{type: remove-background}, {type: enhance, params: {scale: 4}}, {type: convert, params: {output_format: png}}]
"""

OVERRIDES = """
pricing:
  samsar:
    video_model_per_second: {RUNWAYML: 25}
    translate_per_second: 2
  samsar_create_movie:
    per_second: {VEOI2V: 20}
  enhancecraft:
    operations: {remove-background: 5, enhance: 12}
"""


def test_built_in_prices_leave_unpublished_ones_unknown(write) -> None:
    plan, _ = plan_file(write(CAMPAIGN.replace("PRICING\n", "")))
    assert credits(plan, "movie") is None  # VEOI2V: "See pricing"
    assert credits(plan, "clip") == (300, 300)  # 10 s x 30/s
    assert credits(plan, "cut") == (30, 30)  # 10 s x 3/s
    assert credits(plan, "photo") is None
    assert plan.credits() is None


def test_campaign_pricing_overrides_and_adds(write) -> None:
    plan, _ = plan_file(write(CAMPAIGN.replace("PRICING\n", OVERRIDES.lstrip("\n"))))
    assert credits(plan, "movie") == (600, 600)  # 30 s x 20/s (the campaign's VEOI2V price)
    assert credits(plan, "clip") == (250, 250)  # 10 s x 25/s
    assert credits(plan, "cut") == (20, 20)  # 10 s x 2/s
    assert credits(plan, "photo") == (17, 17)  # 5 + 12 + 0 (convert is free)
    assert plan.by_id["photo"].price.assumptions == ()
    total = plan.credits()
    assert (total.min, total.max) == (887, 887)


def test_overrides_do_not_leak_into_other_campaigns(write) -> None:
    plan_file(write(CAMPAIGN.replace("PRICING\n", OVERRIDES.lstrip("\n")), "a.yaml"))
    plan, _ = plan_file(write(CAMPAIGN.replace("PRICING\n", ""), "b.yaml"))
    assert credits(plan, "clip") == (300, 300)
