"""GITHUB_STEP_SUMMARY: `plan` and `run` append Markdown there, never past GitHub's 1 MiB."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from renderer.commands import STEP_SUMMARY_LIMIT, append_step_summary

from .conftest import cli

# Test-only speed knobs of the executor (renderer/execute/settings.py): poll the sandbox
# every few milliseconds and render instantly instead of taking about 13 s.
FAST_RUN = json.dumps({"poll": {"initial": 0.01, "max_interval": 0.05, "list_interval": 0.02},
                       "sandbox_render_seconds": 0, "progress_interval": 0.5})
NOTE = "summary truncated: GitHub's 1 MiB step summary limit"


def test_no_variable_no_file(tmp_path: Path):
    append_step_summary({}, "# hello")
    append_step_summary({"GITHUB_STEP_SUMMARY": ""}, "# hello")
    assert list(tmp_path.iterdir()) == []


def test_appends_after_what_is_there(tmp_path: Path):
    target = tmp_path / "summary.md"
    target.write_text("earlier step output\n")
    env = {"GITHUB_STEP_SUMMARY": str(target)}
    append_step_summary(env, "### one")
    append_step_summary(env, "### two")
    assert target.read_text() == "earlier step output\n### one\n### two\n"


def test_creates_the_file_when_missing(tmp_path: Path):
    target = tmp_path / "summary.md"
    append_step_summary({"GITHUB_STEP_SUMMARY": str(target)}, "### one")
    assert target.read_text() == "### one\n"


@pytest.mark.parametrize("used", [0, STEP_SUMMARY_LIMIT - 10_000, STEP_SUMMARY_LIMIT - 100,
                                  STEP_SUMMARY_LIMIT - 20, STEP_SUMMARY_LIMIT - 1, STEP_SUMMARY_LIMIT])
def test_never_grows_past_one_mebibyte(tmp_path: Path, used: int):
    target = tmp_path / "summary.md"
    target.write_bytes(b"x" * used)
    markdown = "é" * 700_000  # 1.4 MB of two-byte characters
    append_step_summary({"GITHUB_STEP_SUMMARY": str(target)}, markdown)
    data = target.read_bytes()
    assert len(data) <= STEP_SUMMARY_LIMIT
    assert data[:used] == b"x" * used  # what was there stays
    added = data[used:].decode("utf-8")  # cut on a character boundary
    if added:
        assert added.startswith("é") or added.lstrip("\n").startswith("_(")
        assert NOTE in added


def test_fits_whole_when_there_is_room(tmp_path: Path):
    target = tmp_path / "summary.md"
    target.write_bytes(b"x" * (STEP_SUMMARY_LIMIT - 1001))
    append_step_summary({"GITHUB_STEP_SUMMARY": str(target)}, "y" * 999)
    assert target.stat().st_size == STEP_SUMMARY_LIMIT - 1
    assert target.read_bytes().endswith(b"y" * 999 + b"\n")


@pytest.mark.parametrize("fmt", [[], ["--json"], ["--markdown"]])
def test_plan_appends_its_markdown_whatever_it_prints(work: Path, fmt: list[str]):
    target = work / "summary.md"
    target.write_text("before\n")
    r = cli(["plan", "campaigns/spring-launch.yaml", *fmt], env={"GITHUB_STEP_SUMMARY": str(target)})
    assert r.code == 0, r.err
    text = target.read_text()
    assert text.startswith("before\n<!-- renderer-plan: spring-launch -->\n### renderer plan: `spring-launch`\n")
    assert "Estimated for this run: **6,165 credits** for 12 job(s) to run" in text
    if fmt == ["--markdown"]:
        assert text == "before\n" + r.out + "\n"


def test_plan_over_budget_still_summarises_with_the_warning(work: Path):
    campaign = work / "campaigns" / "legacy-movie.yaml"
    campaign.write_text(campaign.read_text().replace("max_credits: 2000", "max_credits: 100"))
    target = work / "summary.md"
    r = cli(["plan", str(campaign)], env={"GITHUB_STEP_SUMMARY": str(target)})
    assert r.code == 3
    assert "> [!WARNING]\n> over budget: the plan may spend up to 1,200 credits" in target.read_text()


def test_run_appends_its_summary(work: Path):
    target = work / "summary.md"
    target.write_text("plan was here\n")
    r = cli(["run", "--sandbox", "campaigns/spring-launch.yaml"],
            env={"GITHUB_STEP_SUMMARY": str(target), "RENDERER_EXEC_SETTINGS": FAST_RUN})
    assert r.code == 0, r.out + r.err
    text = target.read_text()
    assert text.startswith("plan was here\n### renderer run: `spring-launch`")
    manifest = json.loads((work / "campaigns" / "spring-launch.sandbox.manifest.json").read_text())
    assert f"| charged | {manifest['credits']['charged']:,} |" in text
    assert f"| spent in all runs | {manifest['credits']['spent']:,} |" in text
    assert f"| spent by this run | {manifest['credits']['spent']:,} |" in text  # the first run: all of it
    assert "| job | status | error |" not in text  # everything completed


def test_run_summary_names_the_jobs_that_did_not_complete():
    from renderer.execute.outcome import MAX_SUMMARY_PROBLEMS
    from renderer.execute.outcome import markdown as _markdown

    jobs = {f"clip[n={i}]": {"status": "failed", "error": "render failed | twice"} for i in range(MAX_SUMMARY_PROBLEMS + 3)}
    jobs["ok"] = {"status": "completed"}
    jobs["lost"] = {"status": "unknown", "error": "answer lost after sending"}
    text = _markdown({"campaign": "c", "counts": {"completed": 1, "failed": 53, "unknown": 1},
                      "credits": {"charged": 12500}, "jobs": jobs})
    assert "| failed | 53 |" in text and "| charged | 12,500 |" in text
    assert "54/55 done (1 completed, 53 failed); 1 unknown" in text
    assert "| `clip[n=0]` | failed | `render failed \\| twice` |" in text
    assert "| `ok` |" not in text
    assert "… and 4 more in the manifest" in text  # 50 shown of 54 problems
