"""The example workflow (.github/workflows/example-campaign.yml): its rules, and its jobs run.

The plan job runs as a pull request would run it (gh stubbed); the run job runs its
real `renderer run` (no --sandbox: the secret key and SAMSAR_BASE_URL point it at a
sandbox on a loopback port, as they would point it at the API) and commits the
manifest to a local bare repository standing in for GitHub.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from renderer.sandbox import SandboxConfig, running_sandbox_sync

from .actions import Context, matrix_legs, run_job
from .conftest import ROOT
from .test_step_summary import FAST_RUN

WORKFLOW_FILE = ROOT / ".github" / "workflows" / "example-campaign.yml"
WORKFLOW = yaml.safe_load(WORKFLOW_FILE.read_text())
ON = WORKFLOW.get("on", WORKFLOW.get(True))  # YAML 1.1 reads a bare `on` key as true
ACTION_INPUTS = set(yaml.safe_load((ROOT / "action.yml").read_text())["inputs"])

PR = {"event_name": "pull_request", "ref": "refs/pull/7/merge", "repository": "acme/ads",
      "token": "ghs_test", "event.pull_request.number": "7", "event.before": "",
      "event.pull_request.head.repo.full_name": "acme/ads", "event.pull_request.base.sha": "main"}
PUSH = {"event_name": "push", "ref": "refs/heads/main", "repository": "acme/ads", "token": "ghs_test",
        "sha": "5eed5eed", "event.before": "HEAD~1", "event.pull_request.base.sha": ""}
SPRING = {"file": "campaigns/spring-launch.yaml", "name": "spring-launch", "slug": "campaigns-spring-launch.yaml",
          "because": ["campaigns/spring-launch.yaml"]}
CHANGED = {"changed": {"campaigns": json.dumps([SPRING])}}
LEG = {"campaign": SPRING}


def step_named(job: str, name: str) -> dict:
    return next(s for s in WORKFLOW["jobs"][job]["steps"] if s.get("name") == name)


def test_triggers_plan_on_pull_requests_and_run_on_main():
    assert set(ON) == {"pull_request", "push"}  # never pull_request_target
    assert ON["push"]["branches"] == ["main"]
    assert "pull_request_target" not in WORKFLOW_FILE.read_text()


def test_secrets_only_in_the_protected_run_job():
    changed, plan, run = (WORKFLOW["jobs"][j] for j in ("changed", "plan", "run"))
    assert "secrets." not in yaml.safe_dump(plan) + yaml.safe_dump(changed)
    assert "environment" not in plan and "environment" not in changed
    assert run["environment"] and run["concurrency"]["cancel-in-progress"] is False
    assert run["strategy"]["fail-fast"] is False  # one campaign's failure never cuts another's paid run short
    assert re.findall(r"secrets\.(\w+)", yaml.safe_dump(run)) == ["SAMSAR_API_KEY"]
    assert WORKFLOW["permissions"] == {"contents": "read"}


def test_one_run_at_a_time_per_campaign():
    job = run_job(WORKFLOW, "run", Path("/nonexistent"), github=PUSH, needs={"changed": {"campaigns": "[]"}})
    assert job is None  # nothing changed: no run at all
    group = WORKFLOW["jobs"]["run"]["concurrency"]["group"]
    legs = matrix_legs(WORKFLOW, "run", CHANGED)
    assert legs == [LEG]
    assert Context(matrix=legs[0]).expand(group) == "campaign-run-campaigns/spring-launch.yaml"


def test_steps_use_the_actions_inputs():
    for job in WORKFLOW["jobs"].values():
        for step in job["steps"]:
            if step.get("uses") == "./":
                assert set(step["with"]) <= ACTION_INPUTS and "campaign" in step["with"]


def test_readme_shows_this_workflow():
    assert "```yaml\n" + WORKFLOW_FILE.read_text() + "```" in (ROOT / "README.md").read_text()


def test_jobs_run_only_on_their_event(work: Path):
    assert run_job(WORKFLOW, "run", work, github=PR, needs=CHANGED, matrix=LEG) is None
    assert run_job(WORKFLOW, "plan", work, github=PUSH, needs=CHANGED, matrix=LEG) is None
    assert run_job(WORKFLOW, "run", work, github={**PUSH, "ref": "refs/heads/feature"}, needs=CHANGED,
                   matrix=LEG) is None
    assert run_job(WORKFLOW, "plan", work, github=PR, needs={"changed": {"campaigns": "[]"}}) is None


def test_changed_job_lists_the_campaigns_the_pull_request_touches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    _, work = _repository(tmp_path, monkeypatch)
    git(work, "checkout", "--quiet", "-b", "feature")
    listings = work / "campaigns" / "data" / "listings.csv"
    listings.write_text(listings.read_text() + "pier,Pier Walk,https://cdn.example.com/pier.png,2k\n")
    git(work, "commit", "--quiet", "-am", "one more listing")
    job = run_job(WORKFLOW, "changed", work, github=PR)
    assert job.code == 0, {k: (s.stdout, s.stderr) for k, s in job.steps.items()}
    assert job.ran == ["Validate every campaign", "Find the campaigns this change touches"]
    campaigns = json.loads(job.outputs["campaigns"])
    assert campaigns == [{"file": "campaigns/images.yaml", "name": "marketplace-images",
                          "slug": "campaigns-images.yaml", "because": ["campaigns/data/listings.csv"]}]
    assert "campaigns/images.yaml: campaigns/data/listings.csv" in job.steps["changed"].stdout
    # the legs of the plan job: one per campaign
    assert matrix_legs(WORKFLOW, "plan", {"changed": job.outputs}) == [{"campaign": campaigns[0]}]
    # after the merge, the same campaigns run (the push's `before` is the commit before the merge)
    git(work, "checkout", "--quiet", "main")
    git(work, "merge", "--quiet", "feature")
    job = run_job(WORKFLOW, "changed", work, github=PUSH)
    assert json.loads(job.outputs["campaigns"]) == campaigns


def _comment(work: Path, api: str, github=PR):
    job = run_job(WORKFLOW, "plan", work, github=github, needs=CHANGED, matrix=LEG, extra_env={"STUB_GH_API": api})
    log = work.parent / f"{work.name}-stub-calls.txt"
    calls = [c for c in log.read_text().splitlines() if c.startswith("gh ")]
    log.unlink()
    return job, calls


def test_plan_job_comments_once_per_campaign_and_edits_only_its_own_comment(work: Path):
    job, calls = _comment(work, "")
    assert job.code == 0
    assert job.skipped_actions == ["actions/checkout@v5", "actions/setup-python@v6", "actions/upload-artifact@v6"]
    assert job.ran == ["Plan", "Comment the plan on the pull request"]
    assert job.concurrency == "campaign-plan-7-campaigns-spring-launch.yaml"
    markdown = job.steps["plan"].outputs["markdown"]
    text = Path(markdown).read_text()
    assert text.startswith("<!-- renderer-plan: spring-launch -->\n### renderer plan: `spring-launch`")
    listing = ("gh api --paginate repos/acme/ads/issues/7/comments --jq "
               "'.[] | [.id, .user.login, (.body | split(\"\\n\") | .[0])] | @tsv'")
    # no comment of ours yet: the first plan posts one
    assert [shlex.join(shlex.split(c)) for c in calls] == [
        shlex.join(shlex.split(listing)),
        f"gh api --method POST repos/acme/ads/issues/7/comments -F body=@{markdown}"]

    # later pushes: the bot's comment that starts with this campaign's marker is edited, and no other:
    # not another campaign's, not a person's that quotes the marker
    api = ("11\tgithub-actions[bot]\t<!-- renderer-plan: autumn -->\n"
           "12\tmallory\t<!-- renderer-plan: spring-launch -->\n"
           "13\tgithub-actions[bot]\t<!-- renderer-plan: spring-launch -->\n"
           "14\tgithub-actions[bot]\t<!-- renderer-plan: spring-launch -->\n")
    job, calls = _comment(work, api)
    assert calls[-1] == f"gh api --method PATCH repos/acme/ads/issues/comments/13 -F body=@{job.steps['plan'].outputs['markdown']}"
    assert len(calls) == 2


def test_the_comment_lookup_reads_githubs_answer_as_the_stub_assumes():
    """The --jq filter (gh's --jq is jq), applied to comments as the API lists them, gives the stub's lines."""
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    script = step_named("plan", "Comment the plan on the pull request")["run"]
    jq_filter = re.search(r"--jq '([^']*)'", script).group(1)
    comments = [{"id": 11, "user": {"login": "github-actions[bot]"}, "body": "<!-- renderer-plan: a -->\n### plan"},
                {"id": 12, "user": {"login": "mallory"}, "body": "quote\r\n<!-- renderer-plan: a -->"}]
    done = subprocess.run(["jq", "-r", jq_filter], input=json.dumps(comments), capture_output=True, text=True)
    assert done.stdout == "11\tgithub-actions[bot]\t<!-- renderer-plan: a -->\n12\tmallory\tquote\\r\n"


def test_plan_job_over_budget_still_comments_and_fails(work: Path):
    path = work / "campaigns" / "spring-launch.yaml"
    path.write_text(path.read_text().replace("max_credits: 60000", "max_credits: 100"))
    job, calls = _comment(work, "")
    assert job.code == 3
    assert job.ran[-1] == "Comment the plan on the pull request" and "POST" in calls[-1]
    assert "[!WARNING]" in Path(job.steps["plan"].outputs["markdown"]).read_text()
    assert "actions/upload-artifact@v6" not in job.skipped_actions  # no plan to run is uploaded


def test_no_comment_from_a_fork():
    step = step_named("plan", "Comment the plan on the pull request")
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


def _reviewed_plan(work: Path, tmp_path: Path, sandbox) -> Path:
    """The pull request's plan job, and the artifact it uploads (the plan file and the full plan).
    It plans against the API the run job reaches (the sandbox standing in for it): a plan
    reviewed for one base URL is not run against another."""
    job = run_job(WORKFLOW, "plan", work, github=PR, needs=CHANGED, matrix=LEG,
                  extra_env={"SAMSAR_BASE_URL": sandbox.base_urls["samsar"]})
    assert job.code == 0 and "actions/upload-artifact@v6" in job.skipped_actions
    upload = step_named("plan", "Upload the reviewed plan")["with"]
    assert Context(matrix=LEG).expand(upload["name"]) == "campaign-plan-campaigns-spring-launch.yaml"
    full = Path(job.steps["plan"].outputs["plan-json"])
    assert "campaign.plan.json" in upload["path"] and "steps.plan.outputs.plan-json" in upload["path"]
    assert all("body" in j for j in json.loads(full.read_text())["jobs"])  # the full plan: every body
    artifact = tmp_path / "artifact"
    artifact.mkdir()
    shutil.move(work / "campaign.plan.json", artifact / "campaign.plan.json")
    shutil.copy(full, artifact / full.name)
    git(work, "status", "--porcelain")  # the plan job leaves nothing behind in the work tree
    return artifact


def _run_job(work: Path, tmp_path: Path, sandbox, artifact: Path):
    return run_job(WORKFLOW, "run", work, github=PUSH, secrets={"SAMSAR_API_KEY": "sk-test"}, needs=CHANGED,
                   matrix=LEG, extra_env={"SAMSAR_BASE_URL": sandbox.base_urls["samsar"], "GITHUB_REF_NAME": "main",
                                          "RENDERER_EXEC_SETTINGS": FAST_RUN, "HOME": str(tmp_path),
                                          "STUB_GH_ARTIFACT": str(artifact),
                                          # the stand-in's result files are on this machine: allowed as a
                                          # team allows its provider's private host
                                          "RENDERER_DOWNLOAD_ALLOW_HOSTS": "127.0.0.1"})


def test_run_job_runs_the_reviewed_plan_and_commits_the_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    remote, work = _repository(tmp_path, monkeypatch)
    with running_sandbox_sync(SandboxConfig(render_seconds=0, api_key="sk-test")) as sandbox:
        artifact = _reviewed_plan(work, tmp_path, sandbox)
        job = _run_job(work, tmp_path, sandbox, artifact)
    assert job.code == 0, {k: (s.stdout, s.stderr) for k, s in job.steps.items()}
    assert job.ran == ["Download the reviewed plan", "Run", "Commit the manifest"]
    assert job.skipped_actions == ["actions/checkout@v5", "actions/setup-python@v6", "actions/cache/restore@v5",
                                   "actions/cache/save@v5", "actions/upload-artifact@v6"]
    calls = [c for c in (work.parent / f"{work.name}-stub-calls.txt").read_text().splitlines() if c.startswith("gh r")]
    assert re.fullmatch(r"gh run download 4242 --name campaign-plan-campaigns-spring-launch.yaml --dir \S+/plan",
                        calls[-1]), calls
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
    # what it paid for is kept: every result file, the report that shows them, JUnit; all uploaded
    assert (run.outputs["outputs"], run.outputs["junit"], run.outputs["report"]) == (
        "renderer-results/media", "renderer-results/junit.xml", "renderer-results/report.html")
    files = [f for e in manifest["jobs"].values() for f in e.get("files", ())]
    # (the manifest's paths are relative to the manifest; the report's links to the page)
    assert len(files) == len(manifest["jobs"]) and all((work / "campaigns" / f["path"]).is_file() for f in files)
    assert all(f["path"].startswith("../renderer-results/media/") for f in files)
    report = (work / "renderer-results/report.html").read_text()
    assert all(f'href="{f["path"].removeprefix("../renderer-results/")}"' in report for f in files)
    assert (work / "renderer-results/junit.xml").read_text().count("<testcase") == len(manifest["jobs"])
    upload = step_named("run", "Upload the results")["with"]["path"]
    assert "steps.run.outputs.manifest" in upload and "renderer-results" in upload.split()


def test_run_job_refuses_a_campaign_changed_since_its_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    remote, work = _repository(tmp_path, monkeypatch)
    with running_sandbox_sync(SandboxConfig(render_seconds=0, api_key="sk-test")) as sandbox:
        artifact = _reviewed_plan(work, tmp_path, sandbox)
        path = work / "campaigns" / "spring-launch.yaml"
        path.write_text(path.read_text().replace("lisbon", "porto"))  # merged after the review
        job = _run_job(work, tmp_path, sandbox, artifact)
        sent = sandbox.state.counters.snapshot()["requests_total"]
    assert job.code == 1 and sent == 0
    assert "no longer matches the reviewed plan; nothing was sent" in job.steps["run"].stderr
    assert "the campaign file campaigns/spring-launch.yaml changed" in job.steps["run"].stderr
