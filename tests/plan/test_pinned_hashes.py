"""Stored hashes never change: manifests and journals match on them.

Every hash below was computed with the planner's original canonical JSON
(``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``)
before the fast encoder replaced it; a plan must keep reusing the results
recorded under them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from renderer.plan.planner import canonical_sha256

from .conftest import plan_file

CAMPAIGNS = Path(__file__).resolve().parents[2] / "campaigns"

PINNED: list[tuple[str, Any, dict[str, str] | None, str]] = [
    ("samsar/video/text_to_video",
     {"prompt": "Acme p1 in Lisbon, a sunny morning", "image_model": "GPTIMAGE2", "video_model": "RUNWAYML", "duration": 10},
     None, "a4ceb7d2076a0ec93d3eae78c15f672fcadf5eef3215191ab601eb68ad5fad3a"),
    ("samsar/image/enhance", {"image_url": "https://cdn.example.com/lisboa.png", "resolution": "2k"},
     None, "3a943e2de13c1d60e9eede2c009199b02c6b5877e4a4f1c878deb6d2765ad823"),
    ("enhancecraft/image/enhance", {"input_file": "assets/a.png", "scale": 2}, {"input_file": "ab" * 32},
     "81073c7a0f26383495ec0428cfd581ee36e707d5e0cbb05af7bae2f980c1d17b"),
    ("samsar/video/translate",
     {"input": {"session_id": "vid_1", "language": "日本語 — ñ \u00e9", "z": [1, 2.5, None, True, False],
                "a": {"b": "c\n\t\"\\"}}},
     None, "04df9ea589bdaf2b415e69a2ef785576f4a084984fde8891c4f31de56e521f91"),
    # floats Python writes with an exponent, control characters, a 70-bit integer
    ("samsar/x", {"small": 1e-05, "big": 1e16, "neg": -0.0, "f": 0.1, "g": 123456789.125,
                  "ctrl": "\x01\x1f\x7f\u2028", "emoji": "🎬", "bigint": 2**70},
     None, "47b0db4a60e65744ea83fa7634f0911f8ce5421030061423046d483cca689b61"),
    ("samsar/y", {"nan": math.nan, "inf": math.inf, "ninf": -math.inf},
     None, "f2c5ac7a030044fe6d1d7dc905f151ffb411cbb22f76ca90d1a1683d02d117a5"),
    # keys sort by code point, outside the BMP too
    ("samsar/z", {"k": {"b": 1, "a": 2, "é": 3, "Z": 4, "aa": 5, "\u00ff": 6, "😀": 7, "\uffff": 8}},
     None, "35181ceaec4707e71f5dbedd3edc285055cce9c547d53fdb2d81d3bbc286516c"),
    # YAML `1: x` makes an integer key
    ("samsar/w", {1: "int key", 2: [3]}, None, "03a602c35d88c20c687a9c6b21375dcfb87339651f52f52dda3eb75fdf7038bb"),
]


@pytest.mark.parametrize("endpoint,body,files,sha", PINNED, ids=[p[0] for p in PINNED])
def test_canonical_sha256_is_pinned(endpoint: str, body: Any, files: dict[str, str] | None, sha: str) -> None:
    assert canonical_sha256(endpoint, body, files) == sha


@pytest.mark.parametrize("name,iid,sha", [
    ("spring-launch.yaml", "stills[city=lisbon]", "72bf42c9589b6330954aaba7967e23bb62047ecf17ed8f354d303b5162021627"),
    ("spring-launch.yaml", "stills[city=lima]", "d1ae364e18946864e386404d46de14774af80692d8ae359f60a4b57e51bda5e0"),
    ("enhancecraft.yaml", "product_shot", "5da6b0f7c065c2bdda31250d7850b33008a032a2931fdced05bf4675b7af68ff"),
    ("enhancecraft.yaml", "upscale[scale=4]", "16587a74c0c77e05cffbc8b8b745c704df31612f8e706aa9587467298ea91aeb"),
])
def test_planned_input_sha256_is_pinned(name: str, iid: str, sha: str) -> None:
    plan, _ = plan_file(CAMPAIGNS / name)
    assert plan.by_id[iid].input_sha256 == sha


def test_pinned_bodies_are_what_the_original_encoder_hashed() -> None:
    """The table above is the original encoder's text, not whatever the code does now."""
    import hashlib

    for endpoint, body, files, sha in PINNED:
        doc: dict[str, Any] = {"endpoint": endpoint, "body": body, **({"files": files} if files else {})}
        text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hashlib.sha256(text.encode("utf-8")).hexdigest() == sha
