"""The example workflow (.github/workflows/example-campaign.yml): its rules, and its jobs run.

The plan job runs as a pull request would run it (gh stubbed); the run job runs its
real `renderer run` (no --sandbox: the secret key and SAMSAR_BASE_URL point it at a
sandbox on a loopback port, as they would point it at the API) and commits the
manifest to a local bare repository standing in for GitHub.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from renderer.sandbox import SandboxConfig, running_sandbox_sync

from .actions import Context, base_env, run_job, run_step
from .conftest import ROOT
from .test_step_summary import FAST_RUN

WORKFLOW_FILE = ROOT / ".github" / "workflows" / "example-campaign.yml"
WORKFLOW = yaml.safe_load(WORKFLOW_FILE.read_text())
ON = WORKFLOW.get("on", WORKFLOW.get(True))  # YAML 1.1 reads a bare `on` key as true
ACTION_INPUTS = set(yaml.safe_load((ROOT / "action.yml").read_text())["inputs"])

PR = {"event_name": "pull_request", "ref": "refs/pull/7/merge", "repository": "acme/ads",
      "token": "ghs_test", "event.pull_request.number": "7",
      "event.pull_request.head.repo.full_name": "acme/ads"}
PUSH = {"event_name": "push", "ref": "refs/heads/main", "repository": "acme/ads", "token": "ghs_test",
        "sha": "5eed5eed"}


def test_triggers_plan_on_pull_requests_and_run_on_main():
    assert set(ON) == {"pull_request", "push"}  # never pull_request_target
    assert ON["push"]["branches"] == ["main"]
    assert "pull_request_target" not in WORKFLOW_FILE.read_text()


def test_secrets_only_in_the_protected_run_job():
    plan, run = WORKFLOW["jobs"]["plan"], WORKFLOW["jobs"]["run"]
    assert "secrets." not in yaml.safe_dump(plan)
    assert "environment" not in plan
    assert run["environment"] and run["concurrency"]["cancel-in-progress"] is False
    assert run["concurrency"]["group"] == f"campaign-run-{WORKFLOW['env']['CAMPAIGN']}"  # one group per campaign
    assert re.findall(r"secrets\.(\w+)", yaml.safe_dump(run)) == ["SAMSAR_API_KEY"]
    assert WORKFLOW["permissions"] == {"contents": "read"}


def test_steps_use_the_actions_inputs():
    for job in WORKFLOW["jobs"].values():
        for step in job["steps"]:
            if step.get("uses") == "./":
                assert set(step["with"]) <= ACTION_INPUTS and "campaign" in step["with"]


def test_readme_shows_this_workflow():
    assert "```yaml\n" + WORKFLOW_FILE.read_text() + "```" in (ROOT / "README.md").read_text()


def test_jobs_run_only_on_their_event(work: Path):
    assert run_job(WORKFLOW, "run", work, github=PR) is None
    assert run_job(WORKFLOW, "plan", work, github=PUSH) is None
    assert run_job(WORKFLOW, "run", work, github={**PUSH, "ref": "refs/heads/feature"}) is None


def test_plan_job_comments_on_the_pull_request(work: Path):
    job = run_job(WORKFLOW, "plan", work, github=PR)
    assert job.code == 0
    assert job.skipped_actions == ["actions/checkout@v4", "actions/setup-python@v5", "actions/upload-artifact@v4"]
    assert job.ran == ["Validate every campaign", "Plan", "Comment the plan on the pull request"]
    markdown = job.steps["plan"].outputs["markdown"]
    assert Path(markdown).read_text().startswith("### renderer plan: `spring-launch`")
    log = work.parent / f"{work.name}-stub-calls.txt"
    edit = f"gh pr comment 7 --edit-last --body-file {markdown}"
    # the bot has no comment on the pull request yet: editing fails, so it posts one
    assert [c for c in log.read_text().splitlines() if c.startswith("gh ")] == [
        edit, f"gh pr comment 7 --body-file {markdown}"]

    # the next push to the pull request edits that comment (the comment step alone, again)
    log.unlink()
    step = next(s for s in WORKFLOW["jobs"]["plan"]["steps"] if s.get("name") == "Comment the plan on the pull request")
    ctx = Context(github=PR, steps={"plan": job.steps["plan"].outputs})
    env = base_env(work, work.parent / "summary.md", {"STUB_GH_HAS_COMMENT": "1"})
    assert run_step(step, ctx, work, env, 0).code == 0
    assert [c for c in log.read_text().splitlines() if c.startswith("gh ")] == [edit]


def test_plan_job_over_budget_still_comments_and_fails(work: Path):
    path = work / "campaigns" / "spring-launch.yaml"
    path.write_text(path.read_text().replace("max_credits: 60000", "max_credits: 100"))
    job = run_job(WORKFLOW, "plan", work, github=PR)
    assert job.code == 3
    assert job.ran[-1] == "Comment the plan on the pull request"
    assert "[!WARNING]" in Path(job.steps["plan"].outputs["markdown"]).read_text()


def test_no_comment_from_a_fork():
    step = next(s for s in WORKFLOW["jobs"]["plan"]["steps"] if s.get("name") == "Comment the plan on the pull request")
    outputs = {"plan": {"markdown": "/tmp/plan.md"}}
    assert Context(github=PR, steps=outputs).condition(step["if"])
    fork = {**PR, "event.pull_request.head.repo.full_name": "mallory/ads"}
    assert not Context(github=fork, steps=outputs).condition(step["if"])
    assert not Context(github=PR, steps={"plan": {"markdown": ""}}).condition(step["if"])
    assert Context(github=PR, steps=outputs, failed=True).condition(step["if"])  # over budget: still


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd), "PATH": "/usr/bin:/bin",
                               "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}).stdout


def _repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    remote, work = tmp_path / "remote.git", tmp_path / "work"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(remote))
    git(tmp_path, "clone", "--quiet", str(remote), str(work))
    shutil.copytree(ROOT / "campaigns", work / "campaigns", ignore=shutil.ignore_patterns("*.manifest.json"))
    shutil.copy(ROOT / ".gitignore", work / ".gitignore")  # as shipped: it must not hide the manifest
    git(work, "add", "campaigns", ".gitignore")
    git(work, "commit", "--quiet", "-m", "campaigns")
    git(work, "push", "--quiet", "origin", "HEAD:main")
    monkeypatch.chdir(work)
    return remote, work


def _reviewed_plan(work: Path, tmp_path: Path) -> Path:
    """The pull request's plan job, and the artifact it uploads (the plan file)."""
    job = run_job(WORKFLOW, "plan", work, github=PR)
    assert job.code == 0 and "actions/upload-artifact@v4" in job.skipped_actions
    artifact = tmp_path / "artifact"
    artifact.mkdir()
    shutil.move(work / "campaign.plan.json", artifact / "campaign.plan.json")
    return artifact


def _run_job(work: Path, tmp_path: Path, sandbox, artifact: Path):
    return run_job(WORKFLOW, "run", work, github=PUSH, secrets={"SAMSAR_API_KEY": "sk-test"},
                   extra_env={"SAMSAR_BASE_URL": sandbox.base_urls["samsar"], "GITHUB_REF_NAME": "main",
                              "RENDERER_EXEC_SETTINGS": FAST_RUN, "HOME": str(tmp_path),
                              "STUB_GH_ARTIFACT": str(artifact)})


def test_run_job_runs_the_reviewed_plan_and_commits_the_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    remote, work = _repository(tmp_path, monkeypatch)
    artifact = _reviewed_plan(work, tmp_path)
    with running_sandbox_sync(SandboxConfig(render_seconds=0, api_key="sk-test")) as sandbox:
        job = _run_job(work, tmp_path, sandbox, artifact)
    assert job.code == 0, {k: (s.stdout, s.stderr) for k, s in job.steps.items()}
    assert job.ran == ["Download the reviewed plan", "Run", "Commit the manifest"]
    assert job.skipped_actions == ["actions/checkout@v4", "actions/setup-python@v5", "actions/cache/restore@v4",
                                   "actions/cache/save@v4", "actions/upload-artifact@v4"]
    calls = [c for c in (work.parent / f"{work.name}-stub-calls.txt").read_text().splitlines() if c.startswith("gh r")]
    assert calls[-1] == "gh run download 4242 --name campaign-plan --dir ."
    log = (work.parent / f"{work.name}-stub-calls.txt").read_text()
    assert "gh pr list --state merged --search 5eed5eed --json headRefOid --jq .\\[0\\].headRefOid" in log
    run = job.steps["run"]
    assert "$ renderer run campaigns/spring-launch.yaml --plan campaign.plan.json" in run.stderr
    assert run.outputs["manifest"] == "campaigns/spring-launch.manifest.json"
    manifest = json.loads(git(remote, "show", "main:campaigns/spring-launch.manifest.json"))
    assert {e["status"] for e in manifest["jobs"].values()} == {"completed"}
    assert run.outputs["credits"] == str(manifest["credits"]["charged"])
    assert "sk-test" not in json.dumps(manifest) + run.stdout + run.stderr
    assert git(remote, "log", "-1", "--format=%s", "main") == "Results manifest of campaigns/spring-launch.yaml\n"


def test_run_job_refuses_a_campaign_changed_since_its_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    remote, work = _repository(tmp_path, monkeypatch)
    artifact = _reviewed_plan(work, tmp_path)
    path = work / "campaigns" / "spring-launch.yaml"
    path.write_text(path.read_text().replace("lisbon", "porto"))  # merged after the review
    with running_sandbox_sync(SandboxConfig(render_seconds=0, api_key="sk-test")) as sandbox:
        job = _run_job(work, tmp_path, sandbox, artifact)
        sent = sandbox.state.counters.snapshot()["requests_total"]
    assert job.code == 1 and sent == 0
    assert "no longer matches the reviewed plan; nothing was sent" in job.steps["run"].stderr
    assert "the campaign file campaigns/spring-launch.yaml changed" in job.steps["run"].stderr
