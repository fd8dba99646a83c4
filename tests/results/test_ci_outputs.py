"""CI-native results: JUnit XML, the Mermaid DAG in plans and step summaries, `renderer results`."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from helpers.runs import FAST, FILES_ALLOWED, args_for, env_for, make_sandbox, write_campaign
from helpers.runs import run

from renderer.cli import main
from renderer.results.graph import Graph, layered, mermaid
from renderer.results.junit import junit_xml

CAMPAIGN = """
version: 1
name: ci
jobs:
  stills:
    endpoint: samsar/image/enhance
    matrix:
      city: [lisbon, tokyo, lima]
    input:
      image_url: "https://cdn.example.com/{{ matrix.city }}.png"
      resolution: 2k
  teaser:
    endpoint: samsar/video/image_list_to_video
    needs: [stills]
    matrix:
      city: [lisbon, tokyo, lima]
    estimate: {duration: 10}
    input:
      image_urls: ["{{ needs.stills.result_url }}"]
      video_model: RUNWAYML
      aspect_ratio: "16:9"
"""


def parse_mermaid(markdown: str) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """A strict reading of the block we write: `graph LR`, node lines, edge lines, nothing else."""
    m = re.search(r"```mermaid\n(.*?)\n```", markdown, re.DOTALL)
    assert m, markdown
    lines = m.group(1).split("\n")
    assert lines[0] == "graph LR"
    nodes: dict[str, str] = {}
    edges: list[tuple[str, str]] = []
    for line in lines[1:]:
        if node := re.fullmatch(r'  (n\d+)\["([^"]*)"\]', line):
            assert node.group(1) not in nodes
            label = re.sub(r"#(\d+);", lambda x: chr(int(x.group(1))), node.group(2))
            nodes[node.group(1)] = label
        elif edge := re.fullmatch(r"  (n\d+) --> (n\d+)", line):
            assert edge.group(1) in nodes and edge.group(2) in nodes
            edges.append((nodes[edge.group(1)], nodes[edge.group(2)]))
        else:
            raise AssertionError(f"not a node or an edge: {line!r}")
    return nodes, edges


def _run_with_a_failure(tmp_path: Path, **kw):
    path = write_campaign(tmp_path, CAMPAIGN)
    summary = tmp_path / "summary.md"
    summary.touch()
    with make_sandbox(faults={"schedule": {2: "render_failure"}}) as sb:
        env = {**env_for(sb), **FILES_ALLOWED, "GITHUB_STEP_SUMMARY": str(summary)}
        code = run(**args_for(path, junit=str(tmp_path / "out" / "junit.xml"), **kw), out=io.StringIO(), env=env,
                   exec_settings=FAST)
    data = json.loads(path.with_name("camp.manifest.json").read_text("utf-8"))
    return code, data, summary.read_text("utf-8"), path


def test_junit_has_one_case_per_job_and_a_failure_for_each_job_not_completed(tmp_path):
    code, data, summary, _ = _run_with_a_failure(tmp_path)
    assert code == 1
    statuses = {iid: e["status"] for iid, e in data["jobs"].items()}
    assert sorted(statuses.values()).count("completed") == 4  # one still failed, its teaser not submitted
    root = ET.parse(tmp_path / "out" / "junit.xml").getroot()
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert sorted(c.get("name") for c in cases) == sorted(data["jobs"])
    assert suite.get("tests") == "6" and suite.get("failures") == "2" and root.get("failures") == "2"
    failed = {c.get("name"): c.find("failure") for c in cases if c.find("failure") is not None}
    assert set(failed) == {iid for iid, s in statuses.items() if s != "completed"}
    for iid, failure in failed.items():
        assert failure.get("type") == statuses[iid]
        assert data["jobs"][iid]["error"] in failure.get("message")
    assert {c.get("classname") for c in cases} == {"stills", "teaser"}

    nodes, edges = parse_mermaid(summary)  # the step summary draws the DAG and links results
    assert sorted(nodes.values()) == sorted(data["jobs"])
    assert ("stills[city=lisbon]", "teaser[city=lisbon]") in edges and len(edges) == 3
    assert "**Results**" in summary and "[result](<http://127.0.0.1:" in summary


def test_junit_escapes_what_xml_cannot_hold():
    data = {"campaign": "c<&>", "jobs": {"a[x=\x01]": {"status": "failed", "error": "bad \x00 <b>&", "endpoint": "e"}}}
    root = ET.fromstring(junit_xml(data).split("\n", 1)[1])
    case = root.find("testsuite/testcase")
    assert case.get("name") == "a[x=\\x01]" and case.find("failure").get("message") == "failed: bad \\x00 <b>&"


def test_junit_times_are_wall_times_the_suite_the_runs():
    """Three jobs rendering side by side for 2 s each in a 3.8 s run: the suite took 3.8 s, not 6.
    Without the run's time, the suite spans the first submission to the last final state."""
    jobs = {f"j{i}": {"status": "completed", "elapsed_seconds": 2.0, "submitted_at": f"2026-01-01T00:00:0{i}+00:00",
                      "finished_at": f"2026-01-01T00:00:0{i + 2}+00:00"} for i in range(3)}
    data = {"campaign": "c", "jobs": jobs,
            "credits": {"estimated": {"min": 90, "max": 90}, "charged": 90, "spent": 120}}
    suites = ET.fromstring(junit_xml(data, 3.8).split("\n", 1)[1])
    suite = suites.find("testsuite")
    assert suites.get("time") == suite.get("time") == "3.800"
    assert [c.get("time") for c in suite.iter("testcase")] == ["2.000"] * 3
    assert {p.get("name"): p.get("value") for p in suite.iter("property")} == {
        "jobs": "3/3 done (3 completed)", "estimated for the campaign": "90", "charged": "90", "held": "0",
        "spent in all runs": "120"}
    assert ET.fromstring(junit_xml(data).split("\n", 1)[1]).get("time") == "4.000"  # 00:00:00 to 00:00:04


def test_plan_markdown_draws_the_dag_as_mermaid(tmp_path):
    path = write_campaign(tmp_path, CAMPAIGN.replace("city: [lisbon, tokyo, lima]", 'city: [lisbon, "to\\"k#yo<"]'))
    out = io.StringIO()
    assert main(["plan", "--markdown", str(path)], out, io.StringIO(), {}) == 0
    nodes, edges = parse_mermaid(out.getvalue())
    assert sorted(nodes.values()) == sorted(["stills[city=lisbon]", 'stills[city=to"k#yo<]',
                                             "teaser[city=lisbon]", 'teaser[city=to"k#yo<]'])
    assert sorted(edges) == [("stills[city=lisbon]", "teaser[city=lisbon]"),
                             ('stills[city=to"k#yo<]', 'teaser[city=to"k#yo<]')]


def test_above_the_cap_one_node_per_job_then_a_summary():
    needs = {f"a[n={i}]": () for i in range(70)} | {f"b[n={i}]": (f"a[n={i}]",) for i in range(70)}
    nodes, edges = parse_mermaid(mermaid(Graph.of(needs)))
    assert nodes == {"n0": "a ×70", "n1": "b ×70"} and edges == [("a ×70", "b ×70")]
    many = {f"j{i}": () for i in range(61)}
    text = mermaid(Graph.of(many))
    assert "```" not in text and "61 job instances in 61 jobs" in text


def test_layered_layout_puts_each_node_right_of_its_deepest_upstream():
    g = Graph.of({"a": (), "b": ("a",), "c": ("a", "b"), "d": ()})
    lay = layered(g)
    assert {n: p[0] for n, p in lay.positions.items()} == {"a": 0, "b": 1, "c": 2, "d": 0}
    assert len(set(lay.positions.values())) == 4 and (lay.layers, lay.rows) == (3, 2)


def test_results_lists_files_or_urls(tmp_path):
    _, data, _, path = _run_with_a_failure(tmp_path, outputs=str(tmp_path / "media"))
    out = io.StringIO()
    assert main(["results", str(path)], out, io.StringIO(), {}) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == len(data["jobs"]) + 1  # one a job, then the figures (renderer.figures)
    assert lines[-1].startswith("5/6 done (4 completed, 1 failed); 1 not submitted; ") and f"spent in all runs {data['credits']['spent']:,}" in lines[-1]
    city = next(iid for iid, e in data["jobs"].items() if iid.startswith("teaser") and e["status"] == "completed")[12:-1]
    done = next(line for line in lines if f"teaser[city={city}]" in line)
    status, iid, shown = done.split()
    assert (status, iid) == ("completed", f"teaser[city={city}]")
    assert Path(shown).resolve() == tmp_path / "media" / "teaser" / f"{city}.mp4"
    failed = [line for line in lines[:-1] if line.split()[0] != "completed"]
    assert len(failed) == 2
    out = io.StringIO()
    assert main(["results", str(path), "--json"], out, io.StringIO(), {}) == 0
    rows = json.loads(out.getvalue())["jobs"]
    still = f"stills[city={city}]"
    assert rows[still]["files"][0]["path"] == f"media/stills/{city}.png"
    assert Path(rows[still]["files"][0]["local"]).resolve() == tmp_path / f"media/stills/{city}.png"
    assert {iid for iid, r in rows.items() if r["status"] != "completed" and r["error"]} == \
        {iid for iid, e in data["jobs"].items() if e["status"] != "completed"}


def test_results_without_a_manifest_is_a_located_error(tmp_path):
    err = io.StringIO()
    assert main(["results", str(tmp_path / "none.yaml")], io.StringIO(), err, {}) == 1
    assert "none.manifest.json" in err.getvalue() and "manifest not found" in err.getvalue()


@pytest.mark.parametrize("flag", ["--junit", "--outputs"])
def test_run_takes_the_new_flags(flag):
    from renderer.cli import build_parser

    args = build_parser().parse_args(["run", "c.yaml", flag, "x"])
    assert getattr(args, flag[2:]) == "x"


def test_a_manifest_with_malformed_files_is_a_located_error(tmp_path):
    path = write_campaign(tmp_path, CAMPAIGN)
    path.with_name("camp.manifest.json").write_text(
        json.dumps({"jobs": {"stills[city=lima]": {"status": "completed", "files": [{"path": 3}]}}}))
    err = io.StringIO()
    assert main(["results", str(path)], io.StringIO(), err, {}) == 1
    assert err.getvalue().startswith(f"{path.with_name('camp.manifest.json')}: manifest: jobs['stills[city=lima]'].files")
