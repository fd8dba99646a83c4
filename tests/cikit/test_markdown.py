"""`renderer plan --markdown`: a pull-request comment that says why jobs run and what changed,
and always fits GitHub's 65,536 characters.

Most cases build a ``Plan`` directly (``fake_plan``): the Markdown only reads instance
ids, endpoints, bodies, actions, prices and the campaign's name, budget, pricing and
providers, and building 100,000 instances this way takes a fraction of a second.
One test runs the real command on a 100,000-instance campaign (about 5 s). The
Markdown is parsed with markdown-it-py (CommonMark and GitHub's tables) and its
Mermaid block with Mermaid's own parser in node (``test_mermaid_parses``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from markdown_it import MarkdownIt

from renderer.plan.model import Instance, Plan
from renderer.plan.views import MARKDOWN_LIMIT, summarise
from renderer.vocabulary import Pending, Price, Range
from renderer.review import marker, plan_markdown

from .conftest import ROOT, cli

GITHUB_COMMENT_LIMIT = 65_536
BODY = {"image_url": "https://cdn.example.com/a.png", "resolution": "4k"}


def fake_plan(ids, *, budget=None, credits=Range.exact(50), reuse=(), unknown=(), name="big",
              endpoint="samsar/image/enhance", body=lambda iid: BODY) -> Plan:
    campaign = SimpleNamespace(name=name, path=f"{name}.yaml", budget=budget, pricing={}, providers={}, budget_probe=True)
    instances = tuple(
        Instance(id=iid, job=iid.split("[")[0], endpoint=endpoint, matrix={}, needs=(),
                 body=body(iid), pending=False, input_sha256=f"sha-{iid}",
                 price=Price(None if iid in unknown else credits),
                 action="reuse" if iid in reuse else "run")
        for iid in ids
    )
    return Plan(campaign, instances, {i.id: i for i in instances})


def entry(request=None, status="completed"):
    """A manifest entry as a run writes it: its status and the request it sent."""
    return {"status": status, "input_sha256": "old", **({"request": request} if request is not None else {})}


def render(plan: Plan, manifest=None, **kw) -> str:
    return plan_markdown(plan, summarise(plan, manifest), manifest, **kw)


def parse(md: str):
    """GitHub's flavour as far as it matters here: CommonMark, tables, raw HTML blocks."""
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    html = "".join(t.content for t in tokens if t.type in ("html_block", "html_inline"))
    html += "".join(c.content for t in tokens if t.children for c in t.children if c.type == "html_inline")
    assert html.count("<details>") == html.count("</details>"), "every <details> is closed"
    fences = [t for t in tokens if t.type == "fence"]
    assert all("</details>" not in f.content.splitlines() for f in fences), "a fence swallowed the rest of the comment"
    return tokens, fences


def table_rows(md: str) -> list[str]:
    return [line for line in md.splitlines() if line.startswith("| `")]


def cells(row: str) -> int:
    """Columns of a table row: pipes not escaped as \\| separate cells."""
    return len(re.split(r"(?<!\\)\|", row)) - 2


def test_small_plan_lists_totals_costliest_and_every_change():
    plan = fake_plan([f"stills[city={c}]" for c in ("lisbon", "tokyo", "lima")], budget=1000, name="spring")
    md = render(plan)
    assert md.startswith("<!-- renderer-plan: spring -->\n### renderer plan: `spring`\n")
    assert "**150 credits** for 3 job(s) to run; 0 reused from the manifest." in md
    assert "Budget: 1,000 credits (within budget)." in md
    assert "| `samsar/image/enhance` | 3 | 150 |" in md
    assert "**Costliest jobs**" in md and "| `stills[city=lima]` | 50 |" in md
    assert "| why | jobs |\n|---|---:|\n| new | 3 |\n" in md
    assert "Changes against the manifest: 3 added, 0 changed, 0 removed, 0 reused" in md
    assert "- new: `stills` ×3: `stills[city=lisbon]`, `stills[city=tokyo]`, `stills[city=lima]`" in md
    assert "Not shown here" not in md and "[!WARNING]" not in md
    parse(md)


def test_each_job_that_runs_again_says_why_and_shows_its_diff():
    """The comment a reviewer approves: the `~ resolution: "2k" -> "4k"` the terminal shows, folded."""
    ids = ["stills[city=lisbon]", "stills[city=tokyo]", "stills[city=lima]", "teaser[city=lisbon]", "poster"]
    manifest = {"jobs": {
        "stills[city=lisbon]": entry({**BODY, "resolution": "2k"}),  # input changed
        "stills[city=tokyo]": entry(BODY, status="failed"),  # failed before, same request
        "teaser[city=lisbon]": entry({"image_urls": ["https://cdn/old.png"]}),  # its upstream runs again
        "poster": entry(BODY, status="awaiting_approval"),  # a reason this renderer has no label for
        "gone[n=1]": entry(BODY),
    }}
    bodies = {"teaser[city=lisbon]": {"image_urls": [Pending("stills[city=lisbon]", "result_url")]}}
    md = render(fake_plan(ids, body=lambda iid: bodies.get(iid, BODY)), manifest)
    _, fences = parse(md)
    why = md.split("**Why jobs run**")[1].split("<details>")[0]
    assert ("| failed before | 1 |" in why and "| input changed | 1 |" in why and "| upstream changed | 1 |" in why
            and "| new | 1 |" in why and "| removed from the campaign (not run) | 1 |" in why)
    assert "| it is awaiting_approval in the manifest | 1 |" in why  # unknown reasons are shown, as given
    assert "<summary>input changed: <code>stills[city=lisbon]</code>, 1 field(s)</summary>" in md
    assert "<p>Why: its request changed</p>" in md
    diffs = [f.content for f in fences if f.info == "diff"]
    assert '- resolution: "2k"\n+ resolution: "4k"\n' in diffs
    assert ('- image_urls[0]: "https://cdn/old.png"\n+ image_urls[0]: "<pending stills[city=lisbon].result_url>"\n'
            in diffs)
    assert "<p>Why: it takes outputs of stills[city=lisbon], which run again</p>" in md
    assert "<summary>failed before: <code>stills[city=tokyo]</code>, no field</summary>" in md
    # the order: failures first, then what changed, then new jobs, then removed ones
    assert md.index("failed before: <code>") < md.index("input changed: <code>") < md.index("- new: ")
    assert md.index("- new: ") < md.index("- removed from the campaign (1): `gone[n=1]`")


def test_jobs_with_the_same_change_share_one_block():
    ids = [f"stills[n={i}]" for i in range(500)]
    manifest = {"jobs": {i: entry({**BODY, "resolution": "2k"}) for i in ids}}
    md = render(fake_plan(ids), manifest)
    assert md.count("<details><summary>input changed") == 1
    assert "<summary>input changed: 500 jobs, 1 field(s)</summary>" in md
    assert "Jobs: `stills[n=0]`, `stills[n=1]`" in md and "and 492 more" in md
    assert md.count('+ resolution: "4k"') == 1


def test_12000_instance_plan_with_diffs_fits_and_says_what_it_left_out():
    ids = [f"clip[n={i}]" for i in range(12_000)]
    prompt = {i: {**BODY, "prompt": f"scene {n} " + "x" * 300} for n, i in enumerate(ids)}
    manifest = {"jobs": {}}
    for n, i in enumerate(ids[:9_000]):  # 6,000 changed (each its own diff), 3,000 failed; 3,000 new
        old = {**BODY, "prompt": f"old scene {n}", "resolution": "2k"}
        manifest["jobs"][i] = entry(old if n < 6_000 else prompt[i], status="completed" if n < 6_000 else "failed")
    md = render(fake_plan(ids, body=lambda iid: prompt[iid]), manifest, full_plan="https://github.com/a/b/actions/runs/9")
    assert len(md) <= MARKDOWN_LIMIT < GITHUB_COMMENT_LIMIT
    parse(md)
    assert "| failed before | 3,000 |" in md and "| input changed | 6,000 |" in md and "| new | 3,000 |" in md
    shown = md.count("<summary>input changed: <code>")
    assert 10 < shown < 6_000
    assert "<summary>failed before: 3,000 jobs, no field</summary>" in md  # one block: the same (no) diff
    left = re.search(r"\*\*Not shown here\*\* \(the comment's limit\): (.*)\. See \[the full plan\]"
                     r"\(https://github.com/a/b/actions/runs/9\)\.", md)
    assert left, md[-600:]
    counts = dict((label, int(n.replace(",", ""))) for n, label in re.findall(r"([\d,]+) ([a-z ]+)", left.group(1)))
    assert counts == {"input changed": 6_000 - shown, "new": 3_000}  # every job is either shown or counted
    assert md.rstrip().endswith("</details>")
    # long values are cut, and say how long they were
    assert re.search(r'\+ prompt: "scene \d+ x+… \(3\d\d characters\)', md)


def test_the_largest_diffs_are_summarised():
    wide = {f"field{k}": "v" * 150 for k in range(30)}
    md = render(fake_plan(["big"], body=lambda iid: wide), {"jobs": {"big": entry({k: "w" for k in wide})}})
    diff = md.split("```diff\n")[1].split("```")[0]
    assert "~ field0: 3 characters -> 152 characters" in diff and "(values too long to show here)" in diff
    assert "v" * 150 not in diff


def test_100000_job_plan_is_cut_below_the_comment_limit_and_says_how_many_more():
    ids = [f"stills[a=a{i // 1000},b=b{i % 1000}]" for i in range(100_000)]
    md = render(fake_plan(ids, budget=1000), {"jobs": {i: entry(BODY, status="failed") for i in ids[:50_000]}})
    assert len(md) <= MARKDOWN_LIMIT < GITHUB_COMMENT_LIMIT
    assert "100,000 added" not in md and "50,000 added, 50,000 changed, 0 removed, 0 reused" in md
    assert "**5,000,000 credits** for 100,000 job(s) to run" in md
    assert "<summary>failed before: 50,000 jobs, no field</summary>" in md
    # the part a reviewer needs comes first and is whole
    assert "> [!WARNING]\n> over budget: the plan may spend up to 5,000,000 credits" in md
    assert md.rstrip().endswith("</details>")
    parse(md)


def test_show_inputs_adds_the_bodies_of_new_jobs():
    md = render(fake_plan(["stills[city=lisbon]"]), bodies=True)
    _, fences = parse(md)
    assert "<summary>new: <code>stills[city=lisbon]</code> samsar/image/enhance</summary>" in md
    assert [json.loads(f.content) for f in fences if f.info == "json"] == [BODY]


def test_changes_against_a_manifest_are_counted_by_kind():
    ids = [f"teaser[n={i}]" for i in range(6)]
    manifest = {"jobs": {"teaser[n=0]": {}, "teaser[n=1]": {}, "teaser[n=2]": {"status": "completed"}, "gone[n=9]": {}}}
    plan = fake_plan(ids, reuse={"teaser[n=0]", "teaser[n=1]"})
    md = render(plan, manifest)
    assert "**200 credits** for 4 job(s) to run; 2 reused from the manifest." in md
    assert "Changes against the manifest: 3 added, 1 changed, 1 removed, 2 reused" in md
    assert "<summary>no recorded request: <code>teaser[n=2]</code>, no field</summary>" in md
    assert "- removed from the campaign (1): `gone[n=9]`" in md
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
    manifest = {"jobs": {i: entry({"prompt": "old"}) for i in ids[:10]}}
    md = render(fake_plan(ids, budget=1, unknown=set(ids[10:])), manifest)
    assert len(md) <= MARKDOWN_LIMIT
    assert "Changes against the manifest: 10 added, 10 changed" in md
    assert "[!WARNING]" in md and "[!NOTE]" in md
    parse(md)


def test_ids_with_pipes_backticks_html_and_newlines_keep_the_comment_whole():
    ids = ["row[title=a|b]", "row[title=`x`]", "row[title=two\nlines]", "row[title=</details><b>x</b>]"]
    manifest = {"jobs": {i: entry({"v": "```\n</details>"}) for i in ids}}
    md = render(fake_plan(ids, name="c|d", body=lambda iid: {"v": "````" if "details" not in iid else "y"}), manifest)
    rows = table_rows(md)
    assert len(rows) == 1 + 4  # one endpoint row, four costliest
    assert all(cells(r) == (3 if "enhance" in r else 2) for r in rows), rows
    assert "two lines" in md and "two\nlines" not in md
    assert "``row[title=`x`]``" in md
    assert "<code>row[title=&lt;/details&gt;&lt;b&gt;x&lt;/b&gt;]</code>" in md  # its own group: named in HTML
    assert "`row[title=two lines]`" in md  # the others share one block: named in code spans
    _, fences = parse(md)
    assert ['- v: "```\\n</details>"\n+ v: "````"', '- v: "```\\n</details>"\n+ v: "y"'] == sorted(
        f.content.strip() for f in fences if f.info == "diff")


def test_the_marker_names_the_campaign_and_cannot_end_early():
    assert marker("spring-launch") == "<!-- renderer-plan: spring-launch -->"
    odd = marker("a-->b--c <x>")
    assert odd.startswith("<!-- renderer-plan: ") and odd.count("-->") == 1 and "--" not in odd[4:-3]
    assert render(fake_plan(["s"], name="a-->b")).split("\n", 1)[0] == marker("a-->b")


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
    r = cli(["plan", "--markdown", str(campaign), "--full-plan-url", "https://ci.example/runs/1"],
            env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert r.code == 0, r.err
    assert len(r.out) < GITHUB_COMMENT_LIMIT
    assert "**5,000,000 credits** for 100,000 job(s) to run" in r.out
    assert "- new: `stills` ×100,000: `stills[a=a0,b=b0]`" in r.out and "and 99,992 more" in r.out
    assert "Every job with its request body: [the full plan](https://ci.example/runs/1)." in r.out
    # the step summary gets the same Markdown
    assert summary.read_text("utf-8") == r.out + "\n"


# -- Mermaid, parsed by Mermaid itself -------------------------------------------------------

MERMAID, JSDOM = "12.3.0", "29.1.1"
PARSE = r"""
const { JSDOM } = await import(process.env.JSDOM_MODULE);
const dom = new JSDOM('<!DOCTYPE html><body></body>');
globalThis.window = dom.window; globalThis.document = dom.window.document;
const { default: mermaid } = await import(process.env.MERMAID_MODULE);
const out = [];
for (const text of JSON.parse(process.env.DIAGRAMS)) {
  try { const r = await mermaid.parse(text); out.push({ ok: true, type: r.diagramType }); }
  catch (e) { out.push({ ok: false, error: String(e.message || e).slice(0, 300) }); }
}
console.log(JSON.stringify(out));
"""


def _mermaid_modules() -> tuple[Path, Path]:
    """mermaid and jsdom (a DOM for mermaid's sanitiser), installed once into a cache from the npm registry."""
    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("node and npm are needed to parse Mermaid with Mermaid's own parser")
    cache = Path(tempfile.gettempdir()) / "renderer-mermaid-npm" / f"mermaid-{MERMAID}-jsdom-{JSDOM}"
    mermaid = cache / "node_modules" / "mermaid" / "dist" / "mermaid.core.mjs"
    jsdom = cache / "node_modules" / "jsdom" / "lib" / "api.js"
    if not (mermaid.exists() and jsdom.exists()):
        cache.mkdir(parents=True, exist_ok=True)
        try:
            done = subprocess.run(["npm", "install", f"mermaid@{MERMAID}", f"jsdom@{JSDOM}", "--no-audit", "--no-fund",
                                   "--no-save", "--prefix", str(cache)], capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            pytest.skip("npm install mermaid timed out")
        if done.returncode != 0:
            pytest.skip(f"npm install mermaid failed: {done.stderr.strip()[-300:]}")
    return mermaid, jsdom


def mermaid_parse(diagrams: list[str]) -> list[dict]:
    mermaid, jsdom = _mermaid_modules()
    env = {**os.environ, "MERMAID_MODULE": mermaid.as_uri(), "JSDOM_MODULE": jsdom.as_uri(),
           "DIAGRAMS": json.dumps(diagrams)}
    done = subprocess.run(["node", "--input-type=module", "-e", PARSE], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.node
def test_mermaid_parses():
    """Every graph the comment draws (per instance, per job, hostile labels) is one Mermaid accepts;
    and the check can fail: a broken diagram is refused."""
    small = fake_plan([f"stills[city={c}]" for c in ("lisbon", "<b>tokyo</b>", 'a"b#c`d')])
    per_job = fake_plan([f"{j}[n={i}]" for j in ("stills", "teaser") for i in range(40)])
    diagrams = []
    for md in (render(small), render(per_job), (ROOT / "README.md").read_text("utf-8")):
        _, fences = parse(md)
        diagrams += [f.content for f in fences if f.info == "mermaid"]
    assert len(diagrams) >= 2
    results = mermaid_parse(diagrams + ["graph LR\n  n0[\"a\" --> n1\n"])
    assert [r["ok"] for r in results] == [True] * len(diagrams) + [False], results
    assert {r["type"] for r in results[:-1]} == {"flowchart-v2"}
