"""The GitHub Action: action.yml run as written (see actions.py), and its helper renderer.ci."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from renderer.ci import ActionInputs, InputError, action_argv, action_outputs, github_output

from .actions import read_outputs, run_action
from .conftest import ROOT
from .test_step_summary import FAST_RUN

ACTION = yaml.safe_load((ROOT / "action.yml").read_text())


# -- action.yml as written ---------------------------------------------------------------


def test_inputs_reach_scripts_only_through_env():
    """`${{ inputs.x }}` pasted into a script is a command injection; env is not."""
    for step in ACTION["runs"]["steps"]:
        assert "${{ inputs." not in step["run"], step["name"]


def test_install_step_installs_the_actions_own_copy(work: Path):
    run = run_action(work, {"campaign": "campaigns/spring-launch.yaml", "command": "validate"})
    assert run.code == 0, run.stderr
    assert run.stub_calls == [["pip", "install", str(ROOT)]]
    run = run_action(work, {"campaign": "campaigns/spring-launch.yaml", "command": "validate", "install": "false"})
    assert run.stub_calls == [["pip", "install", str(ROOT)]]  # no second call


def test_plan_outputs_credits_markdown_and_json(work: Path):
    run = run_action(work, {"campaign": "campaigns/spring-launch.yaml", "install": "false"})
    assert run.code == 0, run.stderr
    out = run.outputs
    assert out["exit-code"] == "0" and out["credits"] == "6165" and out["manifest"] == ""
    markdown = Path(out["markdown"]).read_text()
    assert markdown.startswith("<!-- renderer-plan: spring-launch -->\n### renderer plan: `spring-launch`\n")
    assert json.loads(Path(out["plan-json"]).read_text())["credits"] == {"min": 6165, "max": 6165}
    assert run.summary.rstrip() == markdown.rstrip()  # the step summary gets it once
    assert markdown in run.stdout  # and the log shows it
    assert "$ renderer plan campaigns/spring-launch.yaml --json --show-inputs\n" in run.stderr
    # the full plan: every body; the comment: reasons and diffs, no bodies
    assert all("body" in j for j in json.loads(Path(out["plan-json"]).read_text())["jobs"])
    assert "```json" not in markdown and "Every job with its request body" not in markdown


def test_on_github_the_comment_links_the_run_for_the_full_plan(work: Path):
    github = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/ads", "GITHUB_RUN_ID": "77"}
    run = run_action(work, {"campaign": "campaigns/spring-launch.yaml", "install": "false"}, github)
    assert run.code == 0, run.stderr
    assert "--full-plan-url https://github.com/acme/ads/actions/runs/77\n" in run.stderr
    assert ("Every job with its request body: [the full plan](https://github.com/acme/ads/actions/runs/77)."
            in Path(run.outputs["markdown"]).read_text())


def test_run_keeps_what_it_paid_for_files_junit_and_report(work: Path):
    inputs = {"campaign": "campaigns/spring-launch.yaml", "install": "false", "command": "run", "sandbox": "true",
              "outputs": "out/media", "junit": "out/junit.xml", "report": "out/report.html"}
    run = run_action(work, inputs, {"RENDERER_EXEC_SETTINGS": FAST_RUN})
    assert run.code == 0, run.stdout + run.stderr
    out = run.outputs
    assert (out["outputs"], out["junit"], out["report"]) == ("out/media", "out/junit.xml", "out/report.html")
    assert "$ renderer run campaigns/spring-launch.yaml --sandbox --outputs out/media --junit out/junit.xml\n" in run.stderr
    assert "$ renderer report campaigns/spring-launch.yaml --output out/report.html --sandbox\n" in run.stderr
    media = work / "out" / "media"
    kept = [f for f in media.rglob("*") if f.is_file() and not f.relative_to(media).parts[0].startswith(".")]
    assert len(kept) == 12
    assert (work / "out" / "junit.xml").read_text().count("<testcase") == 12
    page = (work / "out" / "report.html").read_text()
    assert page.count("<article ") == 12 and 'href="media/stills/lisbon.png"' in page


def test_the_report_shows_a_partial_run_and_a_refused_run_has_none(work: Path):
    inputs = {"campaign": "campaigns/spring-launch.yaml", "install": "false", "command": "run", "sandbox": "true",
              "report": "out/report.html", "args": "--select 'stills*'"}
    run = run_action(work, inputs, {"RENDERER_EXEC_SETTINGS": FAST_RUN})
    assert run.code == 0 and run.outputs["report"] == "out/report.html"
    page = (work / "out" / "report.html").read_text()
    assert page.count('<article id="i') == 12
    assert page.count('data-status="completed"><h3>') == 3 and 'data-status="not_submitted"><h3>' in page

    # a run that wrote no manifest (refused before sending) has no report to write: no second error
    path = work / "campaigns" / "spring-launch.yaml"
    path.write_text(path.read_text().replace("max_credits: 60000", "max_credits: 100"))
    (work / "campaigns" / "spring-launch.sandbox.manifest.json").unlink()  # the rehearsal's own record
    (work / "out" / "report.html").unlink()
    run = run_action(work, {**inputs, "args": ""}, {"RENDERER_EXEC_SETTINGS": FAST_RUN})
    assert run.code == 3 and run.outputs["report"] == ""
    assert "renderer report" not in run.stderr and "no report: the run wrote no manifest" in run.stderr


def test_plan_over_budget_fails_the_step_but_still_gives_its_outputs(work: Path):
    campaign = work / "campaigns" / "legacy-movie.yaml"
    campaign.write_text(campaign.read_text().replace("max_credits: 2000", "max_credits: 100"))
    run = run_action(work, {"campaign": "campaigns/legacy-movie.yaml", "install": "false"})
    assert run.code == 3
    assert run.outputs["exit-code"] == "3" and run.outputs["credits"] == "1200"
    assert "> [!WARNING]" in Path(run.outputs["markdown"]).read_text()
    assert "::error::over budget: the plan may spend up to 1,200 credits" in run.stderr


def test_validate_takes_a_glob_and_annotates_errors(work: Path):
    run = run_action(work, {"campaign": "campaigns/*.yaml", "command": "validate", "install": "false"})
    assert run.code == 0, run.stderr
    assert f"{len(list((work / 'campaigns').glob('*.yaml')))} file(s) valid" in run.stdout
    (work / "campaigns" / "zz-broken.yaml").write_text("version: 1\nname: x\njobs:\n  a:\n    endpoint: samsar/video/nope\n    input: {}\n")
    run = run_action(work, {"campaign": "campaigns/*.yaml", "command": "validate", "install": "false"})
    assert run.code == 1 and run.outputs["exit-code"] == "1"
    assert "::error file=campaigns/zz-broken.yaml,line=5,col=15::unknown endpoint 'samsar/video/nope'" in run.stderr


def test_run_in_the_sandbox_then_plan_reuses_everything(work: Path):
    inputs = {"campaign": "campaigns/spring-launch.yaml", "install": "false"}
    run = run_action(work, {**inputs, "command": "run", "sandbox": "true"}, {"RENDERER_EXEC_SETTINGS": FAST_RUN})
    assert run.code == 0, run.stdout + run.stderr
    manifest_path = "campaigns/spring-launch.sandbox.manifest.json"  # the rehearsal's own record
    assert run.outputs["manifest"] == manifest_path
    manifest = json.loads((work / manifest_path).read_text())
    assert run.outputs["credits"] == str(manifest["credits"]["charged"])
    assert Path(run.outputs["markdown"]).read_text().startswith("### renderer run: `spring-launch`")
    assert run.outputs["plan-json"] == ""

    again = run_action(work, {**inputs, "sandbox": "true"})  # the rehearsal's plan reuses all of it
    assert again.code == 0
    assert again.outputs["credits"] == "0" and again.outputs["manifest"] == manifest_path
    assert "12 reused from the manifest" in Path(again.outputs["markdown"]).read_text()
    real = run_action(work, inputs)  # the real plan never does: a rehearsal is not the record
    assert real.code == 0 and real.outputs["credits"] == "6165" and real.outputs["manifest"] == ""
    assert "0 reused from the manifest" in Path(real.outputs["markdown"]).read_text()


def test_args_are_split_like_a_shell_and_working_directory_is_honoured(work: Path):
    (work / "marketing").mkdir()
    (work / "campaigns").rename(work / "marketing" / "campaigns")
    run = run_action(work, {"campaign": "campaigns/spring-launch.yaml", "working-directory": "marketing",
                            "args": "--select 'stills[city=l*]'", "install": "false"})
    assert run.code == 0, run.stderr
    assert run.outputs["credits"] == "100"  # lisbon and lima
    assert run.outputs["manifest"] == ""
    (work / "marketing" / "campaigns" / "spring-launch.manifest.json").write_text('{"jobs": {}}')
    run = run_action(work, {"campaign": "campaigns/spring-launch.yaml", "working-directory": "marketing",
                            "install": "false"})
    # later steps run in the workspace: paths are given from there
    assert run.outputs["manifest"] == "marketing/campaigns/spring-launch.manifest.json"
    (work / "marketing" / "campaigns" / "spring-launch.yaml").write_text("version: 2\n")
    run = run_action(work, {"campaign": "campaigns/spring-launch.yaml", "working-directory": "marketing",
                            "install": "false"})
    assert run.code == 1
    # annotations name the file from the repository root, so they land on the diff
    assert "::error file=marketing/campaigns/spring-launch.yaml,line=1" in run.stderr


def test_max_instances_and_manifest_inputs(work: Path):
    run = run_action(work, {"campaign": "campaigns/spring-launch.yaml", "max-instances": "5", "install": "false"})
    assert run.code == 1 and "::error file=campaigns/spring-launch.yaml" in run.stderr
    run = run_action(work, {"campaign": "campaigns/spring-launch.yaml", "manifest": "nowhere.json", "install": "false"})
    assert run.code == 1 and "nowhere.json: manifest not found" in run.stderr


def test_bad_inputs_are_usage_errors(work: Path):
    run = run_action(work, {"campaign": "campaigns/spring-launch.yaml", "command": "deploy", "install": "false"})
    assert run.code == 2 and run.outputs["exit-code"] == "2"
    assert "::error::renderer action: command must be one of validate, plan, run, not 'deploy'" in run.stderr


@pytest.mark.parametrize("inputs, message", [
    ({"campaign": "campaigns/*.yaml"}, "plan takes one campaign file; got "),
    ({"command": "validate", "sandbox": True}, "sandbox: true only applies to command: plan or run"),
    ({"max_instances": "many"}, "max-instances must be a whole number, not 'many'"),
    ({"command": "validate", "manifest": "m.json"}, "manifest only applies to command: plan or run"),
    ({"command": "validate", "plan_file": "p.json"}, "plan-file only applies to command: plan (saves it) or run"),
    ({"campaign": "  "}, "the campaign input is empty"),
    ({"outputs": "media"}, "outputs only applies to command: run"),
    ({"command": "validate", "junit": "j.xml"}, "junit only applies to command: run"),
    ({"report": "r.html"}, "report only applies to command: run"),
])
def test_bad_inputs(work: Path, inputs: dict, message: str):
    with pytest.raises(InputError) as caught:
        action_argv(ActionInputs(**{"campaign": "campaigns/spring-launch.yaml", **inputs}))
    assert str(caught.value).startswith(message)


# -- renderer.ci -------------------------------------------------------------------------


def test_argv_per_command():
    base = ActionInputs(campaign="c.yaml")
    assert action_argv(base) == ["plan", "c.yaml", "--json", "--show-inputs"]
    assert action_argv(ActionInputs(campaign="c.yaml", command="run", outputs="s3://b/p", junit="j.xml",
                                    report="r.html")) == ["run", "c.yaml", "--outputs", "s3://b/p", "--junit", "j.xml"]
    assert action_argv(ActionInputs(campaign="c.yaml", command="run", sandbox=True, manifest="m.json",
                                    max_instances="10", args="--select 'a b' --detach")) == [
        "run", "c.yaml", "--sandbox", "--manifest", "m.json", "--max-instances", "10", "--select", "a b", "--detach"]
    assert action_argv(ActionInputs(campaign="a.yaml 'b c.yaml'", command="validate")) == ["validate", "a.yaml", "b c.yaml"]
    assert action_argv(ActionInputs(campaign="c.yaml", plan_file="p.json")) == [
        "plan", "c.yaml", "--json", "--show-inputs", "--out", "p.json"]
    assert action_argv(ActionInputs(campaign="c.yaml", command="run", plan_file="p.json")) == [
        "run", "c.yaml", "--plan", "p.json"]


def test_inputs_from_env():
    env = {"RENDERER_CAMPAIGN": " c.yaml ", "RENDERER_COMMAND": "", "RENDERER_SANDBOX": "TRUE"}
    assert ActionInputs.from_env(env) == ActionInputs(campaign="c.yaml", command="plan", sandbox=True)


def test_outputs_of_plan_and_run(tmp_path: Path):
    plan_json = tmp_path / "plan.json"
    plan_json.write_text(json.dumps({"credits": {"min": 10, "max": 12.5, "unknown": True}}))
    campaign = tmp_path / "c.yaml"
    out = action_outputs("plan", str(campaign), exit_code=0, plan_json=plan_json, markdown=tmp_path / "none.md")
    assert out == {"exit-code": "0", "credits": "12.5", "manifest": "", "markdown": "", "plan-json": str(plan_json),
                   "outputs": "", "junit": "", "report": ""}

    manifest = tmp_path / "c.manifest.json"
    manifest.write_text(json.dumps({"credits": {"charged": 1215.0, "estimated": {"min": 1, "max": 2}}}))
    out = action_outputs("run", str(campaign), exit_code=1)
    assert out["credits"] == "1215" and out["manifest"] == str(manifest) and out["exit-code"] == "1"
    assert action_outputs("plan", str(campaign), exit_code=0)["manifest"] == str(manifest)

    manifest.write_text("{not json")
    assert action_outputs("run", str(campaign), exit_code=1)["credits"] == ""
    assert action_outputs("validate", str(campaign), exit_code=0) == {
        "exit-code": "0", "credits": "", "manifest": "", "markdown": "", "plan-json": "", "outputs": "", "junit": "",
        "report": ""}
    # the files a run was asked for, when they are there (a bucket is named as it is)
    (tmp_path / "j.xml").write_text("<testsuites/>")
    out = action_outputs("run", str(campaign), exit_code=0,
                         files={"junit": str(tmp_path / "j.xml"), "report": str(tmp_path / "none.html"),
                                "outputs": "s3://bucket/run"})
    assert (out["junit"], out["report"], out["outputs"]) == (str(tmp_path / "j.xml"), "", "s3://bucket/run")


def test_github_output_format_round_trips(tmp_path: Path):
    values = {"a": "1", "b": "two\nlines", "c": "", "d": "x=y"}
    path = tmp_path / "out"
    path.write_text(github_output(values))
    assert read_outputs(path) == values
    assert re.search(r"^b<<ghadelimiter_[0-9a-f-]+$", path.read_text(), flags=re.M)
