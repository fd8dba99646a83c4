"""Incremental plans: reuse from a manifest (contract §4), and --select."""

from __future__ import annotations

from typing import Any

import pytest

from renderer.errors import UsageError
from renderer.plan.planner import canonical_sha256
from renderer.plan.views import plan_json, summarise
from renderer.vocabulary import Pending

from .conftest import credits, plan_file

CAMPAIGN = """
version: 1
name: spring-launch
jobs:
  stills:
    endpoint: samsar/image/enhance
    matrix:
      city: [lisbon, tokyo, lima]
    input:
      image_url: "https://cdn.example.com/{{ matrix.city }}.png"
      resolution: 2k
  teaser:
    endpoint: samsar/video/image_list_to_video
    needs: [stills]
    matrix:
      city: [lisbon, tokyo, lima]
      language: [en, es]
    estimate:
      duration: 30
    input:
      image_urls: ["{{ needs.stills.result_url }}"]
      video_model: RUNWAYML
      language: "{{ matrix.language }}"
  spanish_cut:
    endpoint: samsar/video/join_videos
    needs: [teaser]
    matrix:
      language: [es]
    input:
      session_ids: "{{ needs.teaser | map(attribute='session_id') | list }}"
"""

CITIES = ("lisbon", "tokyo", "lima")
ENHANCE = "samsar/image/enhance"
ILV = "samsar/video/image_list_to_video"
JOIN = "samsar/video/join_videos"


def still_sha(city: str, resolution: str = "2k") -> str:
    return canonical_sha256(ENHANCE, {"image_url": f"https://cdn.example.com/{city}.png", "resolution": resolution})


def teaser_sha(city: str, language: str) -> str:
    body = {"input": {"image_urls": [f"https://cdn.example.com/{city}-2k.png"], "video_model": "RUNWAYML", "language": language}}
    return canonical_sha256(ILV, body)


def entry(endpoint: str, sha: str, rid: str, status: str = "completed", **extra: Any) -> dict[str, Any]:
    return {
        "endpoint": endpoint, "input_sha256": sha, "status": status,
        "request_id": rid, "session_id": rid,
        "result_url": f"https://cdn.example.com/{rid}", "result_urls": [f"https://cdn.example.com/{rid}"],
        "credits": {"estimated": {"min": 50, "max": 50}, "charged": 50},
        "submitted_at": "2026-11-20T10:00:00Z", "finished_at": "2026-11-20T10:01:00Z", "error": None, **extra,
    }


def stills_entries() -> dict[str, Any]:
    out = {}
    for city in CITIES:
        e = entry(ENHANCE, still_sha(city), f"img_{city}")
        e["result_url"] = f"https://cdn.example.com/{city}-2k.png"
        out[f"stills[city={city}]"] = e
    return out


def teaser_entries(**durations: float) -> dict[str, Any]:
    out = {}
    for city in CITIES:
        for lang in ("en", "es"):
            extra = {"duration": durations[city]} if city in durations else {}
            out[f"teaser[city={city},language={lang}]"] = entry(ILV, teaser_sha(city, lang), f"vid_{city}_{lang}", **extra)
    return out


def manifest(jobs: dict[str, Any]) -> dict[str, Any]:
    return {"campaign": "spring-launch", "campaign_sha256": "x", "renderer_version": "0.1.0", "jobs": jobs,
            "credits": {"estimated": {"min": 0, "max": 0}, "charged": 0}}


def actions(plan) -> dict[str, str]:
    return {i.id: i.action for i in plan.instances}


def total(plan) -> tuple[Any, Any]:
    t = plan.credits()
    return (t.min, t.max)


def test_without_a_manifest_everything_runs(write) -> None:
    plan, _ = plan_file(write(CAMPAIGN))
    assert set(actions(plan).values()) == {"run"}
    assert total(plan) == (5820, 5820)  # 3 x 50 + 6 x 900 + 270


def test_the_hash_is_of_the_request_the_docs_show(write) -> None:
    plan, _ = plan_file(write(CAMPAIGN))
    assert plan.by_id["stills[city=tokyo]"].input_sha256 == still_sha("tokyo")


def test_completed_with_the_same_input_is_reused_and_costs_nothing(write) -> None:
    plan, _ = plan_file(write(CAMPAIGN), manifest(stills_entries()))
    assert [actions(plan)[f"stills[city={c}]"] for c in CITIES] == ["reuse", "reuse", "reuse"]
    assert plan.by_id["stills[city=lima]"].reuse_reason == "completed in the manifest with the same input"
    # dependants are rendered with the manifest's outputs: no longer pending, hashed, and new: run
    t = plan.by_id["teaser[city=lima,language=es]"]
    assert t.pending is False
    assert t.body == {"input": {"image_urls": ["https://cdn.example.com/lima-2k.png"], "video_model": "RUNWAYML", "language": "es"}}
    assert t.input_sha256 == teaser_sha("lima", "es")
    assert t.action == "run"
    assert total(plan) == (5670, 5670)  # 5,820 less the three stills (150)


def test_reuse_flows_down_while_hashes_match(write) -> None:
    jobs = {**stills_entries(), **teaser_entries(tokyo=28)}
    plan, _ = plan_file(write(CAMPAIGN), manifest(jobs))
    assert actions(plan) == {
        **{f"stills[city={c}]": "reuse" for c in CITIES},
        **{f"teaser[city={c},language={lang}]": "reuse" for c in CITIES for lang in ("en", "es")},
        "spanish_cut[language=es]": "run",
    }
    cut = plan.by_id["spanish_cut[language=es]"]
    assert cut.body == {"input": {"session_ids": ["vid_lisbon_es", "vid_tokyo_es", "vid_lima_es"]}}
    # priced from the reused teasers: 30 + 28 (the measured length in the manifest) + 30 = 88 s x 3/s
    assert credits(plan, "spanish_cut[language=es]") == (264, 264)
    assert total(plan) == (264, 264)
    summary = summarise(plan, manifest(jobs))
    doc = plan_json(plan, summary)
    assert doc["credits"] == {"min": 264, "max": 264}
    by_id = {j["id"]: j for j in doc["jobs"]}
    assert by_id["teaser[city=lima,language=en]"]["action"] == "reuse"
    assert by_id["teaser[city=lima,language=en]"]["credits"] == {"min": 0, "max": 0}
    assert by_id["teaser[city=lima,language=en]"]["estimated_credits"] == {"min": 900, "max": 900}
    assert doc["changes"]["added"] == ["spanish_cut[language=es]"]
    assert len(doc["changes"]["reused"]) == 9


def test_a_completed_join_with_the_same_inputs_is_reused_too(write) -> None:
    jobs = {**stills_entries(), **teaser_entries()}
    cut_sha = canonical_sha256(JOIN, {"input": {"session_ids": ["vid_lisbon_es", "vid_tokyo_es", "vid_lima_es"]}})
    jobs["spanish_cut[language=es]"] = entry(JOIN, cut_sha, "vid_cut")
    plan, _ = plan_file(write(CAMPAIGN), manifest(jobs))
    assert set(actions(plan).values()) == {"reuse"}
    assert total(plan) == (0, 0)


def test_a_changed_input_runs_and_its_dependants_wait_for_it(write) -> None:
    jobs = {**stills_entries(), **teaser_entries()}
    jobs["spanish_cut[language=es]"] = entry(JOIN, "0" * 64, "vid_cut")
    text = CAMPAIGN.replace("      resolution: 2k", "      resolution: \"{{ '4k' if matrix.city == 'tokyo' else '2k' }}\"")
    plan, _ = plan_file(write(text), manifest(jobs))
    acts = actions(plan)
    assert acts["stills[city=tokyo]"] == "run"  # its input changed: 4k
    assert acts["stills[city=lisbon]"] == acts["stills[city=lima]"] == "reuse"
    # tokyo's teasers now wait for a new still: pending, so not reusable
    for lang in ("en", "es"):
        t = plan.by_id[f"teaser[city=tokyo,language={lang}]"]
        assert (t.action, t.pending, t.input_sha256) == ("run", True, None)
        assert t.body["input"]["image_urls"] == [Pending("stills[city=tokyo]", "result_url")]
    assert acts["teaser[city=lisbon,language=es]"] == "reuse"
    cut = plan.by_id["spanish_cut[language=es]"]
    assert cut.action == "run" and cut.pending is True
    assert cut.body["input"]["session_ids"] == ["vid_lisbon_es", Pending("teaser[city=tokyo,language=es]", "session_id"), "vid_lima_es"]
    # 60 (4k still) + 2 x 900 (tokyo teasers) + 270 (the join of 3 x 30 s)
    assert total(plan) == (2130, 2130)


@pytest.mark.parametrize("status", ["failed", "pending", "not_submitted", "unknown"])
def test_only_completed_entries_are_reused(write, status: str) -> None:
    jobs = stills_entries()
    jobs["stills[city=lima]"]["status"] = status
    plan, _ = plan_file(write(CAMPAIGN), manifest(jobs))
    assert actions(plan)["stills[city=lima]"] == "run"
    assert plan.by_id["teaser[city=lima,language=en]"].pending is True


def test_cancelled_entries_stay_cancelled_at_no_cost(write) -> None:
    jobs = stills_entries()
    jobs["stills[city=lima]"]["status"] = "cancelled"
    plan, _ = plan_file(write(CAMPAIGN), manifest(jobs))
    assert actions(plan)["stills[city=lima]"] == "cancelled"
    doc = plan_json(plan, summarise(plan, manifest(jobs)))
    lima = next(j for j in doc["jobs"] if j["id"] == "stills[city=lima]")
    assert lima["action"] == "cancelled" and lima["credits"] == {"min": 0, "max": 0}
    assert actions(plan.rerun_cancelled())["stills[city=lima]"] == "run"
    jobs["stills[city=lima]"]["input_sha256"] = still_sha("lima", "4k")  # its input changed: it runs
    plan, _ = plan_file(write(CAMPAIGN), manifest(jobs))
    assert actions(plan)["stills[city=lima]"] == "run"


def test_a_different_hash_runs(write) -> None:
    jobs = stills_entries()
    jobs["stills[city=lima]"]["input_sha256"] = still_sha("lima", "4k")
    plan, _ = plan_file(write(CAMPAIGN), manifest(jobs))
    assert actions(plan)["stills[city=lima]"] == "run"
    assert summarise(plan, manifest(jobs)).changes["changed"][0] == "stills[city=lima]"


# -- --select ---------------------------------------------------------------------------


def run_ids(plan) -> list[str]:
    return [i.id for i in plan.instances if i.action == "run"]


def test_select_a_job_by_name(write) -> None:
    plan, _ = plan_file(write(CAMPAIGN), select=["stills"])
    assert run_ids(plan) == ["stills[city=lisbon]", "stills[city=tokyo]", "stills[city=lima]"]
    assert {i.action for i in plan.instances if i.job != "stills"} == {"skip"}
    assert total(plan) == (150, 150)
    doc = plan_json(plan, summarise(plan))
    assert {j["id"]: j["credits"] for j in doc["jobs"]}["spanish_cut[language=es]"] == {"min": 0, "max": 0}


def test_select_an_instance_id_as_the_plan_shows_it(write) -> None:
    # its upstream stills are finished in the manifest: the teaser alone can run
    plan, _ = plan_file(write(CAMPAIGN), manifest(stills_entries()), select=["teaser[city=lima,language=es]"])
    assert run_ids(plan) == ["teaser[city=lima,language=es]"]


def test_select_with_wildcards(write) -> None:
    plan, _ = plan_file(write(CAMPAIGN), manifest(stills_entries()), select=["teaser[city=l*,language=es]"])
    assert run_ids(plan) == ["teaser[city=lisbon,language=es]", "teaser[city=lima,language=es]"]
    plan, _ = plan_file(write(CAMPAIGN), select=["*[city=tokyo*"])
    assert run_ids(plan) == ["stills[city=tokyo]", "teaser[city=tokyo,language=en]", "teaser[city=tokyo,language=es]"]


def test_select_with_dependants(write) -> None:
    plan, _ = plan_file(write(CAMPAIGN), select=["stills+"])
    everything, _ = plan_file(write(CAMPAIGN))
    assert run_ids(plan) == run_ids(everything) and "spanish_cut[language=es]" in run_ids(plan)
    # spanish_cut also needs the Lisbon and Lima teasers, which tokyo's dependants leave out: run could not send it
    with pytest.raises(UsageError, match=r"spanish_cut\[language=es\] needs teaser\[city=lisbon,language=es\]"):
        plan_file(write(CAMPAIGN), select=["stills[city=tokyo]+"])


def test_select_with_upstreams(write) -> None:
    plan, _ = plan_file(write(CAMPAIGN), select=["+spanish_cut"])
    assert run_ids(plan) == [
        "stills[city=lisbon]", "stills[city=tokyo]", "stills[city=lima]",
        "teaser[city=lisbon,language=es]", "teaser[city=tokyo,language=es]", "teaser[city=lima,language=es]",
        "spanish_cut[language=es]",
    ]


def test_select_several_patterns_and_reused_stay_reused(write) -> None:
    plan, _ = plan_file(write(CAMPAIGN), manifest(stills_entries()), select=["teaser[city=lisbon,*]", "+spanish_cut"])
    assert actions(plan)["stills[city=lisbon]"] == "reuse"
    assert run_ids(plan) == [
        "teaser[city=lisbon,language=en]", "teaser[city=lisbon,language=es]",
        "teaser[city=tokyo,language=es]", "teaser[city=lima,language=es]", "spanish_cut[language=es]",
    ]


def test_select_without_unfinished_upstreams_is_a_usage_error(write) -> None:
    """run could not send it (its upstream is neither selected nor finished): plan says so."""
    with pytest.raises(UsageError) as exc:
        plan_file(write(CAMPAIGN), select=["teaser[city=lima,language=es]"])
    assert str(exc.value) == (
        "--select: teaser[city=lima,language=es] needs stills[city=lima], which is not selected and has no "
        "completed result in the manifest; select its upstreams too (--select '+teaser[city=lima,language=es]')")


def test_select_matching_nothing_is_a_usage_error(write) -> None:
    with pytest.raises(UsageError) as exc:
        plan_file(write(CAMPAIGN), select=["teasers"])
    assert str(exc.value) == "--select 'teasers' matches no job or instance id of 'spring-launch'"


def test_input_file_content_is_part_of_the_input(tmp_path):
    """Editing the image an EnhanceCraft job uploads makes the job run again."""
    from renderer.plan.planner import build_plan
    from renderer.campaign.campaign import load_campaign

    (tmp_path / "photo.png").write_bytes(b"one")
    path = tmp_path / "c.yaml"
    path.write_text(
        "version: 1\nname: x\njobs:\n  shot:\n    endpoint: enhancecraft/jobs\n    input:\n"
        "      input_file: photo.png\n      operations: [{type: convert, params: {output_format: png}}]\n"
    )
    first = build_plan(load_campaign(path))[0].instances[0].input_sha256
    assert build_plan(load_campaign(path))[0].instances[0].input_sha256 == first
    (tmp_path / "photo.png").write_bytes(b"two")
    assert build_plan(load_campaign(path))[0].instances[0].input_sha256 != first


def test_missing_input_file_is_a_located_error_at_plan_time(tmp_path):
    import io

    from renderer.cli import main

    path = tmp_path / "c.yaml"
    path.write_text(
        "version: 1\nname: x\njobs:\n  shot:\n    endpoint: enhancecraft/jobs\n    input:\n"
        "      input_file: ../outside.png\n      operations: [{type: convert, params: {output_format: png}}]\n"
    )
    err = io.StringIO()
    assert main(["validate", str(path)], out=io.StringIO(), err=err, env={}) == 1
    assert err.getvalue().splitlines()[0] == (
        f"{path}:7:19: shot: input_file '../outside.png' is outside the campaign's folder"
    )


def test_nothing_left_to_send_is_never_over_budget(write) -> None:
    """Earlier runs were charged past the budget (an API overcharge): a plan that sends
    nothing more spends nothing, so it passes; one that would send more still fails."""
    done, _ = plan_file(write(CAMPAIGN), manifest(stills_entries()), select=["stills"])
    assert run_ids(done) == []
    assert not summarise(done, budget=100, spent=500, sent=frozenset()).over_budget
    more, _ = plan_file(write(CAMPAIGN), select=["stills"])
    assert summarise(more, budget=100, spent=500, sent=frozenset()).over_budget
