"""Every example in the API docs that states a charge, held against the plan's price range.

A range must hold the charge: a plan priced below what the API charges passes budgets it
should fail. Each row below quotes the docs (the quote must be in the file), sends the
example's request body through the planner (a campaign of one job per example) and checks
that the instance's range holds the stated charge. ``test_every_stated_charge_is_listed``
finds every stated charge in the docs (a ``creditsCharged`` of an example answer, or a
prose example naming a figure) and fails on one this list leaves out.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from renderer.campaign.campaign import load_campaign
from renderer.plan.planner import build_plan

# the API docs the prices come from (not part of the repository): the quotes below are checked
# against them where they are; the ranges are checked everywhere
DOCS = Path(os.environ.get("RENDERER_API_DOCS", "/work/shared/api-docs"))
needs_docs = pytest.mark.skipif(not DOCS.is_dir(), reason=f"the API docs are not at {DOCS} (RENDERER_API_DOCS)")


@dataclass(frozen=True)
class Example:
    name: str
    doc: str  # file under DOCS
    quote: str  # the words of the docs that state the charge
    endpoint: str
    body: dict[str, Any]
    charge: float
    beside: dict[str, Any] | None = None  # job keys beside input (external_user)


TILE = "https://cdn.example.com/tile-1.png"
EXAMPLES = [
    # samsar-image-api.txt: the example answers
    Example("enhance", "samsar-image-api.txt", '"resolution": "1K",\n"aspect_ratio": "16:9",\n"creditsCharged": 30',
            "samsar/image/enhance", {"image_url": "https://cdn.example.com/photo.png", "resolution": "1k"}, 30),
    Example("remove_branding", "samsar-image-api.txt",
            '"case_type": "logo_remove",\n"image_url": "https://cdn.example.com/watermarked.png",\n"creditsCharged": 50',
            "samsar/image/remove_branding",
            {"image_url": "https://cdn.example.com/watermarked.png"}, 50),
    Example("add_image_set", "samsar-image-api.txt", '"num_images": 4,\n"creditsCharged": 200',
            "samsar/image/add_image_set",
            {"image_urls": ["https://cdn.example.com/look1.png", "https://cdn.example.com/look2.png"],
             "metadata": {"campaign": "spring"}, "prompt": "Optional creative direction", "num_images": 4}, 200),
    # one tile with a header and a footer image: 20 + the enhance credits of two images
    Example("rollup_with_enhance", "samsar-image-api.txt", '"creditsCharged": 120',
            "samsar/image/create_rollup_banner_with_enhance",
            {"images": [{"image_url": TILE, "image_text": "Rooftop Bar", "image_category": "Social",
                         "overlay": {"top_left": "2 hours", "top_right": "City", "footer": "Rooftop Bar"}}],
             "header_image_url": "https://cdn.example.com/header.png",
             "footer_image_url": "https://cdn.example.com/footer.png", "columns": 4, "max_tiles": 28}, 120),
    Example("rollup", "samsar-image-api.txt", '"creditsCharged": 20,\n"remainingCredits": 4980', "samsar/image/create_rollup_banner",
            {"image_list": [{"image_url": TILE, "title": "Rooftop Bar"},
                            {"enhanced_url": "https://cdn.example.com/tile-2.png"}],
             "header_image_url": "https://cdn.example.com/header.png",
             "footer_image_url": "https://cdn.example.com/footer.png", "columns": 4, "max_tiles": 28}, 20),
    # samsar-video-api.txt
    Example("text_to_video", "samsar-video-api.txt", "a 10-second RUNWAYML text-to-video render costs 300 credits",
            "samsar/video/text_to_video",
            {"prompt": "A clip", "image_model": "GPTIMAGE2", "video_model": "RUNWAYML", "duration": 10}, 300),
    Example("external_update_outro", "samsar-video-api.txt",
            '"status_endpoint": "/v1/external_users/status?request_id=extreq_9b30891da71a9293df04419ab0cf426e",\n'
            '"creditsCharged": 75\n}\nPOST /external_users/update_footer_image',
            "samsar/external_users/update_outro_image",
            {"request_id": "extreq_df04419ab0cf426e9b30891da71a9293", "generate_outro_image": True,
             "cta_url": "https://example.com/book", "cta_text_top": "Scan to book",
             "cta_text_bottom": "Limited availability", "add_outro_animation": True}, 75,
            {"external_user": {"provider": "guidestination", "external_user_id": "traveler_123"}}),
    Example("external_update_footer", "samsar-video-api.txt", '"creditsCharged": 75\n}\nPOST /video/clone',
            "samsar/external_users/update_footer_image",
            {"request_id": "extreq_df04419ab0cf426e9b30891da71a9293", "cta_text": "Scan to book",
             "cta_logo": "https://cdn.example.com/logo-white.png", "cta_url": "https://example.com/book"}, 75,
            {"external_user": {"provider": "guidestination", "external_user_id": "traveler_123"}}),
    Example("clone", "samsar-video-api.txt", '"type": "video",\n"creditsCharged": 0', "samsar/video/clone",
            {"videoSessionId": "vid_a1b2c3d4"}, 0),
    # samsar-create-movie-api-2025.txt
    Example("create_movie", "samsar-create-movie-api-2025.txt", "a 60 second request would incur 600 credits",
            "samsar/video/create_movie",
            {"prompt": "A movie", "image_model": "FLUX1.1PRO", "video_model": "LUMA", "duration": 60}, 600),
    # samsar-js-client-readme.txt
    Example("receipt_query", "samsar-js-client-readme.txt", "(50 credits/request)", "samsar/receipts/query",
            {"image_url": "https://example.com/receipt-instance.png", "template_id": "tpl_1"}, 50),
    Example("receipt_query_prose", "samsar-js-client-readme.txt",
            "receipt template query (queryReceiptTemplate) costs 50 credits per request",
            "samsar/image/receipt_templates/query",
            {"image_url": "https://example.com/receipt-instance.png", "template_id": "tpl_1"}, 50),
]

# how the docs state a charge: an example answer's creditsCharged, or a prose example with a figure
STATED = re.compile(r'"creditsCharged":\s*\d+|\bcosts \d+ credits|would incur \d+ credits|\(\d+ credits/request\)')


def _docs_text(name: str) -> str:
    return (DOCS / name).read_text("utf-8")


@needs_docs
def test_every_quote_is_in_the_docs_once() -> None:
    for ex in EXAMPLES:
        assert _docs_text(ex.doc).count(ex.quote) == 1, f"{ex.name}: {ex.quote!r} is not once in {ex.doc}"


@needs_docs
def test_every_stated_charge_is_listed() -> None:
    """Each place the docs state a charge is inside the quote of exactly one example."""
    for doc in sorted({p.name for p in DOCS.glob("*.txt")}):
        text = _docs_text(doc)
        quoted = [(text.index(ex.quote), text.index(ex.quote) + len(ex.quote)) for ex in EXAMPLES if ex.doc == doc]
        for m in STATED.finditer(text):
            covering = [q for q in quoted if q[0] <= m.start() and m.end() <= q[1]]
            line = text.count("\n", 0, m.start()) + 1
            assert len(covering) == 1, f"{doc}:{line}: {m.group()!r} is stated in the docs but no example holds it"
    assert sum(len(STATED.findall(_docs_text(p.name))) for p in DOCS.glob("*.txt")) == len(EXAMPLES)


def test_the_plan_range_holds_every_stated_charge(tmp_path: Path) -> None:
    jobs = {ex.name: {"endpoint": ex.endpoint, "input": ex.body, **(ex.beside or {})} for ex in EXAMPLES}
    path = tmp_path / "docs.yaml"
    path.write_text(json.dumps({"version": 1, "name": "docs-examples", "jobs": jobs}), "utf-8")  # JSON is YAML
    plan, _ = build_plan(load_campaign(path))
    ranges = {i.id: i.price.credits for i in plan.instances}
    wrong = [f"{ex.name}: charged {ex.charge}, priced {ranges[ex.name]}" for ex in EXAMPLES
             if ranges[ex.name] is None or not ranges[ex.name].min <= ex.charge <= ranges[ex.name].max]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("name", ["rollup_with_enhance"])
def test_the_sandbox_charges_the_docs_example_within_the_range(name: str) -> None:
    """The stand-in enhances the tile, the header and the footer at 1k: 20 + 3 x 30 = 110, in 20-200."""
    from renderer.sandbox.config import SandboxConfig
    from renderer.sandbox.server import running_sandbox_sync
    import httpx

    ex = next(e for e in EXAMPLES if e.name == name)
    with running_sandbox_sync(SandboxConfig(render_seconds=0.1, credits=10_000)) as sb:
        r = httpx.post(sb.base_urls["samsar"] + "/image/create_rollup_banner_with_enhance", json=ex.body,
                       headers={"Authorization": "Bearer k"}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.json()["creditsCharged"] == 110
