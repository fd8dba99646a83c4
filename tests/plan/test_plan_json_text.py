"""`plan --json` is written fast, in a few pieces, and reads exactly as the stdlib wrote it."""

from __future__ import annotations

import gc
import json
import shutil
from io import StringIO
from pathlib import Path

import pytest

from renderer import targets
from renderer.cli import main
from renderer.plan.views import plan_json, plan_json_text, summarise

from .conftest import plan_file

ROOT = Path(__file__).resolve().parents[2]
# the example campaigns, planned from a copy: a manifest a run left beside them in this
# checkout (the Quickstart writes one) must not change what the test sees
CAMPAIGNS = sorted((ROOT / "campaigns").glob("*.yaml")) + [ROOT / "tests" / "data" / "contract-example.yaml"]


@pytest.fixture(scope="module")
def copies(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("campaigns")
    shutil.copytree(ROOT / "campaigns", folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.manifest.json"))
    shutil.copy(ROOT / "tests" / "data" / "contract-example.yaml", folder)
    return folder

ODD_NUMBERS = """
version: 1
name: "odd numbers: 日本"
budget:
  max_credits: 1.0e+20
pricing:
  samsar:
    video_model_per_second: {RUNWAYML: 0.000001}
jobs:
  clip:
    endpoint: samsar/video/text_to_video
    matrix:
      n: [1, 2, 3, 4, 5]
    input:
      prompt: "clip {{ matrix.n }}"
      image_model: GPTIMAGE2
      video_model: RUNWAYML
      duration: 10
"""


def stdlib(path: Path) -> str:
    plan, _ = plan_file(path)
    summary = summarise(plan, targets=targets.for_campaign(plan.campaign, {}, sandbox=False))
    return json.dumps(plan_json(plan, summary), indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("name", [p.name for p in CAMPAIGNS], ids=[p.stem for p in CAMPAIGNS])
def test_cli_json_is_the_stdlib_text(name: str, copies: Path) -> None:
    path = copies / name
    out, err = StringIO(), StringIO()
    assert main(["plan", str(path), "--json"], out=out, err=err, env={}) == 0, err.getvalue()
    assert out.getvalue() == stdlib(path)


@pytest.mark.parametrize("chunk", [1, 2, 5, 1000])
def test_pieces_of_any_size_join_into_the_stdlib_text(chunk: int) -> None:
    path = ROOT / "tests" / "data" / "contract-example.yaml"
    plan, _ = plan_file(path)
    summary = summarise(plan)
    pieces = list(plan_json_text(plan, summary, chunk=chunk))
    assert len(pieces) == 2 + -(-len(plan.instances) // chunk)  # head, one per chunk, tail
    assert "".join(pieces) == json.dumps(plan_json(plan, summary), indent=2, ensure_ascii=False)


def test_numbers_orjson_would_write_otherwise_are_written_as_before(write) -> None:
    path = write(ODD_NUMBERS)
    text = stdlib(path)
    assert '"min": 4.9999999999999996e-05' in text  # 5 clips, 10 s at 0.000001 a second
    assert '"max_credits": 1e+20' in text
    out, err = StringIO(), StringIO()
    main(["plan", str(path), "--json"], out=out, err=err, env={})
    assert out.getvalue() == text


def test_the_collector_is_back_on_after_planning_even_when_it_fails(write) -> None:
    assert gc.isenabled()
    main(["plan", str(write(ODD_NUMBERS)), "--json"], out=StringIO(), err=StringIO(), env={})
    assert gc.isenabled()
    main(["plan", str(write(ODD_NUMBERS.replace("duration: 10", "duration: ten"))), "--json"],
         out=StringIO(), err=StringIO(), env={})
    assert gc.isenabled()
