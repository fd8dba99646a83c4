"""`renderer plan --markdown`: a pull-request comment that always fits GitHub's 65,536 characters.

Most cases build a ``Plan`` directly (``fake_plan``): the Markdown only reads instance
ids, endpoints, actions, prices and the campaign's name, budget, pricing and
providers, and building 100,000 instances this way takes a fraction of a second.
One test runs the real command on a 100,000-instance campaign (about 5 s).
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

from renderer.plan.model import Instance, Plan
from renderer.plan.report import MARKDOWN_LIMIT, plan_markdown, summarise
from renderer.providers.base import Price, Range

from .conftest import cli

GITHUB_COMMENT_LIMIT = 65_536


def fake_plan(ids, *, budget=None, credits=Range.exact(50), reuse=(), unknown=(), name="big",
              endpoint="samsar/image/enhance") -> Plan:
    campaign = SimpleNamespace(name=name, budget=budget, pricing={}, providers={}, budget_probe=True)
    instances = tuple(
        Instance(id=iid, job=iid.split("[")[0], endpoint=endpoint, matrix={}, needs=(),
                 body={"image_url": "https://cdn.example.com/a.png"}, pending=False, input_sha256=None,
                 price=Price(None if iid in unknown else credits),
                 action="reuse" if iid in reuse else "run")
        for iid in ids
    )
    return Plan(campaign, instances, {i.id: i for i in instances})


def render(plan: Plan, manifest=None) -> str:
    return plan_markdown(plan, summarise(plan, manifest))


def listed(md: str) -> list[str]:
    return re.findall(r"^- (?:added|changed|removed): ", md, flags=re.M)


def table_rows(md: str) -> list[str]:
    return [line for line in md.splitlines() if line.startswith("| `")]


def cells(row: str) -> int:
    """Columns of a table row: pipes not escaped as \\| separate cells."""
    return len(re.split(r"(?<!\\)\|", row)) - 2


def test_small_plan_lists_totals_costliest_and_every_change():
    plan = fake_plan([f"stills[city={c}]" for c in ("lisbon", "tokyo", "lima")], budget=1000, name="spring")
    md = render(plan)
    assert md.startswith("### renderer plan: `spring`\n")
    assert "**150 credits** for 3 job(s) to run; 0 reused from the manifest." in md
    assert "Budget: 1,000 credits (within budget)." in md
    assert "| `samsar/image/enhance` | 3 | 150 |" in md
    assert "**Costliest jobs**" in md and "| `stills[city=lima]` | 50 |" in md
    assert "Changes against the manifest: 3 added, 0 changed, 0 removed, 0 reused" in md
    assert len(listed(md)) == 3 and "more (see" not in md
    assert "[!WARNING]" not in md


def test_100000_job_plan_is_cut_below_the_comment_limit_and_says_how_many_more():
    ids = [f"stills[a=a{i // 1000},b=b{i % 1000}]" for i in range(100_000)]
    md = render(fake_plan(ids, budget=1000))
    assert len(md) <= MARKDOWN_LIMIT < GITHUB_COMMENT_LIMIT
    shown = len(listed(md))
    assert 0 < shown < 100_000
    assert f"- … and {100_000 - shown:,} more (see `renderer plan --json`)" in md
    assert "100,000 added, 0 changed, 0 removed, 0 reused" in md
    assert "**5,000,000 credits** for 100,000 job(s) to run" in md
    # the part a reviewer needs comes first and is whole
    assert "> [!WARNING]\n> over budget: the plan may spend up to 5,000,000 credits" in md
    assert md.rstrip().endswith("</details>")


def test_changes_against_a_manifest_are_counted_by_kind():
    ids = [f"teaser[n={i}]" for i in range(6)]
    manifest = {"jobs": {"teaser[n=0]": {}, "teaser[n=1]": {}, "teaser[n=2]": {}, "gone[n=9]": {}}}
    plan = fake_plan(ids, reuse={"teaser[n=0]", "teaser[n=1]"})
    md = render(plan, manifest)
    assert "**200 credits** for 4 job(s) to run; 2 reused from the manifest." in md
    assert "Changes against the manifest: 3 added, 1 changed, 1 removed, 2 reused" in md
    assert "- changed: `teaser[n=2]`" in md and "- removed: `gone[n=9]`" in md
    assert "teaser[n=0]" not in md.split("<details>")[1]  # reused jobs are counted, not listed
    assert 'n0["teaser[n=0]"]' in md  # (the job graph draws every instance)


def test_unknown_prices_are_named_and_do_not_pass_for_zero():
    ids = [f"upscale[n={i}]" for i in range(12)]
    md = render(fake_plan(ids, unknown=set(ids[:11]), endpoint="enhancecraft/jobs"))
    assert "**50 + unknown credits**" in md
    assert "> [!NOTE]\n> 11 job(s) have no known price: `upscale[n=0]`" in md
    assert "…" in md.split("[!NOTE]")[1].split("\n\n")[0]  # only the first ten are named
    assert "| `enhancecraft/jobs` | 12 | unknown |" in md


def test_huge_instance_ids_still_fit():
    # ids carry matrix values: a matrix over 20,000-character prompts makes ids that long
    ids = [f"clip[prompt={chr(65 + i) * 20_000}]" for i in range(20)]
    md = render(fake_plan(ids, budget=1, unknown=set(ids[10:])))
    assert len(md) <= MARKDOWN_LIMIT
    assert "Changes against the manifest: 20 added" in md
    assert "[!WARNING]" in md and "[!NOTE]" in md


def test_ids_with_pipes_backticks_and_newlines_keep_the_tables_whole():
    ids = ["row[title=a|b]", "row[title=`x`]", "row[title=two\nlines]"]
    md = render(fake_plan(ids, name="c|d"))
    rows = table_rows(md)
    assert len(rows) == 1 + 3  # one endpoint row, three costliest
    assert all(cells(r) == (3 if "enhance" in r else 2) for r in rows), rows
    assert "two lines" in md and "two\nlines" not in md
    assert "``row[title=`x`]``" in md


def test_plan_markdown_command_on_a_100000_instance_campaign(tmp_path: Path):
    """The real thing, once: expand, price and render 100,000 instances (about 5 s)."""
    a = ", ".join(f"a{i}" for i in range(100))
    b = ", ".join(f"b{i}" for i in range(1000))
    campaign = tmp_path / "big.yaml"
    campaign.write_text(
        "version: 1\nname: big\nbudget:\n  max_credits: 10000000\njobs:\n  stills:\n"
        "    endpoint: samsar/image/enhance\n"
        f"    matrix:\n      a: [{a}]\n      b: [{b}]\n"
        '    input:\n      image_url: "https://cdn.example.com/{{ matrix.a }}/{{ matrix.b }}.png"\n'
        "      resolution: 2k\n"
    )
    summary = tmp_path / "summary.md"
    r = cli(["plan", "--markdown", str(campaign)], env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert r.code == 0, r.err
    assert len(r.out) < GITHUB_COMMENT_LIMIT
    assert "**5,000,000 credits** for 100,000 job(s) to run" in r.out
    shown = len(listed(r.out))
    assert f"- … and {100_000 - shown:,} more" in r.out
    # the step summary gets the same Markdown
    assert summary.read_text("utf-8") == r.out + "\n"
