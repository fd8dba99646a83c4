"""Bodies with pending values: the fast validator with placeholders, the full check once per job."""

from __future__ import annotations

from typing import Any

import pytest

from renderer.plan.pending import PendingChecks
from renderer.vocabulary import Pending
from renderer.campaign import schemas

from .conftest import errors_of, plan_file

CHAINED = """
version: 1
name: chained
jobs:
  stills:
    endpoint: samsar/image/enhance
    matrix:
      city: [c0, c1, c2, c3]
      shot: [0, 1, 2, 3, 4]
    input:
      image_url: "https://cdn.example.com/{{ matrix.city }}/{{ matrix.shot }}.png"
      resolution: 2k
  clips:
    endpoint: samsar/video/image_list_to_video
    needs: [stills]
    matrix:
      city: [c0, c1, c2, c3]
      shot: [0, 1, 2, 3, 4]
    estimate:
      duration: 10
    input:
      image_urls: ["{{ needs.stills.result_url }}", "{{ needs.stills.thumbnail_url }}?small"]
      video_model: RUNWAYML
      language: LANGUAGE
  cuts:
    endpoint: samsar/video/join_videos
    needs: [clips]
    matrix:
      city: [c0, c1, c2, c3]
    input:
      session_ids: "{{ needs.clips | map(attribute='session_id') | list }}"
"""


@pytest.fixture
def full_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The schema names the full (jsonschema) check ran for, one entry a body."""
    calls: list[str] = []
    real = schemas.check

    def counting(name: str, value: Any) -> list[schemas.Violation]:
        calls.append(name)
        return real(name, value)

    monkeypatch.setattr(schemas, "check", counting)
    return calls


def test_a_chained_plan_runs_the_full_check_once_per_job(write, full_checks: list[str]) -> None:
    """24 pending bodies in two jobs, one layout each."""
    plan, _ = plan_file(write(CHAINED.replace("LANGUAGE", "en")))
    assert sum(i.pending for i in plan.instances) == 24
    assert sorted(n for n in full_checks if n.startswith("samsar")) == [  # once per job, not per instance
        "samsar.video.image_list_to_video.schema.json", "samsar.video.join_videos.schema.json"]
    assert plan.by_id["cuts[city=c2]"].price.credits is not None


def test_an_error_in_what_is_known_is_reported_as_before(write, monkeypatch: pytest.MonkeyPatch) -> None:
    """The video model of one city is a number; the other bodies share its layout and pass fast."""
    text = CHAINED.replace("LANGUAGE", "en").replace("video_model: RUNWAYML", "video_model: \"{{ 7 if matrix.city == 'c3' else 'RUNWAYML' }}\"")
    path = write(text)
    fast = errors_of(path)
    assert fast[0].startswith(f"{path}:22:20: clips[city=c3,shot=0]: video_model")
    assert fast[0].endswith("(and in 4 more instance(s))") and len(fast) == 1
    monkeypatch.setattr(PendingChecks, "passes", lambda self, job, schema, value: False)  # the full check, every body
    assert errors_of(path) == fast


def test_a_pending_value_repeated_is_a_repeated_item_as_before(write) -> None:
    path = write("""
        version: 1
        name: x
        jobs:
          clip:
            endpoint: samsar/video/text_to_video
            input: {prompt: p, image_model: GPTIMAGE2, video_model: RUNWAYML, duration: 10}
          cut:
            endpoint: samsar/video/join_videos
            needs: [clip]
            input:
              session_ids: ["{{ needs.clip.session_id }}", "{{ needs.clip.session_id }}"]
        """)
    assert errors_of(path) == [f"{path}:11:7: cut: session_ids has repeated items; they must be unique"]


def test_placeholders_take_each_outputs_shape_and_differ_where_the_values_do() -> None:
    checks = PendingChecks()
    body = {"session_ids": [Pending("a", "session_id"), Pending("b", "session_id")]}
    key = checks.passes("cut", "samsar.video.join_videos.schema.json", body)
    assert key == ("cut", frozenset({(("session_ids", -1), "session_id")}))
    assert checks.passes("cut", "samsar.video.join_videos.schema.json", body) == key  # not yet vouched for
    checks.remember(key)  # type: ignore[arg-type]
    longer = {"session_ids": [Pending(c, "session_id") for c in "abcdef"]}
    assert checks.passes("cut", "samsar.video.join_videos.schema.json", longer) is True  # same layout
    same = {"session_ids": [Pending("a", "session_id"), Pending("a", "session_id")]}
    assert checks.passes("cut", "samsar.video.join_videos.schema.json", same) is False


def test_a_field_of_a_response_has_no_declared_shape() -> None:
    body = {"image_url": Pending("a", "response")}
    assert PendingChecks().passes("x", "samsar.image.enhance.schema.json", body) is False
