"""`renderer run` with the samsar-js routes (/v2, step renders, titles, receipts, branding) over loopback,
and the table rows that need a run: a language the API refuses (3), no cancel of create_movie (9),
fetch_latest_version for a finished render without a URL (10)."""

from __future__ import annotations

import io
from pathlib import Path

from helpers.runs import args_for, counters, env_for, journal_for, make_sandbox, write_campaign
from renderer.cli import main
from renderer.commands.cancel import cancel

CLIP = """
  clip:
    endpoint: samsar/video/text_to_video
    input: {prompt: A clip, image_model: GPTIMAGE2, video_model: RUNWAYML, duration: 5}
"""


def campaign(folder: Path, name: str, jobs: str, head: str = "") -> Path:
    return write_campaign(folder, f"version: 1\nname: {name}\n{head}jobs:{jobs}")


V2 = """
version: 1
name: omni
jobs:
  story:
    endpoint: samsar/v2/text_to_video
    matrix:
      n: [1, 2, 3]
    input: {prompt: "Clouds {{ matrix.n }}", image_model: GPTIMAGE2, video_model: RUNWAYML, duration: 10}
  spanish:
    endpoint: samsar/v2/translate_video
    needs: [story]
    matrix:
      n: [1]
    input: {videoSessionId: "{{ needs.story.session_id }}", language: es}
  avatar:
    endpoint: samsar/v2/video/regenerate_avatar
    needs: [story]
    matrix:
      n: [2]
    input: {videoSessionId: "{{ needs.story.session_id }}"}
  step:
    endpoint: samsar/v2/video/step/text_to_video
    input: {prompt: A launch teaser, image_model: GPTIMAGE2, video_model: RUNWAYML, duration: 20}
  title:
    endpoint: samsar/image/assign_title
    input: {image_url: "https://example.com/product-photo.png"}
  template:
    endpoint: samsar/receipts/create_template
    input: {image_url: "https://example.com/receipt-template.png", template_name: kbank}
  receipt:
    endpoint: samsar/image/receipt_templates/query
    needs: [template]
    input: {image_url: "https://example.com/receipt.png", template_id: "{{ needs.template.request_id }}"}
  rebrand:
    endpoint: samsar/image/replace_branding
    input: {image_urls: ["https://example.com/photo.png", "https://example.com/logo.png"]}
"""


def test_the_new_routes_run_end_to_end(tmp_path: Path, runner) -> None:
    path = write_campaign(tmp_path, V2)
    with make_sandbox() as sb:
        code, out, data = runner(path, env_for(sb))
        c = counters(sb)
        sessions = dict(sb.state.sessions)
    assert code == 0, out
    jobs = data["jobs"]
    assert data["counts"] == {"completed": 10}
    assert c["accepted_total"] == 10 and c["duplicates_total"] == 0
    assert c["status_reads"].get("GET /v2/requests", 0) >= 1  # the three stories read by one list
    step = jobs["step"]
    assert step["request_id"].startswith("vid_step_") and step["result_url"].endswith(f"{step['request_id']}.mp4")
    assert sessions[step["request_id"]].extra["step"]["stops"] is False  # a straight render: no approval asked
    assert c["status_reads"]["GET /v2/video/step/{request_id}/status"] >= 1
    assert jobs["title"]["response"]["content"] == "Product Photo" and jobs["title"]["request_id"].startswith("answer-")
    template = jobs["template"]["request_id"]
    assert template.startswith("rtpl_") and jobs["template"]["credits"]["charged"] == 0
    receipt = jobs["receipt"]
    assert receipt["response"]["template_id"] == template and receipt["response"]["receipt_json"]["currency"] == "THB"
    assert receipt["credits"]["charged"] == 50
    assert jobs["avatar[n=2]"]["request_id"].startswith("vid_avatar_")
    assert jobs["rebrand"]["status"] == "completed" and jobs["rebrand"]["result_url"].endswith(".png")
    # unpublished prices: unknown in the plan, charged nothing by the sandbox (and counted)
    assert jobs["story[n=1]"]["credits"] == {"charged": 0, "estimated": None}
    assert c["unpriced"]["samsar/v2/text_to_video"] == 3


def test_a_budget_cannot_cover_an_unpublished_price_until_the_campaign_gives_it(tmp_path: Path) -> None:
    text = V2.replace("name: omni\n", "name: omni\nbudget:\n  max_credits: 100000\n")
    path = write_campaign(tmp_path, text)
    err, out = io.StringIO(), io.StringIO()
    code = main(["plan", str(path)], out=out, err=err, env={})
    assert code != 0
    assert "pricing.samsar_v2.video_model_per_second" in out.getvalue() + err.getvalue()
    priced = text.replace("jobs:\n", "pricing:\n  samsar_v2:\n    video_model_per_second: {RUNWAYML: 30}\n"
                          "    step_video_model_per_second: {RUNWAYML: 30}\n    translate_per_second: 3\n"
                          "    regenerate_avatar_per_request: 0\n  samsar:\n    image_assign_title: 5\n"
                          "    image_replace_branding: 50\njobs:\n", 1)
    path.write_text(priced)
    out = io.StringIO()
    assert main(["plan", str(path)], out=out, err=io.StringIO(), env={}) == 0
    # 3 stories 900, Spanish 30, avatar 0, step 600, title 5, template 0, receipt 50, rebrand 50
    assert "estimated for this run: 1,635 credits of budget 100,000" in out.getvalue()


def test_a_lost_v2_answer_is_proven_by_the_request_list(tmp_path: Path, runner) -> None:
    path = campaign(tmp_path, "lost", """
  story:
    endpoint: samsar/v2/text_to_video
    input: {prompt: A harbour at dawn, image_model: GPTIMAGE2, video_model: RUNWAYML, duration: 10}
""", head="providers:\n  samsar: {idempotent_keys: false}\n")
    with make_sandbox(faults={"schedule": {1: "drop_after"}}) as sb:
        code, out, data = runner(path, env_for(sb))
        c = counters(sb)
    assert code == 0, out
    assert c["accepted_total"] == 1 and c["duplicates_total"] == 0
    proof = data["jobs"]["story"]["reconciled"]
    assert proof["by"] == "/requests" and proof["evidence"]["matched"] == {"prompt": "A harbour at dawn"}
    assert proof["evidence"]["case_type"] == "text_to_video"
    events = [e["detail"] for e in journal_for(path, env_for(sb)).events(100) if e["kind"] == "reconcile"]
    assert any("proven by /requests" in (d or "") for d in events)


def test_row3_a_language_the_api_refuses_fails_the_job_in_a_rehearsal(tmp_path: Path, runner) -> None:
    path = campaign(tmp_path, "tr", CLIP + """
  german:
    endpoint: samsar/video/translate_video
    needs: [clip]
    input: {videoSessionId: "{{ needs.clip.session_id }}", language: de}
""")
    code, out, data = runner(path, {}, sandbox=True)
    assert code == 1
    german = data["jobs"]["german"]
    assert german["status"] == "failed" and german["credits"]["charged"] is None
    assert "language: 'de' is not a language translate_video supports" in german["error"]


def test_row9_renderer_cancel_says_create_movie_has_no_cancel(tmp_path: Path, runner) -> None:
    path = campaign(tmp_path, "movie", """
  trailer:
    endpoint: samsar/video/create_movie
    input: {prompt: A lighthouse, image_model: FLUX1.1PRO, video_model: LUMA, duration: 10}
""")
    with make_sandbox(render_seconds=60) as sb:
        code, _, _ = runner(path, env_for(sb), detach=True)
        out = io.StringIO()
        assert cancel(**args_for(path), out=out, env=env_for(sb)) == 0
        c = counters(sb)
    assert out.getvalue() == ("      pending  trailer: samsar/video/create_movie renders cannot be cancelled "
                              "(the create_movie API has no cancel)\nno pending video renders to cancel\n")
    assert "POST /v1/video/cancel_render" not in c["requests"]


def test_row10_a_finished_render_without_a_url_is_completed_by_fetch_latest_version(tmp_path: Path, runner) -> None:
    path = campaign(tmp_path, "latest", CLIP)
    # every read: a record that says COMPLETED names no URL (fetch_latest_version's answer has no status)
    with make_sandbox(faults={"rates": {"no_result_url": 1.0}, "scope": "reads"}) as sb:
        code, out, data = runner(path, env_for(sb))
        c = counters(sb)
    assert code == 0, out
    clip = data["jobs"]["clip"]
    assert clip["status"] == "completed" and clip["result_url"].endswith(f"/files/{clip['request_id']}.mp4")
    assert c["status_reads"]["GET /v1/video/fetch_latest_version"] == 1
    assert clip["response"]["result_language"] == "en"
