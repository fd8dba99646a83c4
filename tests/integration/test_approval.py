"""Approval gates over loopback (`approve: manual`, `renderer approve`, `run --approve`): a step render
stops at its approval point, is recorded awaiting_approval with its previews, continues only when
approved, once, with the budget admitting the rest then; never submitted again, across kills and
machines. Prices: 30 credits/s for 10 s = 300 a job; the sandbox charges 14/s (140) at the create and
the rest (160) at process_next."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

from helpers.runs import FAST, args_for, counters, env_for, journal_for, make_sandbox, run, start_run, until, write_campaign
from renderer.cli import main
from renderer.execute import records as J

PRICES = {"samsar_v2": {"step_video_model_per_second": {"RUNWAYML": 30}}}
GATED = """version: 1
name: gated
budget: {max_credits: BUDGET}
pricing:
  samsar_v2:
    step_video_model_per_second: {RUNWAYML: 30}
jobs:
  teaser:
    endpoint: samsar/v2/video/step/text_to_video
    approve: manual
    matrix: {n: [1, 2]}
    input: {prompt: "Teaser {{ matrix.n }}", image_model: GPTIMAGE2, video_model: RUNWAYML, duration: 10}
"""
CREATE, NEXT = "POST /v2/video/step/text_to_video", "POST /v2/video/step/{request_id}/process_next"


def campaign(folder: Path, budget: int = 1000, extra: str = "") -> Path:
    return write_campaign(folder, GATED.replace("BUDGET", str(budget)) + extra)


def go(path: Path, env: dict[str, str], **kw) -> tuple[int, str, dict]:
    out = io.StringIO()
    code = run(**args_for(path, **kw), out=out, env=env, exec_settings=FAST)
    return code, out.getvalue(), json.loads(path.with_name("camp.manifest.json").read_text("utf-8"))


def cli(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out=out, err=err, env=env or {}), out.getvalue(), err.getvalue()


def test_a_run_stops_at_the_gate_and_approve_continues_exactly_that_one(tmp_path: Path) -> None:
    path = campaign(tmp_path)
    with make_sandbox(pricing=PRICES) as sb:
        env = env_for(sb)
        code, out, data = go(path, env)
        c = counters(sb)
        assert code == 0, out
        assert data["counts"] == {"awaiting_approval": 2}
        assert c["requests"][CREATE] == 2 and NEXT not in c["requests"] and c["credits_charged"]["samsar"] == 280
        one = data["jobs"]["teaser[n=1]"]
        assert one["status"] == "awaiting_approval" and one["credits"]["charged"] == 140
        assert [p["kind"] for p in one["previews"]] == ["image", "image", "audio"]
        assert one["previews"][0]["url"].endswith(f"/files/{one['request_id']}-scene-1.png")
        assert "0/2 done; 2 awaiting approval; spent in all runs 280 credits (charged 280); spent by this run 280" in out
        assert (f"  awaiting_approval  teaser[n=1]: {one['request_id']}, 3 preview(s) in the manifest\n"
                f"  awaiting_approval  teaser[n=2]: {data['jobs']['teaser[n=2]']['request_id']}, 3 preview(s) in "
                "the manifest\n") in out
        assert f"to go on: `renderer approve {path} JOB`" in out

        # the plan counts what continuing may cost: 2 x (300 - 140)
        code, plan_out, _ = cli("plan", "--json", str(path), env=env)
        assert json.loads(plan_out)["budget"]["awaiting_approval"] == {"jobs": 2, "continuing": 320}

        code, said, err = cli("approve", str(path), "teaser[n=1]")
        assert code == 0, err
        assert said == (f"approved  teaser[n=1]: its render {one['request_id']} continues on the next run\n"
                        f"recorded in {tmp_path / 'camp.approvals.json'}: run again to continue them "
                        "(in CI: commit it with the campaign)\n")
        approvals = json.loads((tmp_path / "camp.approvals.json").read_text())
        assert approvals["approved"]["teaser[n=1]"]["request_id"] == one["request_id"]

        code, out, data = go(path, env)
        c = counters(sb)
        assert code == 0, out
        assert data["counts"] == {"completed": 1, "awaiting_approval": 1}
        assert c["requests"][CREATE] == 2 and c["requests"][NEXT] == 1  # continued, never submitted again
        assert c["credits_charged"]["samsar"] == 440
        done = data["jobs"]["teaser[n=1]"]
        assert done["request_id"] == one["request_id"] and done["credits"]["charged"] == 300
        assert done["result_url"].endswith(f"{one['request_id']}.mp4") and "previews" not in done

        before = counters(sb)["requests_total"]
        code, out, data = go(path, env)  # the other stays paused: nothing is read or sent for it
        assert code == 0 and data["counts"] == {"completed": 1, "awaiting_approval": 1}
        assert counters(sb)["requests_total"] - before == 1  # the balance read only
        assert counters(sb)["requests"][NEXT] == 1

        # another machine (no journal): the manifest's paused job is read again, never sent again
        shutil.rmtree(tmp_path / ".renderer")
        code, out, data = go(path, env)
        c = counters(sb)
        assert code == 0 and data["counts"] == {"completed": 1, "awaiting_approval": 1}
        assert c["requests"][CREATE] == 2 and c["requests"][NEXT] == 1
        assert len(data["jobs"]["teaser[n=2]"]["previews"]) == 3


def test_run_approve_continues_in_the_same_run_and_records_it(tmp_path: Path) -> None:
    path = campaign(tmp_path)
    with make_sandbox(pricing=PRICES) as sb:
        code, out, data = go(path, env_for(sb), approve=["teaser[n=2]"])
        c = counters(sb)
    assert code == 0, out
    assert data["counts"] == {"awaiting_approval": 1, "completed": 1}
    assert c["requests"][CREATE] == 2 and c["requests"][NEXT] == 1 and c["credits_charged"]["samsar"] == 440
    rid = data["jobs"]["teaser[n=2]"]["request_id"]
    assert json.loads((tmp_path / "camp.approvals.json").read_text())["approved"].keys() == {"teaser[n=2]"}
    assert json.loads((tmp_path / "camp.approvals.json").read_text())["approved"]["teaser[n=2]"]["request_id"] == rid


def test_the_budget_is_admitted_at_approval(tmp_path: Path) -> None:
    """Both stop (600 admitted before the creates, 280 charged); the budget is lowered to 500. Approving
    one counts its 300 - 140 more (440 fits); the second would pass the budget (600): plan fails with
    exit 3, and so does the run, before it sends anything."""
    path = campaign(tmp_path, budget=600)
    with make_sandbox(pricing=PRICES) as sb:
        env = env_for(sb)
        assert go(path, env)[0] == 0
        path.write_text(path.read_text().replace("max_credits: 600", "max_credits: 500"))
        assert cli("plan", str(path), env=env)[0] == 0  # nothing approved: nothing more to spend
        assert cli("approve", str(path), "teaser[n=1]")[0] == 0
        code, out, err = cli("plan", "--json", str(path), env=env)
        assert code == 0 and json.loads(out)["budget"]["spent"] == 280
        code, out, data = go(path, env)
        assert code == 0 and counters(sb)["credits_charged"]["samsar"] == 440
        code, out, err = cli("plan", str(path), env=env)  # the file approves n=1 only: nothing more
        assert code == 0, out + err
        out = io.StringIO()
        code = main(["run", str(path), "--approve", "teaser[n=2]", "--state-dir", str(tmp_path / ".renderer")],
                    out=out, err=out, env=env)
        c = counters(sb)
    assert code == 3, out.getvalue()
    assert ("over budget: the plan may spend up to 160 credits, and earlier runs spent 440; "
            "budget.max_credits is 500") in out.getvalue()
    assert c["requests"][NEXT] == 1 and c["credits_charged"]["samsar"] == 440


def test_a_kill_while_awaiting_approval_resumes_without_sending_again(tmp_path: Path) -> None:
    """A run killed (SIGKILL) with two jobs paused and a third one's POST unanswered: the next run leaves
    the paused ones as they are (no request for them) and never sends anything twice."""
    path = campaign(tmp_path, extra="""  clip:
    endpoint: samsar/video/text_to_video
    input: {prompt: A clip, image_model: GPTIMAGE2, video_model: RUNWAYML, duration: 5}
""")
    faults = {"rates": {"slow": 1.0}, "endpoints": ("samsar/video/text_to_video",), "delay_seconds": 2.0}
    with make_sandbox(pricing=PRICES, faults=faults) as sb:
        proc = start_run(path, sb)
        try:
            def paused() -> bool:
                try:
                    journal = journal_for(path, env_for(sb))
                except AssertionError:  # not made yet
                    return False
                try:
                    return sum(s.state == J.AWAITING for s in journal.latest_per_instance()) == 2
                finally:
                    journal.close()
            assert until(paused, 20)
            assert proc.poll() is None  # the clip's POST is still unanswered
        finally:
            proc.kill()
            proc.wait()
        code, out, data = go(path, env_for(sb))
        c = counters(sb)
    assert code == 1, out  # the clip's fate is unknown (its answer was cut by the kill): said, not resent
    assert c["requests"][CREATE] == 2 and NEXT not in c["requests"]  # the paused ones: not sent again
    assert c["requests"]["POST /v1/video/text_to_video"] == 1 and c["duplicates_total"] == 0
    assert data["counts"] == {"awaiting_approval": 2, "unknown": 1}
    assert "0/3 done; 3 waiting" in out and "0/3 done; 2 awaiting approval, 1 unknown; spent in all runs " in out


def test_an_approval_whose_post_was_cut_is_settled_by_reading_the_render(tmp_path: Path) -> None:
    """The journal holds the intent (approving) of a killed run: the next run reads the render first.
    Still paused: the same POST goes (once). Already past the stop: it is only polled."""
    path = campaign(tmp_path)
    with make_sandbox(pricing=PRICES) as sb:
        env = env_for(sb)
        assert go(path, env)[0] == 0
        journal = journal_for(path, env)
        subs = {s.instance_id: s for s in journal.latest_per_instance()}
        for s in subs.values():
            journal.approving(s)  # as a run killed right after recording the approval leaves it
        import httpx

        rid = subs["teaser[n=2]"].request_id
        base = env["SAMSAR_BASE_URL"].replace("/v1", "/v2")
        r = httpx.post(f"{base}/video/step/{rid}/process_next", json={},
                       headers={"Authorization": f"Bearer {env['SAMSAR_API_KEY']}"})
        assert r.status_code == 200  # n=2's POST arrived before the kill; n=1's never left
        code, out, data = go(path, env)
        c = counters(sb)
    assert code == 0, out
    assert data["counts"] == {"completed": 2}
    assert c["requests"][CREATE] == 2 and c["requests"][NEXT] == 2  # one each: n=2's was not sent again
    assert data["jobs"]["teaser[n=1]"]["credits"]["charged"] == 300


def test_approve_refusals(tmp_path: Path) -> None:
    path = campaign(tmp_path)
    code, out, err = cli("approve", str(path))
    assert code == 2 and "renderer approve: name the jobs to approve (a job name, an instance id, or a pattern)" in err
    code, out, err = cli("approve", str(path), "teaser")
    assert code == 1
    assert err.strip() == (f"{tmp_path / 'camp.manifest.json'}: no job awaits approval, so 'teaser' matches none: "
                           "jobs with `approve: manual` stop at their approval point when a run reaches it")
    with make_sandbox(pricing=PRICES) as sb:
        assert go(path, env_for(sb))[0] == 0
    code, out, err = cli("approve", str(path), "teaser[n=1]", "clip", "tease?")
    assert code == 1 and out == ""
    assert err.strip() == (f"{tmp_path / 'camp.manifest.json'}: 'clip' matches no job awaiting approval "
                           "(awaiting approval: teaser[n=1], teaser[n=2])")
    assert not (tmp_path / "camp.approvals.json").exists()  # all or nothing
    # only a rehearsal's jobs await approval: the error says where they are
    other = tmp_path / "rehearsed"
    other.mkdir()
    shutil.copy(path, other / path.name)
    shutil.copy(tmp_path / "camp.manifest.json", other / "camp.sandbox.manifest.json")
    code, out, err = cli("approve", str(other / path.name), "teaser[n=1]")
    assert code == 1
    assert err.strip() == (f"{other / 'camp.manifest.json'}: no job awaits approval, so 'teaser[n=1]' matches none: "
                           "jobs with `approve: manual` stop at their approval point when a run reaches it; "
                           "a rehearsal's jobs await approval (`run --sandbox`): add --sandbox")
    assert cli("approve", "--sandbox", str(other / path.name), "teaser[n=1]")[0] == 0


def test_validate_refuses_approve_where_it_makes_no_sense(tmp_path: Path) -> None:
    path = write_campaign(tmp_path, """version: 1
name: wrong
jobs:
  clip:
    endpoint: samsar/video/text_to_video
    approve: manual
    input: {prompt: A clip, image_model: GPTIMAGE2, video_model: RUNWAYML, duration: 5}
  step:
    endpoint: samsar/v2/video/step/text_to_video
    approve: sometimes
    input: {prompt: A clip, image_model: GPTIMAGE2, video_model: RUNWAYML, duration: 5}
""")
    code, out, err = cli("validate", str(path))
    assert code == 1
    assert (f"{path}:6:5: approve is only for renders that can stop for approval "
            "(samsar/v2/video/step/image_to_video, samsar/v2/video/step/text_to_video); this endpoint renders "
            "straight through") in err
    assert f'{path}:10:14: jobs.step.approve: "sometimes" is not allowed; use one of: manual, auto' in err
    assert err.endswith("2 errors\n")


def test_status_results_report_and_summary_show_what_awaits_approval_and_cancel_ends_it(tmp_path: Path) -> None:
    from renderer.execute.outcome import markdown

    path = campaign(tmp_path)
    with make_sandbox(pricing=PRICES) as sb:
        env = env_for(sb)
        code, out, data = go(path, env)
        rid = data["jobs"]["teaser[n=1]"]["request_id"]
        code, said, _ = cli("status", str(path), "--state-dir", str(tmp_path / ".renderer"), env=env)
        assert code == 0 and said.startswith("0/2 done; 2 awaiting approval; spent in all runs 280 credits\n")
        assert f"awaiting_approval  teaser[n=1]  {rid}" in said
        code, said, _ = cli("results", str(path), env=env)
        assert "awaiting_approval  teaser[n=1]  stopped at its approval point (3 preview(s) in the manifest)" in said
        code, _, err = cli("report", str(path), "-o", str(tmp_path / "r.html"), env=env)
        page = (tmp_path / "r.html").read_text()
        assert code == 0 and page.count('<ul class="previews">') == 2
        assert f'<li>image 0–5 s scene 1: <a href="{data["jobs"]["teaser[n=1]"]["previews"][0]["url"]}">' in page
        summary = markdown(data)
        assert "**awaiting approval** (2)" in summary and f"| `teaser[n=1]` | `{rid}` | [`image` 1](" in summary
        code, said, _ = cli("cancel", str(path), "--state-dir", str(tmp_path / ".renderer"), env=env)
        assert code == 0 and said == "    cancelled  teaser[n=1]\n    cancelled  teaser[n=2]\n"
        assert counters(sb)["requests"]["POST /v1/video/cancel_render"] == 2


def test_the_approvals_file_is_checked_where_it_goes_wrong(tmp_path: Path) -> None:
    import pytest

    from renderer.errors import DataFileError
    from renderer.execute import approvals

    f = tmp_path / "camp.approvals.json"
    assert approvals.load(f) == {}
    f.write_text('{"approved": {\n  "teaser": {"request_id": 5}\n}}')
    with pytest.raises(DataFileError) as caught:
        approvals.load(f)
    assert str(caught.value) == (f"{f}: teaser: its approval needs the request_id of the paused render it lets "
                                 "continue (`renderer approve` writes it)")
    f.write_text('{"approved": {\n  "teaser": {"request_id": "vid_1",}\n}}')
    with pytest.raises(DataFileError) as caught:
        approvals.load(f)
    assert str(caught.value) == f"{f}:2:36: the approvals file is not JSON: Expecting property name enclosed in double quotes"


def test_an_account_admits_the_rest_at_approval_not_only_at_the_start(tmp_path: Path, monkeypatch) -> None:
    """Under ``budget.account`` the continuing POST is admitted by the account too, right before it
    leaves (as a submission is): when the account cannot hold the rest then (another machine spent it
    after the run's opening check, simulated by skipping that check), nothing is continued."""
    from renderer.execute import spending

    path = write_campaign(tmp_path, GATED.replace("{max_credits: BUDGET}", "{account: team}"))
    state = str(tmp_path / ".renderer")
    assert cli("account", "set", "team", "--max-credits", "600", "--state-dir", state)[0] == 0
    with make_sandbox(pricing=PRICES) as sb:
        env = env_for(sb)
        code, out, data = go(path, env)
        assert code == 0 and data["counts"] == {"awaiting_approval": 2}, out
        assert cli("account", "set", "team", "--max-credits", "400", "--state-dir", state)[0] == 0
        assert cli("approve", str(path), "teaser[n=1]")[0] == 0
        monkeypatch.setattr(spending, "check_fits", lambda status, new_max: None)
        code, out, data = go(path, env)
        c = counters(sb)
    assert NEXT not in c["requests"] and c["credits_charged"]["samsar"] == 280, out
    assert data["jobs"]["teaser[n=1]"]["status"] == "awaiting_approval"
