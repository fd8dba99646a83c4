"""Done when: every figure each screen prints equals the manifest's, whatever happened.

Random small campaigns (stills at random resolutions, a random budget) meet a random fault
schedule of the sandbox (renders that fail, answers lost after the charge, 500s, charges said
only at completion, prices above the docs) and a random way the first run ends (it finishes,
or it is stopped early: `--detach`, or a job timeout that leaves renders pending), then a
second run resumes. After each run, every screen is read back and held against the manifest
written by that run: the final line, the step summary (Markdown), JUnit, `status`,
`results` (text and JSON), the HTML report and the plan's Markdown. The run's share is the
manifest's `credits.spent` less what the one before recorded.

Lean on purpose: one in-process sandbox per example, few examples, derandomized (the same
examples every time; `tests/fuzz` hunts wider).
"""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from helpers.runs import FAST, args_for, counters, env_for, make_sandbox, manifest_of, run, start_run, until, write_campaign

from renderer.cli import main
from renderer.errors import BudgetExceeded
from renderer.execute.settings import ExecSettings

FAULTS = ("render_failure", "drop_after", "http_500", "charge_late", "charge_zero_then_late")
STATUS_WORDS = {"completed", "failed", "cancelled", "pending", "unknown", "not_submitted"}


def _campaign(resolutions: list[str], budget: int | None) -> str:
    head = "version: 1\nname: figures\n" + (f"budget:\n  max_credits: {budget}\n" if budget else "")
    jobs = "".join(f"  s{n}:\n    endpoint: samsar/image/enhance\n    input: {{image_url: \"https://cdn.example.com/{n}.png\", "
                   f"resolution: {res}}}\n" for n, res in enumerate(resolutions))
    return head + "providers:\n  samsar: {idempotent_keys: true}\njobs:\n" + jobs


def _num(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:,.2f}"


def _done_text(jobs: dict[str, Any]) -> str:
    """How many jobs are done (final states only), written independently of renderer.figures."""
    counts: dict[str, int] = {}
    for e in jobs.values():
        counts[e["status"]] = counts.get(e["status"], 0) + 1
    done = sum(counts.get(s, 0) for s in ("completed", "failed", "cancelled"))
    return f"{done}/{len(jobs)} done"


def _screens_agree(path: Path, env: dict[str, str], out: str, summary: Path, junit: Path, before: float) -> None:
    data = json.loads(manifest_of(path).read_text("utf-8"))
    credits, jobs = data["credits"], data["jobs"]
    spent, charged, held = credits["spent"], credits["charged"], credits.get("held", 0)
    share = spent - before
    # the final line: the last line before the manifest's path, and nothing after it but that path
    lines = out.splitlines()
    final = lines[-2]
    assert final.startswith("run finished in ") and lines[-1].startswith("manifest: "), out
    assert f": {_done_text(jobs)}" in final
    assert f"spent in all runs {_num(spent)} credits (charged {_num(charged)}" in final
    assert (f", held {_num(held)})" in final) == bool(held)
    assert final.endswith(f"spent by this run {_num(share)}")
    # the step summary (GitHub's), this run's part of it
    md = summary.read_text("utf-8").rsplit("### renderer run:", 1)[1]
    for status in STATUS_WORDS:
        n = sum(1 for e in jobs.values() if e["status"] == status)
        assert (f"| {status.replace('_', ' ')} | {n:,} |" in md) == bool(n)
    assert f"| charged | {_num(charged)} |" in md and f"| spent in all runs | {_num(spent)} |" in md
    assert f"| held | {_num(held)} |" in md and f"| spent by this run | {_num(share)} |" in md
    # JUnit: one case per job, a failure for each one not completed, the run's figures
    suite = ET.fromstring(junit.read_text("utf-8").split("\n", 1)[1]).find("testsuite")
    assert suite is not None and int(suite.get("tests", "-1")) == len(jobs)
    assert int(suite.get("failures", "-1")) == sum(1 for e in jobs.values() if e["status"] != "completed")
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["spent in all runs"] == _num(spent) and props["charged"] == _num(charged)
    assert props["jobs"].startswith(_done_text(jobs))
    # status (from the journal): the same spent
    text = _cli(["status", str(path), "--state-dir", str(path.parent / ".renderer")], env)
    assert f"; spent in all runs {_num(spent)} credits" in text.splitlines()[-len(jobs) - 1]
    # results, text and JSON
    text = _cli(["results", str(path)], env)
    assert text.splitlines()[-1].startswith(_done_text(jobs))
    assert f"spent in all runs {_num(spent)} credits (charged {_num(charged)}" in text.splitlines()[-1]
    shown = json.loads(_cli(["results", str(path), "--json"], env))["figures"]
    assert shown["credits"]["spent in all runs"] == _num(spent) and shown["done"] == int(_done_text(jobs).split("/")[0])
    # the HTML report
    page = path.with_suffix(".report.html")
    _cli(["report", str(path), "--state-dir", str(path.parent / ".renderer"), "--output", str(page)], env)
    html = page.read_text("utf-8")
    assert re.search(rf"<p id=\"summary\">{re.escape(_done_text(jobs))}\b", html)
    assert f"<th>spent in all runs</th><td>{_num(spent)}</td>" in html
    assert f"<th>charged</th><td>{_num(charged)}</td>" in html
    # the plan's Markdown: what earlier runs spent, as the budget counts it
    md_plan = _cli(["plan", str(path), "--markdown"], env, codes=(0, 3))
    if spent and "Budget:" in md_plan:
        assert f"earlier runs spent {_num(spent)}" in md_plan


def _cli(argv: list[str], env: dict[str, str], codes: tuple[int, ...] = (0,)) -> str:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, out, err, env)
    assert code in codes, (argv, code, out.getvalue(), err.getvalue())
    return out.getvalue()


def _run(path: Path, env: dict[str, str], summary: Path, junit: Path, xs: ExecSettings, **kw: Any) -> str | None:
    """What the run printed; None when it refused before sending anything (over budget: no new manifest)."""
    out = io.StringIO()
    try:
        run(**args_for(path, junit=str(junit), **kw), out=out, env={**env, "GITHUB_STEP_SUMMARY": str(summary)},
            exec_settings=xs)
    except BudgetExceeded:
        return None
    return out.getvalue()


@settings(max_examples=8, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    resolutions=st.lists(st.sampled_from(["1k", "2k", "4k"]), min_size=1, max_size=4),
    budget=st.sampled_from([None, 120, 400]),
    faults=st.dictionaries(st.integers(1, 5), st.sampled_from(FAULTS), max_size=2),
    price_factor=st.sampled_from([1, 2]),
    first_ends=st.sampled_from(["finishes", "detached", "job_timeout"]),
)
def test_every_screen_shows_the_manifests_figures(tmp_path_factory: Any, resolutions: list[str], budget: int | None,
                                                  faults: dict[int, str], price_factor: int, first_ends: str) -> None:
    folder = tmp_path_factory.mktemp("figures")
    least = sum({"1k": 30, "2k": 50, "4k": 60}[r] for r in resolutions)
    budget = max(budget, least) if budget else None  # within at the docs' prices: the run starts
    path = write_campaign(folder, _campaign(resolutions, budget))
    summary, junit = folder / "summary.md", folder / "junit.xml"
    first: dict[str, Any] = {"detach": True} if first_ends == "detached" else (
        {"job_timeout": 0.05} if first_ends == "job_timeout" else {})
    with make_sandbox(faults={"schedule": faults}, price_factor=price_factor) as sb:
        env = env_for(sb)
        out = _run(path, env, summary, junit, FAST, **first)
        assert out is not None  # within the budget at the docs' prices
        _screens_agree(path, env, out, summary, junit, before=0)
        before = json.loads(manifest_of(path).read_text("utf-8"))["credits"]["spent"]
        out = _run(path, env, summary, junit, FAST)  # resumes: polls, settles, sends what is left
        if out is not None:  # else refused before sending: what the API charged above the docs counts now
            _screens_agree(path, env, out, summary, junit, before=before)


def test_a_run_killed_then_resumed_shows_the_manifests_figures(tmp_path: Path) -> None:
    """SIGKILL in the middle (the journal knows more than the manifest on disk), then a resume:
    its screens show the campaign's totals and its share of them, as the manifest records."""
    path = write_campaign(tmp_path, _campaign(["1k", "2k", "4k", "1k", "2k"], 1000))
    summary, junit = tmp_path / "summary.md", tmp_path / "junit.xml"
    with make_sandbox(faults={"schedule": {2: "drop_after"}}) as sb:
        env = env_for(sb)
        proc = start_run(path, sb)
        until(lambda: proc.poll() is not None or counters(sb)["accepted_total"] >= 3)
        proc.kill()
        proc.wait(timeout=30)
        killed = manifest_of(path)
        before = json.loads(killed.read_text("utf-8"))["credits"]["spent"] if killed.exists() else 0
        out = _run(path, env, summary, junit, FAST)
        assert out is not None
        _screens_agree(path, env, out, summary, junit, before=before)
        assert counters(sb)["duplicates_total"] == 0  # nothing paid twice
