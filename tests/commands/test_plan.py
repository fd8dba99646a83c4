"""`renderer plan` end to end through renderer.cli.main: exit codes, outputs, step summary."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from renderer.cli import main
from renderer.campaign.schemas import PLAN_SCHEMA, load_schema

from helpers.campaign_files import SPRING


def cli(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    code = main(list(argv), out=out, err=err, env=env if env is not None else {})
    return code, out.getvalue(), err.getvalue()


def test_plan_exits_0_and_shows_a_table(write) -> None:
    code, out, err = cli("plan", str(write(SPRING)))
    assert (code, err) == (0, "")
    assert "stills[city=lisbon]" in out
    assert "estimated for this run: 5,820 credits of budget 60,000" in out


def test_over_budget_exits_3_naming_the_costliest_jobs(write) -> None:
    p = write(SPRING.replace("max_credits: 60000", "max_credits: 5000"))
    code, out, err = cli("plan", str(p))
    assert code == 3
    assert err == (
        "error: over budget: the plan may spend up to 5,820 credits; budget.max_credits is 5,000. "
        "Costliest: teaser[city=lima,language=en] (900), teaser[city=lima,language=es] (900), "
        f"teaser[city=lisbon,language=en] (900). Ways out: raise budget.max_credits in {p}; send fewer jobs "
        "with --select PATTERN (`renderer plan --select PATTERN` prices them first); --max-credits N sets a lower "
        "limit for one run.\n"
    )
    assert "estimated for this run: 5,820 credits of budget 5,000" in out  # the plan is still shown


def test_over_budget_json_still_prints_the_plan(write) -> None:
    p = write(SPRING.replace("max_credits: 60000", "max_credits: 5000"))
    code, out, _ = cli("plan", str(p), "--json")
    assert code == 3
    assert json.loads(out)["budget"] == {  # the first of each pricing family goes alone: the others wait
        "max_credits": 5000, "over": True,
        "probe": {"families": {"image_enhance": {"jobs": 3}, "image_list_to_video": {"jobs": 6}}}}


def test_at_the_budget_is_within_it(write) -> None:
    code, _, _ = cli("plan", str(write(SPRING.replace("max_credits: 60000", "max_credits: 5820"))))
    assert code == 0


def test_invalid_exits_1_with_file_line_col(write) -> None:
    p = write(SPRING.replace("resolution: 2k", "resolution: 3k"))
    code, out, err = cli("plan", str(p))
    assert code == 1 and out == ""
    # reported once for the three instances; the jobs downstream of a broken one are not judged
    assert err == (f"{p}:20:19: stills[city=lisbon]: resolution: \"3k\" is not allowed; use one of: "
                   "1k, 2k, 4k, 1K, 2K, 4K (and in 2 more instance(s))\n")
    p = write(SPRING.replace("video_model: RUNWAYML", "video_model: RUNWAY"), "two.yaml")
    code, out, err = cli("plan", str(p))
    assert code == 1 and out == ""
    assert err.startswith(f"{p}:31:20: teaser[city=lisbon,language=en]: video_model: \"RUNWAY\" is not allowed")
    assert err.endswith(" (and in 5 more instance(s))\n") and err.count("\n") == 1


def test_unknown_needs_exit_1_located(write) -> None:
    p = write(SPRING.replace("needs: [stills]", "needs: [still]"))
    code, _, err = cli("plan", str(p))
    assert code == 1
    assert err == f"{p}:23:13: needs 'still': no job of that name; did you mean 'stills'?\n"


@pytest.mark.parametrize(
    "argv,message",
    [
        (["plan"], "error: renderer plan: the following arguments are required: FILE\n"),
        (["plan", "x.yaml", "--json", "--markdown"], "error: renderer plan: argument --markdown: not allowed with argument --json\n"),
        (["plan", "x.yaml", "--nope"], "error: renderer: unrecognized arguments: --nope\n"),
    ],
)
def test_usage_errors_exit_2(argv, message) -> None:
    assert cli(*argv) == (2, "", message)


def test_select_matching_nothing_exits_2(write) -> None:
    code, out, err = cli("plan", str(write(SPRING)), "--select", "teasers")
    assert (code, out) == (2, "")
    assert err == "error: --select 'teasers' matches no job or instance id of 'spring-launch'\n"


def test_json_validates_against_the_schema_and_carries_the_contract_fields(write) -> None:
    code, out, err = cli("plan", str(write(SPRING)), "--json")
    assert (code, err) == (0, "")
    doc = json.loads(out)
    Draft202012Validator.check_schema(load_schema(PLAN_SCHEMA))
    assert list(Draft202012Validator(load_schema(PLAN_SCHEMA)).iter_errors(doc)) == []
    assert doc["campaign"] == "spring-launch"
    assert doc["credits"] == {"min": 5820, "max": 5820}
    assert doc["jobs"][0] == {
        "id": "stills[city=lisbon]", "job": "stills", "endpoint": "samsar/image/enhance", "needs": [], "action": "run",
        "credits": {"min": 50, "max": 50}, "estimated_credits": {"min": 50, "max": 50}, "duration": None,
        "pending": False, "input_sha256": doc["jobs"][0]["input_sha256"], "assumptions": [],
    }
    assert len(doc["jobs"][0]["input_sha256"]) == 64
    cut = doc["jobs"][-1]
    assert (cut["id"], cut["needs"], cut["credits"], cut["duration"], cut["pending"]) == (
        "spanish_cut[language=es]",
        ["teaser[city=lisbon,language=es]", "teaser[city=tokyo,language=es]", "teaser[city=lima,language=es]"],
        {"min": 270, "max": 270}, {"min": 90, "max": 90}, True,
    )
    assert doc["requests"] == {"submissions": 10, "uploads": 0, "requests": 20,
                               "by_provider": {"samsar": {"submissions": 10, "uploads": 0, "requests": 20}}}
    assert doc["totals"]["video_model"] == {"RUNWAYML": {"jobs": 6, "credits": {"min": 5400, "max": 5400}}}
    assert doc["changes"]["added"] == [j["id"] for j in doc["jobs"]]


def test_json_with_unknown_prices(write) -> None:
    p = write("""
        version: 1
        name: unknown
        jobs:
          shot:
            endpoint: enhancecraft/jobs
            input:
              input_key: uploads/a.jpg
              operations: [{type: enhance, params: {scale: 2}}]
          small:
            endpoint: enhancecraft/jobs
            input:
              input_key: uploads/a.jpg
              operations: [{type: convert, params: {output_format: png}}]
          movie:
            endpoint: samsar/video/create_movie
            input: {prompt: x, image_model: IMAGEN3, video_model: LUMA, duration: 12}
        """)
    code, out, _ = cli("plan", str(p), "--json")
    assert code == 0
    doc = json.loads(out)
    assert list(Draft202012Validator(load_schema(PLAN_SCHEMA)).iter_errors(doc)) == []
    # the known part (0 + 120) and a flag: never an unknown price counted as 0
    assert doc["credits"] == {"min": 120, "max": 120, "unknown": True}
    assert doc["unknown_prices"] == ["shot"]
    assert doc["jobs"][0]["credits"] == {"min": None, "max": None, "unknown": True}
    assert doc["jobs"][0]["assumptions"] == [
        "EnhanceCraft does not publish credit prices for: enhance; set pricing.enhancecraft.operations",
    ]


def test_markdown(write) -> None:
    code, out, _ = cli("plan", str(write(SPRING)), "--markdown")
    assert code == 0
    assert out.startswith(
        "<!-- renderer-plan: spring-launch -->\n"
        "### renderer plan: `spring-launch`\n\n"
        "Estimated for this run: **5,820 credits** for 10 job(s) to run; 0 reused from the manifest.\n"
        "Budget: 60,000 credits (within budget).\n"
        "Requests: at least 20 (10 submission(s) and their status reads).\n"
    )
    assert "| `samsar/video/image_list_to_video` | 6 | 5,400 |" in out
    assert "- new: `spanish_cut` ×1: `spanish_cut[language=es]`" in out


def enhancecraft_campaign(write, jobs: int, tier: str | None = "pro", files: int = 0, rpm: int | None = None) -> Path:
    conf = []
    if tier:
        conf.append(f"tier: {tier}")
    if rpm:
        conf.append(f"requests_per_minute: {rpm}")
    provider = ("providers:\n  enhancecraft:\n" + "".join(f"    {c}\n" for c in conf)) if conf else ""
    text = (
        "version: 1\nname: ec\n" + provider
        + "pricing:\n  enhancecraft:\n    operations: {enhance: 10}\n"
        + "jobs:\n"
        + f"  keys:\n    endpoint: enhancecraft/jobs\n    matrix:\n      n: [{', '.join(str(i) for i in range(jobs))}]\n"
        + "    input:\n      input_key: \"uploads/u/{{ matrix.n }}.jpg\"\n      operations: [{type: enhance, params: {scale: 2}}]\n"
    )
    if files:
        write("x", "photo.jpg")
        text += (
            f"  files:\n    endpoint: enhancecraft/jobs\n    matrix:\n      n: [{', '.join(str(i) for i in range(files))}]\n"
            "    input:\n      input_file: photo.jpg\n      operations: [{type: convert, params: {output_format: png}}]\n"
        )
    return write(text)


@pytest.mark.parametrize(
    "jobs,files,tier,rpm,requests,rpm_used,seconds",
    [
        # a one-minute window allows rpm requests at once; each further share waits a reset
        (120, 0, "pro", None, 240, 50, 240),  # 120 submissions + 120 status reads: 5 windows of 50, 4 resets
        (120, 0, None, None, 240, 50, 240),  # no tier named: pro, the least with API access
        (120, 0, "business", None, 240, 200, 60),  # 200 now, 40 after one reset
        (120, 0, "enterprise", None, 240, 10000, 0),  # all in the first window
        (100, 20, "pro", None, 260, 50, 300),  # 120 x 2 + 20 uploads = 260: 6 windows
        (200, 15, "pro", None, 445, 50, 480),  # 215 x 2 + 15 = 445: 9 windows
        (200, 5, "pro", None, 400 + 15, 50, 480),  # 415: 9 windows
        (200, 0, "pro", None, 400, 50, 420),  # 400: exactly 8 windows, 7 resets
        (120, 0, "pro", 30, 240, 30, 420),  # a configured limit wins: 8 windows of 30
    ],
)
def test_requests_and_least_wall_time(write, jobs, files, tier, rpm, requests, rpm_used, seconds) -> None:
    p = enhancecraft_campaign(write, jobs, tier, files, rpm)
    code, out, _ = cli("plan", str(p), "--json")
    assert code == 0
    ec = json.loads(out)["requests"]["by_provider"]["enhancecraft"]
    assert ec["submissions"] == jobs + files
    assert ec["uploads"] == files
    assert ec["requests"] == requests
    assert ec["requests_per_minute"] == rpm_used
    assert ec["least_wall_seconds"] == seconds
    if rpm is None:
        assert ec["tier"] == (tier or "pro")


def test_markdown_names_the_least_wall_time(write) -> None:
    code, out, _ = cli("plan", str(enhancecraft_campaign(write, 120)), "--markdown")
    assert code == 0
    assert ("Requests: at least 240 (120 submission(s) and their status reads); "
            "enhancecraft (pro tier, 50/min): 240 requests take at least 240 s.\n") in out


def test_step_summary_gets_the_markdown_appended(write, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    code, out, _ = cli("plan", str(write(SPRING)), "--json", env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert code == 0
    json.loads(out)  # stdout stays pure JSON
    text = summary.read_text()
    assert text.startswith("earlier step\n<!-- renderer-plan: spring-launch -->\n### renderer plan: `spring-launch`\n")
    assert "Estimated for this run: **5,820 credits** for 10 job(s) to run" in text


def test_step_summary_also_when_over_budget(write, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    code, _, _ = cli("plan", str(write(SPRING.replace("60000", "100"))), env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert code == 3
    assert "> [!WARNING]\n> over budget: the plan may spend up to 5,820 credits" in summary.read_text()


def test_no_step_summary_without_the_variable(write, tmp_path: Path) -> None:
    cli("plan", str(write(SPRING)), env={})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["campaign.yaml"]


def manifest_for(write, p: Path) -> Path:
    code, out, _ = cli("plan", str(p), "--json")
    doc = json.loads(out)
    stills = {j["id"]: j for j in doc["jobs"] if j["job"] == "stills"}
    jobs = {
        iid: {"endpoint": j["endpoint"], "input_sha256": j["input_sha256"], "status": "completed",
              "request_id": f"img_{n}", "session_id": f"img_{n}", "result_url": f"https://cdn/{n}.png",
              "result_urls": [f"https://cdn/{n}.png"], "credits": {"estimated": {"min": 50, "max": 50}, "charged": 50},
              "submitted_at": "t", "finished_at": "t", "error": None}
        for n, (iid, j) in enumerate(stills.items())
    }
    jobs["gone[city=paris]"] = dict(jobs["stills[city=lisbon]"])
    return write(json.dumps({"campaign": "spring-launch", "jobs": jobs}), "prev.manifest.json")


def test_manifest_flag_reuses_completed_jobs(write) -> None:
    p = write(SPRING)
    prev = manifest_for(write, p)
    code, out, _ = cli("plan", str(p), "--json", "--manifest", str(prev))
    doc = json.loads(out)
    assert code == 0
    assert doc["credits"] == {"min": 5670, "max": 5670}  # 5,820 less three reused stills
    assert [j["action"] for j in doc["jobs"][:3]] == ["reuse"] * 3
    assert doc["changes"]["reused"] == ["stills[city=lisbon]", "stills[city=tokyo]", "stills[city=lima]"]
    assert doc["changes"]["removed"] == ["gone[city=paris]"]


def test_the_table_says_what_changed_and_names_what_was_removed(write) -> None:
    p = write(SPRING)
    code, out, err = cli("plan", str(p), "--manifest", str(manifest_for(write, p)))
    assert (code, err) == (0, "")
    assert out.endswith("changes: 7 added, 0 changed, 1 removed, 3 reused\n"
                        "removed (in the manifest, no longer in the campaign): gone[city=paris]\n")
    code, out, _ = cli("plan", str(p))  # no manifest yet: every job is new, nothing to say
    assert code == 0 and "changes:" not in out and "removed" not in out


def test_the_table_keeps_ids_and_endpoints_on_one_line(write) -> None:
    code, out, _ = cli("plan", str(write(SPRING)))
    assert code == 0
    row = next(line for line in out.splitlines() if "teaser[city=lisbon,language=en]" in line)
    assert "samsar/video/image_list_to_video" in row


def test_the_default_manifest_beside_the_campaign_is_used(write) -> None:
    p = write(SPRING)
    prev = manifest_for(write, p)
    prev.rename(p.with_name("campaign.manifest.json"))
    doc = json.loads(cli("plan", str(p), "--json")[1])
    assert doc["credits"] == {"min": 5670, "max": 5670}


def test_a_named_manifest_must_exist(write, tmp_path: Path) -> None:
    code, _, err = cli("plan", str(write(SPRING)), "--manifest", str(tmp_path / "none.json"))
    assert (code, err) == (1, f"{tmp_path / 'none.json'}: manifest not found\n")


def test_a_broken_manifest_is_a_located_error(write) -> None:
    bad = write("{not json", "bad.json")
    code, _, err = cli("plan", str(write(SPRING)), "--manifest", str(bad))
    assert code == 1
    assert err.startswith(f"{bad}: manifest is not readable JSON: ")


CANCEL_AFTER = """version: 1
name: c
jobs:
  hero:
    endpoint: samsar/video/text_to_video
    input: {prompt: x, image_model: GPTIMAGE2, video_model: RUNWAYML, duration: 5}
  stop:
    endpoint: samsar/video/cancel_render
    needs: [hero]
    input: {videoSessionId: "{{ needs.hero.session_id }}"}
"""


def test_a_cancel_that_needs_what_it_cancels_is_a_warning(write) -> None:
    p = write(CANCEL_AFTER)
    code, out, err = cli("validate", str(p))
    assert (code, out) == (0, "1 file(s) valid, 1 warning(s)\n")
    assert err == (f"{p}:9:12: warning: job 'stop' needs 'hero', so it starts only once that job's render "
                   "has finished, when there is nothing left to cancel; to stop a run's renders use "
                   "`renderer cancel FILE`\n")
    literal = write(CANCEL_AFTER.replace("    needs: [hero]\n", "").replace("{{ needs.hero.session_id }}", "vid_a1b2c3d4"))
    assert cli("validate", str(literal))[2] == ""


UPSTREAM = """version: 1
name: up
jobs:
  still:
    endpoint: samsar/image/enhance
    input: {image_url: "https://cdn.example.com/a.png", resolution: 4k}
  teaser:
    endpoint: samsar/video/image_list_to_video
    needs: [still]
    estimate: {duration: 10}
    input: {image_urls: ["{{ needs.still.result_url }}"], video_model: RUNWAYML}
"""


def test_show_inputs_says_which_upstream_makes_a_job_run_again(write) -> None:
    p = write(UPSTREAM)
    done = {"status": "completed", "input_sha256": "0" * 64, "result_url": "https://cdn/old.png"}
    teaser = {"status": "completed", "input_sha256": "1" * 64,
              "request": {"input": {"image_urls": ["https://cdn/old.png"], "video_model": "RUNWAYML"}}}
    prev = write(json.dumps({"campaign": "up", "jobs": {"still": {**done, "request": {
        "image_url": "https://cdn.example.com/a.png", "resolution": "2k"}}, "teaser": teaser}}), "prev.json")
    code, out, err = cli("plan", str(p), "--json", "--show-inputs", "--manifest", str(prev))
    assert (code, err) == (0, "")
    change = {j["id"]: j["change"] for j in json.loads(out)["jobs"]}
    assert change["still"]["reason"] == "its request changed"
    assert change["teaser"] == {"reason": "it takes outputs of still, which run again", "fields": [
        {"field": "input.image_urls[0]", "old": "https://cdn/old.png", "new": "<pending still.result_url>"}]}


def test_show_inputs_never_writes_a_terminal_control_character(write) -> None:
    """JSON escapes C0 controls but not C1 ones: a campaign's CSI (0x9b) or U+2028 in a
    prompt must reach the screen as its escape, not steer the terminal."""
    p = write('version: 1\nname: t\njobs:\n  clip:\n    endpoint: samsar/video/text_to_video\n'
              '    input: {prompt: "sea\\x9b2J\\u2028sky", image_model: GPTIMAGE2, video_model: RUNWAYML, duration: 5}\n')
    code, out, err = cli("plan", str(p), "--show-inputs")
    assert (code, err) == (0, "")
    assert "\u009b" not in out and "\u2028" not in out
    assert '"prompt": "sea\\x9b2J\\u2028sky"' in out
