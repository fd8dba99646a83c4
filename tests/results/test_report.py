"""`renderer report`: one self-contained page, escaped, checked in a real headless browser."""

from __future__ import annotations

import html
import html.parser
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from exec_helpers import FAST, FILES_ALLOWED, args_for, env_for, make_sandbox, write_campaign

from renderer.cli import main
from renderer.commands.run import run
from renderer.results.html_report import ReportInput, render

CAMPAIGN = """
version: 1
name: report-demo
jobs:
  stills:
    endpoint: samsar/image/enhance
    matrix:
      city: [lisbon, "<b>tokyo</b>"]
    input:
      image_url: "https://cdn.example.com/{{ matrix.city }}.png"
      resolution: 2k
  teaser:
    endpoint: samsar/video/image_list_to_video
    needs: [stills]
    matrix:
      city: [lisbon, "<b>tokyo</b>"]
    estimate: {duration: 10}
    input:
      image_urls: ["{{ needs.stills.result_url }}"]
      video_model: RUNWAYML
      aspect_ratio: "16:9"
"""


class _Page(html.parser.HTMLParser):
    """What a browser would load or run from the page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _built_report(tmp_path: Path, outputs: bool = True) -> tuple[Path, dict]:
    path = write_campaign(tmp_path, CAMPAIGN)
    with make_sandbox(faults={"schedule": {2: "render_failure"}}) as sb:
        kw = {"outputs": str(tmp_path / "media")} if outputs else {}
        run(**args_for(path, **kw), out=io.StringIO(), env={**env_for(sb), **FILES_ALLOWED}, exec_settings=FAST)
    page = tmp_path / "site" / "report.html"
    out = io.StringIO()
    code = main(["report", str(path), "--output", str(page), "--state-dir", str(tmp_path / ".renderer")],
                out, io.StringIO(), {})
    assert code == 0 and out.getvalue() == f"report: {page} (4 job(s))\n"
    return page, {}


def test_the_page_is_self_contained_and_escaped(tmp_path):
    page, _ = _built_report(tmp_path)
    text = page.read_text("utf-8")
    parsed = _Page()
    parsed.feed(text)
    tags = [t for t, _ in parsed.tags]
    assert "script" not in tags and "link" not in tags and "iframe" not in tags and "b" not in tags
    assert "&lt;b&gt;tokyo&lt;/b&gt;" in text
    for _tag, attrs in parsed.tags:  # nothing is loaded from elsewhere
        src = attrs.get("src")
        if src is not None:
            assert src.startswith("data:image/png;base64,") or not re.match(r"[a-z]+:", src), src
            if not src.startswith("data:"):
                assert (page.parent / src).is_file()
    assert "url(" not in text and "@import" not in text
    cards = [a for t, a in parsed.tags if t == "article"]
    assert sorted(a["data-instance"] for a in cards) == sorted(
        ["stills[city=lisbon]", "stills[city=<b>tokyo</b>]", "teaser[city=lisbon]", "teaser[city=<b>tokyo</b>]"])
    assert sorted(a["data-status"] for a in cards) == ["completed", "completed", "failed", "not_submitted"]
    assert sum(1 for t, a in parsed.tags if t == "g" and a.get("class") == "node") == 4
    assert sum(1 for t, _ in parsed.tags if t == "video") == 1
    assert sum(1 for t, a in parsed.tags if t == "img") == 1
    failed = next(a["data-instance"] for a in cards if a["data-status"] == "failed")
    assert 'id="failures"' in text and f"upstream {html.escape(failed)} is failed" in text


def test_without_downloads_results_are_links_never_loaded(tmp_path):
    page, _ = _built_report(tmp_path, outputs=False)
    parsed = _Page()
    parsed.feed(page.read_text("utf-8"))
    assert not [a for t, a in parsed.tags if t in ("img", "video")]
    links = [a["href"] for t, a in parsed.tags if t == "a" and a.get("href", "").startswith("http")]
    assert len(links) == 2 and all("/files/" in h for h in links)


def test_hostile_values_stay_text():
    jobs = {
        "j": {"status": "failed", "error": '<img src=x onerror="alert(1)">', "result_urls": ["javascript:alert(1)"],
              "files": [{"path": '"><script>x</script>', "url": "javascript:alert(2)", "media_type": "image/png"}],
              "submitted_at": 5, "finished_at": ["x"]},
    }
    text = render(ReportInput("c</title><script>", jobs, {"j": ("missing",)}, Path("/nonexistent"), Path("/tmp"), {}))
    parsed = _Page()
    parsed.feed(text)
    assert [t for t, _ in parsed.tags if t in ("script", "img")] == []
    assert not [a for t, a in parsed.tags if t == "a" and "javascript" in (a.get("href") or "")]
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in text


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _browse(browser: str, page: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
           "--enable-logging=stderr", "--v=0", f"--user-data-dir={page.parent / '.chromium'}", *extra,
           page.as_uri()]
    return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)


def _console(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.mark.skipif(_chromium() is None, reason="no Chromium installed (apt-get install chromium); .ci/run installs it")
def test_the_report_in_a_real_headless_browser(tmp_path):
    browser = _chromium()
    assert browser is not None
    page, _ = _built_report(tmp_path)
    shot = tmp_path / "report.png"
    dom = _browse(browser, page, "--dump-dom", "--virtual-time-budget=2000")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert _console(dom.stderr) == []  # no CSP violation, no error of any kind
    parsed = _Page()
    parsed.feed(dom.stdout)
    assert len([a for t, a in parsed.tags if t == "article" and a.get("class") == "card"]) == 4
    assert ("svg", {"id": "dag"}) in [(t, {"id": a.get("id")}) for t, a in parsed.tags if t == "svg" and a.get("id") == "dag"]
    assert sum(1 for t, a in parsed.tags if t == "g" and a.get("class") == "node") == 4
    snap = _browse(browser, page, f"--screenshot={shot}", "--window-size=1280,1600")
    assert snap.returncode == 0, snap.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    assert _console(snap.stderr) == []

    # the check above can fail: a page that breaks the policy is reported on the console
    bad = page.with_name("bad.html")
    bad.write_text(page.read_text("utf-8").replace("</body>", '<img src="https://example.invalid/x.png"></body>'))
    assert any("Content Security Policy" in line for line in _console(_browse(browser, bad, "--dump-dom").stderr))


def test_only_downloaded_files_are_embedded(tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not what was downloaded")
    jobs = {"j": {"status": "completed", "files": [
        {"path": "secret.png", "url": "https://cdn/x.png", "media_type": "image/png", "sha256": "0" * 64}]}}
    text = render(ReportInput("c", jobs, {}, tmp_path, tmp_path, {}))
    assert "data:image" not in text and "differs from what was downloaded" in text


def test_the_journal_tells_what_the_manifest_does_not_hold_yet(tmp_path):
    path = write_campaign(tmp_path, CAMPAIGN)
    with make_sandbox() as sb:
        run(**args_for(path), out=io.StringIO(), env=env_for(sb), exec_settings=FAST)
    manifest = path.with_name("camp.manifest.json")
    manifest.write_text('{"campaign": "report-demo", "jobs": {}}')  # as if the run had died before writing it
    page = tmp_path / "r.html"
    assert main(["report", str(path), "-o", str(page), "--state-dir", str(tmp_path / ".renderer")],
                io.StringIO(), io.StringIO(), {}) == 0
    parsed = _Page()
    parsed.feed(page.read_text("utf-8"))
    assert [a["data-status"] for t, a in parsed.tags if t == "article"] == ["completed"] * 4


def test_a_huge_graph_is_drawn_one_box_per_job():
    from renderer.results.graph import Graph
    from renderer.results.svg import dag_svg

    needs = {f"a[n={i}]": () for i in range(300)} | {f"b[n={i}]": (f"a[n={i}]",) for i in range(300)}
    status = dict.fromkeys(needs, "completed") | {"b[n=7]": "failed"}
    svg = dag_svg(Graph.of(needs), status, {})
    assert svg.count('<g class="node"') == 2 and svg.count('class="edge"') == 1
    assert 'data-status="failed"><title>b ×300: failed' in svg


def test_graph_boxes_fit_their_ids():
    from renderer.results.graph import Graph
    from renderer.results.svg import dag_svg

    long_id = "teaser[city=lisbon,language=en]"  # 31 characters: cut to "teaser[city=lisbon,langua…" before
    svg = dag_svg(Graph.of({"stills[city=lisbon]": (), long_id: ("stills[city=lisbon]",)}), {}, {})
    assert f">{long_id}</text>" in svg
    assert 'width="233"' in svg  # 16 + 7 per character: both boxes as wide as the longest label
    huge = "x" * 200  # past the widest box: cut, whole on hover
    svg = dag_svg(Graph.of({huge: ()}), {}, {})
    assert 'width="380"' in svg and f"<title>{huge}: not_submitted</title>" in svg and ">" + "x" * 51 + "…</text>" in svg


def test_card_facts_read_on_one_line_each():
    jobs = {"teaser[city=lisbon]": {
        "status": "completed", "endpoint": "samsar/video/image_list_to_video", "request_id": "vid_img_4074e48602dc",
        "submitted_at": "2026-11-30T15:04:36.261Z", "finished_at": "2026-11-30T17:04:37+02:00",
        "credits": {"estimated": {"min": 900, "max": 900}, "charged": 150}}}
    text = render(ReportInput("c", jobs, {}, Path("/nonexistent"), Path("/tmp"), {}))
    assert ('<dt>submitted</dt><dd><time datetime="2026-11-30T15:04:36.261Z" title="2026-11-30T15:04:36.261Z">'
            "2026-11-30 15:04:36 UTC</time></dd>") in text
    assert ">2026-11-30 15:04:37 UTC</time>" in text  # another offset, said in UTC
    assert "<dd>samsar/<wbr>video/<wbr>image_<wbr>list_<wbr>to_<wbr>video</dd>" in text  # breaks between words only
    assert "<dt>estimated</dt><dd>900</dd><dt>charged</dt><dd>150</dd>" in text
    assert "dd time{white-space:nowrap}" in text
