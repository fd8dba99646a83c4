"""The compiled yes/no validator agrees with jsonschema on every body we know."""

from __future__ import annotations

from pathlib import Path

import pytest

from renderer import providers
from renderer.plan.planner import build_plan
from renderer.campaign import schemas
from renderer.campaign.campaign import load_campaign

pytest.importorskip("jsonschema_rs")

CAMPAIGNS = sorted((Path(__file__).parent.parent.parent / "campaigns").glob("*.yaml"))


def bodies():
    for path in CAMPAIGNS:
        plan, _ = build_plan(load_campaign(path))
        for inst in plan.instances:
            if not inst.pending:
                route = providers.route(inst.endpoint)
                yield route.schema, (inst.body.get("input", inst.body) if route.wrap_input else inst.body)


BROKEN = [
    ("samsar.video.text_to_video.schema.json", {"prompt": "", "image_model": "X", "video_model": "RUNWAYML", "duration": 9}),
    ("samsar.video.text_to_video.schema.json", {"prompt": "p", "image_model": "GPTIMAGE2", "video_model": "RUNWAYML", "duration": 300}),
    ("samsar.video.join_videos.schema.json", {"session_ids": ["a", "a"]}),
    ("samsar.image.create_rollup_banner.schema.json", {"image_list": [{"image_url": "u"}], "columns": 0}),
    ("enhancecraft.jobs.schema.json", {"input_key": "k", "operations": [{"type": "enhance", "params": {"scale": 3}}]}),
    ("campaign.schema.json", {"version": 2, "name": "x", "jobs": {}}),
]


def test_agrees_on_every_example_body_and_on_broken_ones():
    cases = list(bodies()) + BROKEN
    assert len(cases) > 20
    for name, body in cases:
        slow = schemas.validator(name).is_valid(body)
        assert schemas.is_valid(name, body) == slow, (name, body)
    assert [schemas.is_valid(n, b) for n, b in BROKEN] == [False] * len(BROKEN)
