"""The provider parts of schemas/campaign.schema.json are generated from the registry."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from renderer import providers
from renderer.providers import gen_schema

COMMITTED = Path(__file__).resolve().parents[2] / "schemas" / "campaign.schema.json"


def test_the_committed_campaign_schema_is_what_the_registry_generates() -> None:
    committed = json.loads(COMMITTED.read_text("utf-8"))
    assert gen_schema.campaign_schema(committed) == committed, (
        "schemas/campaign.schema.json is out of date: run python -m renderer.providers.gen_schema")
    assert gen_schema.main(["--check"]) == 0


def test_generation_restores_every_provider_part() -> None:
    committed = json.loads(COMMITTED.read_text("utf-8"))
    stale = copy.deepcopy(committed)
    job = stale["$defs"]["job"]
    job["properties"]["endpoint"]["enum"] = ["samsar/video/text_to_video"]
    job["allOf"] = []
    stale["properties"]["providers"]["properties"] = {}
    stale["properties"]["pricing"]["properties"] = {}
    regenerated = gen_schema.campaign_schema(stale)
    assert regenerated == committed
    job = regenerated["$defs"]["job"]
    assert job["properties"]["endpoint"]["enum"] == sorted(providers.ROUTES)
    branches = {b["if"]["properties"]["endpoint"]["const"]: b["then"]["properties"]["input"]["$ref"]
                for b in job["allOf"] if "const" in b["if"]["properties"]["endpoint"]}
    assert branches == {e: r.schema for e, r in providers.ROUTES.items()}
    assert list(regenerated["properties"]["providers"]["properties"]) == list(providers.PROVIDERS)


def test_the_check_fails_on_a_stale_file(tmp_path: Path, monkeypatch) -> None:
    stale = json.loads(COMMITTED.read_text("utf-8"))
    stale["$defs"]["job"]["properties"]["endpoint"]["enum"].pop()
    path = tmp_path / "campaign.schema.json"
    path.write_text(json.dumps(stale), "utf-8")
    monkeypatch.setattr(gen_schema, "committed_path", lambda: path)
    assert gen_schema.main(["--check"]) == 1
    assert gen_schema.main([]) == 0  # rewrites it
    assert json.loads(path.read_text("utf-8")) == json.loads(COMMITTED.read_text("utf-8"))
