"""`renderer run` end to end: real sandbox on loopback, SQLite journal on disk in tmp_path."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest

from helpers.runs import CANARY, FAST, args_for, counters, env_for, journal_for, make_sandbox, manifest_of, write_campaign
from helpers.runs import run
from renderer.cli import main
from renderer.errors import BudgetExceeded, ConfigError
from renderer.commands.cancel import cancel
from renderer.commands.status import status

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)

EVERY_ENDPOINT = """
version: 1
name: every-endpoint
budget:
  max_credits: 200000
pricing:
  enhancecraft:
    operations:
      enhance: 5
jobs:
  stills:
    endpoint: samsar/image/enhance
    matrix:
      city: [lisbon, tokyo]
    input:
      image_url: "https://cdn.example.com/{{ matrix.city }}.png"
      resolution: 2k
  branding:
    endpoint: samsar/image/remove_branding
    input: {image_url: "https://cdn.example.com/w.png"}
  imageset:
    endpoint: samsar/image/add_image_set
    input: {image_urls: ["https://cdn.example.com/a.png"], num_images: 2}
  rollup:
    endpoint: samsar/image/create_rollup_banner
    needs: [stills]
    input:
      image_list: [{image_url: "{{ needs.stills[0].result_url }}"}, {image_url: "{{ needs.stills[1].result_url }}"}]
  rollup_enh:
    endpoint: samsar/image/create_rollup_banner_with_enhance
    estimate: {low_res_images: 1}
    input:
      images: [{image_url: "https://cdn.example.com/t1.png"}]
  t2v:
    endpoint: samsar/video/text_to_video
    matrix:
      language: [en, es]
    input:
      prompt: "Clouds, {{ matrix.language }}"
      image_model: GPTIMAGE2
      video_model: RUNWAYML
      duration: 10
      language: "{{ matrix.language }}"
  teaser:
    endpoint: samsar/video/image_list_to_video
    needs: [stills]
    input:
      image_urls: "{{ needs.stills | map(attribute='result_url') | list }}"
      video_model: RUNWAYML
  translate:
    endpoint: samsar/video/translate_video
    needs: [t2v]
    matrix:
      language: [en]
    input:
      videoSessionId: "{{ needs.t2v.session_id }}"
      language: fr
  join:
    endpoint: samsar/video/join_videos
    needs: [t2v]
    input:
      session_ids: "{{ needs.t2v | map(attribute='session_id') | list }}"
  clone:
    endpoint: samsar/video/clone
    needs: [join]
    input: {videoSessionId: "{{ needs.join.session_id }}"}
  clone_v2:
    endpoint: samsar/v2/video/clone
    needs: [translate]
    input: {videoSessionId: "{{ needs.translate[0].session_id }}"}
  subs:
    endpoint: samsar/video/add_subtitles
    needs: [clone]
    input: {videoSessionId: "{{ needs.clone.session_id }}"}
  nosubs:
    endpoint: samsar/video/remove_subtitles
    needs: [clone]
    input: {videoSessionId: "{{ needs.clone.session_id }}"}
  outro:
    endpoint: samsar/video/add_outro_image
    needs: [teaser]
    input: {videoSessionId: "{{ needs.teaser.session_id }}", outro_image_url: "https://cdn.example.com/o.png"}
  footer:
    endpoint: samsar/video/update_footer_image
    needs: [outro]
    input: {videoSessionId: "{{ needs.outro.session_id }}", cta_text: "Book now"}
  movie:
    endpoint: samsar/video/create_movie
    input: {prompt: "A heist", image_model: FLUX1.1PRO, video_model: LUMA, duration: 10}
  external:
    endpoint: samsar/external_users/text_to_video
    external_user: {provider: guidestination, external_user_id: traveler_1}
    input: {prompt: "A trip", image_model: GPTIMAGE2, video_model: RUNWAYML, duration: 5}
  ext_outro:
    endpoint: samsar/external_users/add_outro_image
    needs: [external]
    external_user: {provider: guidestination, external_user_id: traveler_1}
    input: {request_id: "{{ needs.external.request_id }}", outro_image_url: "https://cdn.example.com/o.png"}
  ec_key:
    endpoint: enhancecraft/jobs
    input:
      input_key: uploads/mine/photo.png
      operations: [{type: enhance, params: {scale: 2}}]
  ec_file:
    endpoint: enhancecraft/jobs
    input:
      input_file: photo.png
      operations: [{type: enhance, params: {scale: 2}}]
"""

CHAIN = """
version: 1
name: chain
providers:
  samsar: {{idempotent_keys: {keys}}}
jobs:
  t2v:
    endpoint: samsar/video/text_to_video
    matrix:
      n: [1, 2]
    input: {{prompt: "Clip {{{{ matrix.n }}}}", image_model: GPTIMAGE2, video_model: RUNWAYML, duration: 5}}
  translate:
    endpoint: samsar/video/translate_video
    needs: [t2v]
    matrix:
      n: [1, 2]
    input: {{videoSessionId: "{{{{ needs.t2v.session_id }}}}", language: es}}
  joined:
    endpoint: samsar/video/join_videos
    needs: [translate]
    input: {{session_ids: "{{{{ needs.translate | map(attribute='session_id') | list }}}}"}}
"""


def images(n: int, keys: bool = False, budget: int | None = None) -> str:
    head = "version: 1\nname: stills\n"
    if budget is not None:
        head += f"budget:\n  max_credits: {budget}\n"
    head += f"providers:\n  samsar: {{idempotent_keys: {'true' if keys else 'false'}}}\n"
    return head + (
        "jobs:\n  still:\n    endpoint: samsar/image/enhance\n    matrix:\n"
        f"      i: [{', '.join(map(str, range(n)))}]\n"
        "    input:\n      image_url: \"https://cdn.example.com/{{ matrix.i }}.png\"\n      resolution: 2k\n"
    )


def video(keys: bool) -> str:
    return (
        "version: 1\nname: one-video\n"
        f"providers:\n  samsar: {{idempotent_keys: {'true' if keys else 'false'}}}\n"
        "jobs:\n  clip:\n    endpoint: samsar/video/text_to_video\n"
        "    input: {prompt: A clip, image_model: GPTIMAGE2, video_model: RUNWAYML, duration: 5}\n"
    )


# -- every endpoint, chains, fan-in ------------------------------------------------------------


def test_every_endpoint_kind_completes_and_outputs_flow(tmp_path: Path, runner) -> None:
    (tmp_path / "photo.png").write_bytes(PNG)
    path = write_campaign(tmp_path, EVERY_ENDPOINT)
    with make_sandbox() as sb:
        code, out, data = runner(path, env_for(sb))
        c = counters(sb)
    assert code == 0, out
    assert {e["status"] for e in data["jobs"].values()} == {"completed"}, data["counts"]
    assert len(data["jobs"]) == 22
    assert c["accepted_total"] == 22 and c["duplicates_total"] == 0, c["duplicates"]
    assert c["requests"]["POST /enhancecraft/api/v1/upload/api"] == 1
    jobs = data["jobs"]
    j = journal_for(path, env_for(sb))
    bodies = {s.instance_id: s.body for s in j.all()}
    # outputs of upstreams are in downstream bodies (chains and fan-in)
    assert bodies["translate[language=en]"]["input"]["videoSessionId"] == jobs["t2v[language=en]"]["session_id"]
    assert bodies["join"]["input"]["session_ids"] == [jobs["t2v[language=en]"]["session_id"], jobs["t2v[language=es]"]["session_id"]]
    assert bodies["ext_outro"]["input"]["request_id"] == jobs["external"]["request_id"]
    assert bodies["ec_file"]["input_key"].startswith("uploads/") and "input_file" not in bodies["ec_file"]
    # durations: requested, derived from the charge (image list), the source's, the sum
    assert jobs["t2v[language=en]"]["duration"] == 10
    assert jobs["teaser"]["duration"] == 10 and jobs["teaser"]["credits"]["charged"] == 300
    assert jobs["translate[language=en]"]["duration"] == 10
    assert jobs["join"]["duration"] == 20 and jobs["join"]["credits"]["charged"] == 60
    assert jobs["movie"]["result_url"]
    assert jobs["rollup"]["thumbnail_url"]
    assert data["credits"]["charged"] == sum(e["credits"]["charged"] or 0 for e in jobs.values())


def test_a_finished_campaign_submits_nothing_again(tmp_path: Path, runner) -> None:
    path = write_campaign(tmp_path, CHAIN.format(keys="false"))
    with make_sandbox() as sb:
        code, _, first = runner(path, env_for(sb))
        assert code == 0
        accepted = counters(sb)["accepted_total"]
        text = path.with_name("camp.manifest.json").read_text()
        code, _, second = runner(path, env_for(sb))
        assert path.with_name("camp.manifest.json").read_text() == text  # a no-op run changes no byte
        assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
        assert code == 0 and counters(sb)["accepted_total"] == accepted == 5
        # without the manifest, the journal alone knows: still nothing resubmitted
        path.with_name("camp.manifest.json").unlink()
        code, _, third = runner(path, env_for(sb))
        assert code == 0 and counters(sb)["accepted_total"] == accepted
    assert second["jobs"] == first["jobs"]
    assert {e["request_id"] for e in third["jobs"].values()} == {e["request_id"] for e in first["jobs"].values()}


def test_failed_render_fails_and_its_dependants_are_not_submitted(tmp_path: Path, runner) -> None:
    path = write_campaign(tmp_path, CHAIN.format(keys="false"))
    with make_sandbox(faults={"schedule": {1: "render_failure"}}) as sb:
        code, out, data = runner(path, env_for(sb))
    jobs = data["jobs"]
    assert code == 1
    assert jobs["t2v[n=1]"]["status"] == "failed" and "failed" in jobs["t2v[n=1]"]["error"].lower()
    assert jobs["translate[n=1]"]["status"] == "not_submitted"
    assert "upstream t2v[n=1] is failed" in jobs["translate[n=1]"]["error"]
    assert jobs["joined"]["status"] == "not_submitted"
    assert jobs["t2v[n=2]"]["status"] == jobs["translate[n=2]"]["status"] == "completed"
    assert "failed" in out


def test_a_rerun_retries_only_what_failed(tmp_path: Path, runner) -> None:
    path = write_campaign(tmp_path, CHAIN.format(keys="false"))
    with make_sandbox(faults={"schedule": {1: "render_failure"}}) as sb:
        assert runner(path, env_for(sb))[0] == 1
        before = counters(sb)["accepted"]
        code, _, data = runner(path, env_for(sb))
        after = counters(sb)["accepted"]
    assert code == 0
    assert after["samsar/video/text_to_video"] - before["samsar/video/text_to_video"] == 1
    assert after["samsar/video/translate_video"] - before["samsar/video/translate_video"] == 1
    assert data["jobs"]["t2v[n=1]"]["status"] == "completed"


def test_429_503_500_and_slow_answers_are_survived_with_keys(tmp_path: Path, runner) -> None:
    path = write_campaign(tmp_path, images(12, keys=True))
    faults = {"rates": {"http_429": 0.2, "http_503": 0.15, "http_500": 0.15, "drop_before": 0.1},
              "retry_after_seconds": 0, "delay_seconds": 0.3}
    with make_sandbox(faults=faults, seed=3) as sb:
        code, out, data = runner(path, env_for(sb))
        c = counters(sb)
    assert code == 0, out
    assert c["accepted_total"] == 12 and c["duplicates_total"] == 0
    assert sum(c["faults"].values()) > 0
    assert max(e["attempts"] for e in data["jobs"].values()) > 1


def test_slow_answer_times_out_and_is_retried_with_the_same_key(tmp_path: Path, runner) -> None:
    from dataclasses import replace

    from renderer.execute.settings import Timeouts

    path = write_campaign(tmp_path, video(keys=True))
    settings = replace(FAST, timeouts=Timeouts(read=0.15))
    with make_sandbox(faults={"schedule": {1: "slow"}, "delay_seconds": 0.5}) as sb:
        code, out, data = runner(path, env_for(sb), settings)
        c = counters(sb)
    assert code == 0, out
    assert c["accepted_total"] == 1 and c["duplicates_total"] == 0
    assert data["jobs"]["clip"]["attempts"] >= 2


# -- lost answers ------------------------------------------------------------------------------


def test_lost_answer_without_keys_is_reconciled_through_the_image_list(tmp_path: Path, runner) -> None:
    path = write_campaign(tmp_path, images(1, keys=False))
    with make_sandbox(faults={"schedule": {1: "drop_after"}}) as sb:
        code, out, data = runner(path, env_for(sb))
        c = counters(sb)
    assert code == 0, out
    assert c["accepted_total"] == 1 and c["duplicates_total"] == 0
    entry = data["jobs"]["still[i=0]"]
    assert entry["status"] == "completed" and entry["attempts"] == 1
    events = [e["detail"] for e in journal_for(path, env_for(sb)).events(100) if e["kind"] == "reconcile"]
    assert any("proven by /image/list" in (d or "") for d in events)


def test_lost_answer_among_many_concurrent_ones_is_still_proven(tmp_path: Path, runner) -> None:
    # other POSTs in flight would make the list ambiguous: reconciling waits for them
    path = write_campaign(tmp_path, images(20, keys=False))
    with make_sandbox(faults={"schedule": {5: "drop_after"}}) as sb:
        code, out, data = runner(path, env_for(sb))
        c = counters(sb)
    assert code == 0, out
    assert data["counts"] == {"completed": 20}
    assert c["accepted_total"] == 20 and c["duplicates_total"] == 0
    assert len({e["request_id"] for e in data["jobs"].values()}) == 20


def test_lost_answers_are_told_apart_by_their_own_inputs(tmp_path: Path, runner) -> None:
    path = write_campaign(tmp_path, images(3, keys=False))
    with make_sandbox(faults={"schedule": {1: "drop_after", 2: "drop_after"}}) as sb:
        code, out, data = runner(path, env_for(sb))
        c = counters(sb)
    assert code == 0, out
    assert c["accepted_total"] == 3 and c["duplicates_total"] == 0
    reconciled = {iid: e["reconciled"] for iid, e in data["jobs"].items() if "reconciled" in e}
    assert len(reconciled) == 2  # each proven by its own image_url, and said so
    for iid, proof in reconciled.items():
        assert proof["by"] == "/image/list"
        n = iid.split("=")[1].rstrip("]")
        assert proof["evidence"]["matched"] == {"image_url": f"https://cdn.example.com/{n}.png", "resolution": "2k"}
        assert proof["evidence"]["session_id"] == data["jobs"][iid]["request_id"]
        assert f"{iid}: reconciled to {data['jobs'][iid]['request_id']}" in out


def test_lost_answers_that_cannot_be_told_apart_stay_unknown(tmp_path: Path, runner) -> None:
    same = images(3, keys=False).replace("{{ matrix.i }}.png", "same.png")  # three identical bodies
    path = write_campaign(tmp_path, same)
    with make_sandbox(faults={"schedule": {1: "drop_after", 2: "drop_after"}}) as sb:
        code, out, data = runner(path, env_for(sb))
        c = counters(sb)
    statuses = sorted(e["status"] for e in data["jobs"].values())
    assert code == 1
    assert c["accepted_total"] == 3 and c["duplicates_total"] == 2  # the campaign itself sends one body thrice
    assert statuses.count("unknown") >= 1 and "completed" in statuses
    assert "unknown fate" in out
    assert not any("reconciled" in e for e in data["jobs"].values())


def test_lost_video_answer_is_unknown_and_never_resubmitted_silently(tmp_path: Path, runner) -> None:
    path = write_campaign(tmp_path, video(keys=False))
    with make_sandbox(faults={"schedule": {1: "drop_after"}}) as sb:
        code, out, data = runner(path, env_for(sb))
        assert code == 1
        assert data["jobs"]["clip"]["status"] == "unknown"
        assert "list_completed_video_sessions" in data["jobs"]["clip"]["error"] or "no list route" in data["jobs"]["clip"]["error"]
        code, _, data = runner(path, env_for(sb))  # a plain re-run does not resubmit it
        assert code == 1 and data["jobs"]["clip"]["status"] == "unknown"
        assert counters(sb)["accepted_total"] == 1 and counters(sb)["duplicates_total"] == 0
        code, out, data = runner(path, env_for(sb), resubmit_unknown=True)  # the user decides
        c = counters(sb)
    assert code == 0 and data["jobs"]["clip"]["status"] == "completed"
    # a new submission (a new Idempotency-Key): the API accepts it again, as the flag warns,
    # and the unknown one still counts at its estimate (it was accepted: it was charged)
    assert c["accepted_total"] == 2 and c["idempotent_replays"] == 0 and c["duplicates_total"] == 1
    assert data["jobs"]["clip"]["attempts"] == 1
    assert "resubmitting" in out and "charged twice" in out


def test_lost_answer_with_keys_is_retried_and_charged_once(tmp_path: Path, runner) -> None:
    path = write_campaign(tmp_path, video(keys=True))
    with make_sandbox(faults={"schedule": {1: "drop_after"}}) as sb:
        code, out, data = runner(path, env_for(sb))
        c = counters(sb)
    assert code == 0, out
    assert c["accepted_total"] == 1 and c["duplicates_total"] == 0 and c["idempotent_replays"] == 1
    assert c["credits_charged"]["samsar"] == 150
    assert data["jobs"]["clip"]["attempts"] == 2 and data["jobs"]["clip"]["credits"]["charged"] == 150


def test_a_timed_out_post_without_keys_stays_unknown_until_the_user_decides(tmp_path: Path, runner) -> None:
    from dataclasses import replace

    from renderer.execute.settings import Timeouts

    path = write_campaign(tmp_path, images(1, keys=False))
    settings = replace(FAST, timeouts=Timeouts(read=0.1))
    # the sandbox drops a slow request whose client has gone: nothing is charged, but
    # the client cannot know that, so it must not resend on its own
    with make_sandbox(faults={"schedule": {1: "slow"}, "delay_seconds": 0.4}) as sb:
        code, out, data = runner(path, env_for(sb), settings)
        assert code == 1 and data["jobs"]["still[i=0]"]["status"] == "unknown"
        assert "does not prove" in data["jobs"]["still[i=0]"]["error"]
        assert counters(sb)["requests"]["POST /v1/image/enhance"] == 1
        code, _, data = runner(path, env_for(sb), settings)
        assert code == 1 and counters(sb)["requests"]["POST /v1/image/enhance"] == 1
        code, _, data = runner(path, env_for(sb), settings, resubmit_unknown=True)
        c = counters(sb)
    assert code == 0 and data["jobs"]["still[i=0]"]["status"] == "completed"
    assert c["accepted_total"] == 1 and c["duplicates_total"] == 0


# -- money --------------------------------------------------------------------------------------


def test_402_stops_submitting_and_finishes_what_was_accepted(tmp_path: Path, runner) -> None:
    path = write_campaign(tmp_path, images(6))
    with make_sandbox(credits=120) as sb:  # two 2k enhances (50 each) fit
        code, out, data = runner(path, env_for(sb))
        c = counters(sb)
    statuses = [e["status"] for e in data["jobs"].values()]
    assert code == 1
    assert statuses.count("completed") == 2 and statuses.count("not_submitted") == 4
    assert c["accepted_total"] == 2 and c["responses"].get("402", 0) >= 1
    assert "402" in out
    errors = [e["error"] for e in data["jobs"].values() if e["status"] == "not_submitted"]
    assert all("402" in (err or "") for err in errors)


def test_plan_over_budget_exits_3_before_anything_is_sent(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, images(3, budget=100))
    with make_sandbox() as sb:
        with pytest.raises(BudgetExceeded):
            run(**args_for(path), out=io.StringIO(), env=env_for(sb), exec_settings=FAST)
        err = io.StringIO()
        code = main(["run", str(path), "--state-dir", str(tmp_path / ".renderer")], io.StringIO(), err, env_for(sb))
        assert code == 3
        assert counters(sb)["requests_total"] == 0


def test_unknown_price_is_refused_when_there_is_a_budget(tmp_path: Path, runner) -> None:
    text = (
        "version: 1\nname: ec\nbudget: {max_credits: 1000}\njobs:\n  ec:\n    endpoint: enhancecraft/jobs\n"
        "    input: {input_key: uploads/x/a.png, operations: [{type: enhance, params: {scale: 2}}]}\n"
    )
    path = write_campaign(tmp_path, text)
    with make_sandbox() as sb:
        # plan and run agree: refused before anything is sent (exit 3), naming the job and the fix
        with pytest.raises(BudgetExceeded, match=r"ec: EnhanceCraft does not publish credit prices for: enhance; "
                                                 r"set pricing.enhancecraft.operations"):
            runner(path, env_for(sb))
        assert counters(sb)["requests_total"] == 0


def test_run_time_budget_counts_what_was_charged(tmp_path: Path, runner) -> None:
    # the plan's worst case fits; the run admits each job against what is committed
    path = write_campaign(tmp_path, images(4, budget=200))
    with make_sandbox() as sb:
        code, _, data = runner(path, env_for(sb))
    assert code == 0 and data["credits"]["charged"] == 200


# -- configuration and secrets ---------------------------------------------------------------------


def test_missing_key_fails_before_anything_is_sent(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, images(1))
    with make_sandbox() as sb:
        env = {"SAMSAR_BASE_URL": sb.base_urls["samsar"]}
        with pytest.raises(ConfigError, match="SAMSAR_API_KEY"):
            run(**args_for(path), out=io.StringIO(), env=env, exec_settings=FAST)
        err = io.StringIO()
        assert main(["run", str(path), "--state-dir", str(tmp_path / ".renderer")], io.StringIO(), err, env) == 1
        assert "SAMSAR_API_KEY" in err.getvalue()
        assert counters(sb)["requests_total"] == 0


def test_the_key_never_appears_in_output_manifest_or_journal(tmp_path: Path, runner) -> None:
    (tmp_path / "photo.png").write_bytes(PNG)
    path = write_campaign(tmp_path, EVERY_ENDPOINT)
    faults = {"rates": {"http_429": 0.1, "http_500": 0.1, "drop_after": 0.1}, "retry_after_seconds": 0}
    with make_sandbox(faults=faults, seed=5) as sb:
        code, out, data = runner(path, env_for(sb))
        status_out = io.StringIO()
        status(**args_for(path, as_json=True), out=status_out, env=env_for(sb))
    blobs = [out, status_out.getvalue(), json.dumps(data), path.with_name("camp.manifest.json").read_text()]
    for f in (tmp_path / ".renderer").iterdir():
        blobs.append(f.read_bytes().decode("latin-1"))
    for blob in blobs:
        assert CANARY not in blob
        assert "Bearer" not in blob and "authorization" not in blob.lower()


def test_sandbox_flag_needs_no_key_and_is_quick(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, CHAIN.format(keys="false"))
    out = io.StringIO()
    code = run(**args_for(path, sandbox=True), out=out, env={}, exec_settings=FAST)
    assert code == 0, out.getvalue()
    data = json.loads(manifest_of(path, sandbox=True).read_text())
    assert data["counts"] == {"completed": 5}
    assert {e["target"] for e in data["jobs"].values()} == {"sandbox"}
    assert not manifest_of(path).exists()  # a rehearsal never writes the real record


# -- detach, resume, uploads, status, cancel ------------------------------------------------------------


def test_detach_then_resume_polls_without_resubmitting(tmp_path: Path, runner) -> None:
    path = write_campaign(tmp_path, CHAIN.format(keys="false"))
    with make_sandbox() as sb:
        code, _, data = runner(path, env_for(sb), detach=True)
        assert code == 0
        assert data["jobs"]["t2v[n=1]"]["status"] == "pending"
        assert data["jobs"]["translate[n=1]"]["status"] == "not_submitted"
        assert counters(sb)["accepted_total"] == 2
        code, _, data = runner(path, env_for(sb))
        assert code == 0 and data["counts"] == {"completed": 5}
        assert counters(sb)["accepted_total"] == 5


def test_input_file_is_uploaded_once_and_confined_to_the_campaign(tmp_path: Path, runner) -> None:
    from renderer.errors import Invalid

    (tmp_path / "photo.png").write_bytes(PNG)
    (tmp_path.parent / "secret.png").write_bytes(PNG)
    ops = "operations: [{type: convert, params: {output_format: png}}]"
    text = (
        "version: 1\nname: ec\njobs:\n  inside:\n    endpoint: enhancecraft/jobs\n"
        f"    input: {{input_file: photo.png, {ops}}}\n"
    )
    outside = text + "  outside:\n    endpoint: enhancecraft/jobs\n" f"    input: {{input_file: ../secret.png, {ops}}}\n"
    path = write_campaign(tmp_path, outside)
    with make_sandbox() as sb:
        # a file outside the campaign's folder is refused before anything is sent
        with pytest.raises(Invalid) as info:
            runner(path, env_for(sb))
        assert "outside the campaign's folder" in str(info.value)
        assert counters(sb)["requests_total"] == 0
        path.write_text(text, encoding="utf-8")
        code, _, data = runner(path, env_for(sb), detach=True)
        code, _, data = runner(path, env_for(sb))
        # a changed job on the same file: a new submission, but no second upload
        path.write_text(text.replace("output_format: png", "output_format: jpg"), encoding="utf-8")
        runner(path, env_for(sb))
        c = counters(sb)
    assert data["jobs"]["inside"]["status"] == "completed"
    assert c["requests"]["POST /enhancecraft/api/v1/upload/api"] == 1
    assert c["accepted_total"] == 2


def test_status_and_cancel(tmp_path: Path, runner) -> None:
    path = write_campaign(tmp_path, CHAIN.format(keys="false"))
    with make_sandbox(render_seconds=30) as sb:
        code, _, _ = runner(path, env_for(sb), detach=True)
        out = io.StringIO()
        assert status(**args_for(path), out=out, env=env_for(sb)) == 0
        assert "2 pending" in out.getvalue() and "t2v[n=1]" in out.getvalue()
        out = io.StringIO()
        assert cancel(**args_for(path), out=out, env=env_for(sb)) == 0
        assert out.getvalue().count("cancelled") == 2
        assert counters(sb)["accepted"]["samsar/video/cancel_render"] == 2
        out = io.StringIO()
        status(**args_for(path, as_json=True), out=out, env=env_for(sb))
        data = json.loads(out.getvalue())
    assert data["counts"]["cancelled"] == 2
    assert data["jobs"]["t2v[n=2]"]["status"] == "cancelled"


def test_status_without_a_run_is_a_clear_error(tmp_path: Path) -> None:
    from renderer.errors import StateError

    path = write_campaign(tmp_path, images(1))
    with pytest.raises(StateError, match="nothing has run yet"):
        status(**args_for(path), out=io.StringIO())


def test_progress_lines_in_ci_and_rich_at_a_terminal(tmp_path: Path) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    path = write_campaign(tmp_path, images(3))
    with make_sandbox() as sb:
        plain = io.StringIO()
        run(**args_for(path), out=plain, env=env_for(sb), exec_settings=FAST)
        (tmp_path / "camp.manifest.json").unlink()
        tty = Tty()
        run(**args_for(path, state_dir=str(tmp_path / ".r2")), out=tty, env=env_for(sb), exec_settings=FAST)
    lines = plain.getvalue().splitlines()
    assert lines[-2].startswith("run finished in ") and "3/3 done (3 completed)" in lines[-2]
    assert len([ln for ln in lines if ln.startswith("[")]) <= 2  # sparse in CI
    assert "run finished" in tty.getvalue() and "\x1b[" in tty.getvalue()


def test_a_second_concurrent_run_is_refused(tmp_path: Path) -> None:
    from renderer.errors import StateError

    path = write_campaign(tmp_path, images(1))
    with make_sandbox() as sb:
        j = journal_for(path, env_for(sb), new=True)
        j.acquire_lock()
        try:
            with pytest.raises(StateError, match="in progress"):
                run(**args_for(path), out=io.StringIO(), env=env_for(sb), exec_settings=FAST)
            assert counters(sb)["requests_total"] == 0
        finally:
            j.close()
