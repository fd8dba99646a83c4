"""One self-contained HTML page of a run: DAG, gallery, credits, timeline, failures.

Nothing is fetched from elsewhere: no script, no font, no stylesheet; images kept
on disk are embedded as ``data:`` URIs, videos play from their downloaded file
(relative to the page); a result that was not downloaded is a link, never loaded.
A Content-Security-Policy says so to the browser too. Every value on the page
(job names, matrix values, URLs, API errors) is escaped.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

from renderer.execute.journal import parse_iso
from renderer.results.graph import Graph
from renderer.results.svg import STATUS_COLOURS, dag_svg, timeline_svg

MAX_INLINE_IMAGE = 4 * 1024 * 1024
MAX_INLINE_TOTAL = 64 * 1024 * 1024
CSP = ("default-src 'none'; img-src data: 'self' file:; media-src 'self' file:; "
       "style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'")


@dataclass(frozen=True, slots=True)
class ReportInput:
    campaign: str
    jobs: Mapping[str, Mapping[str, Any]]  # manifest entries (journal news merged in)
    needs: Mapping[str, Sequence[str]]  # instance -> upstream instances
    manifest_dir: Path  # where the manifest's file paths are relative to
    page_dir: Path  # where the page is written (its links are relative to it)
    credits: Mapping[str, Any]


def render(data: ReportInput) -> str:
    anchors = {iid: f"job-{n}" for n, iid in enumerate(data.jobs)}
    status = {iid: str(e.get("status") or "unknown") for iid, e in data.jobs.items()}
    graph = Graph.of({iid: data.needs.get(iid, ()) for iid in data.jobs})
    budget = [MAX_INLINE_TOTAL]
    cards = "\n".join(_card(iid, e, anchors[iid], data, budget) for iid, e in data.jobs.items())
    title = f"renderer report: {data.campaign}"
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{escape(CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>", f"<style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>", _summary(data, status),
        '<h2>Jobs</h2><div class="scroll">', dag_svg(graph, status, anchors), "</div>",
        "<h2>Timeline</h2>", '<div class="scroll">', timeline_svg(_spans(data.jobs, status), anchors), "</div>",
        _failures(data.jobs, anchors),
        f'<h2>Results</h2><section id="gallery">{cards}</section>',
        "</body></html>", "",
    ])


def _summary(data: ReportInput, status: Mapping[str, str]) -> str:
    counts: dict[str, int] = {}
    for st in status.values():
        counts[st] = counts.get(st, 0) + 1
    badges = " ".join(f'<span class="badge" style="background:{STATUS_COLOURS.get(k, "#546e7a")}">'
                      f"{escape(k)}: {v:,}</span>" for k, v in sorted(counts.items()))
    est = data.credits.get("estimated") or {}
    return (f'<p id="summary">{len(data.jobs):,} job(s) {badges}</p>'
            f'<p>Credits: estimated {escape(_range(est))}; charged {escape(_num(data.credits.get("charged")))}</p>')


def _range(est: Any) -> str:
    if not isinstance(est, Mapping) or est.get("min") is None:
        return "unknown"
    lo, hi = est.get("min"), est.get("max")
    text = _num(lo) if lo == hi else f"{_num(lo)}–{_num(hi)}"
    return text + (" + unknown" if est.get("unknown") else "")


def _num(v: Any) -> str:
    return f"{v:,}" if isinstance(v, (int, float)) and not isinstance(v, bool) else "–"


def _card(iid: str, e: Mapping[str, Any], anchor: str, data: ReportInput, budget: list[int]) -> str:
    st = str(e.get("status") or "unknown")
    raw = e.get("credits")
    credits: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    rows = [("endpoint", _breakable(e.get("endpoint"))), ("estimated", escape(_range(credits.get("estimated")))),
            ("charged", escape(_num(credits.get("charged")))), ("submitted", _when(e.get("submitted_at"))),
            ("finished", _when(e.get("finished_at"))), ("request id", _breakable(e.get("request_id")))]
    facts = "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in rows if v)
    error = f'<p class="error">{escape(str(e["error"]))}</p>' if e.get("error") and st != "completed" else ""
    if e.get("download_error"):
        error += f'<p class="error">download failed: {escape(str(e["download_error"]))}</p>'
    return (f'<article class="card" id="{anchor}" data-instance="{escape(iid)}" data-status="{escape(st)}">'
            f'<h3>{escape(iid)}</h3><span class="badge" style="background:{STATUS_COLOURS.get(st, "#546e7a")}">'
            f"{escape(st)}</span>{_media(e, data, budget)}<dl>{facts}</dl>{error}</article>")


def _breakable(v: Any) -> str:
    """Escaped text that wraps after a `/` or `_` (an endpoint, an id), not in the middle of a word."""
    if v in (None, ""):
        return ""
    text = escape(str(v))
    return text.replace("/", "/<wbr>").replace("_", "_<wbr>")


def _when(v: Any) -> str:
    """A manifest time, readable and on one line: `2026-11-30 15:04:35 UTC`, the full value on hover."""
    if not isinstance(v, str) or not v:
        return ""
    seconds = parse_iso(v)
    shown = v if seconds is None else datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f'<time datetime="{escape(v)}" title="{escape(v)}">{escape(shown)}</time>'


def _media(e: Mapping[str, Any], data: ReportInput, budget: list[int]) -> str:
    shown: list[str] = []
    files = [f for f in e.get("files") or () if isinstance(f, Mapping) and isinstance(f.get("path"), str)]
    kept = {f.get("url") for f in files}
    for f in files:
        shown.append(_file(f, data, budget))
    for url in e.get("result_urls") or ():
        if url not in kept and isinstance(url, str):
            shown.append(f'<p class="url">not downloaded: {_link(url, url)}</p>')
    return f'<div class="media">{"".join(shown)}</div>' if shown else ""


def _file(f: Mapping[str, Any], data: ReportInput, budget: list[int]) -> str:
    kind = str(f.get("media_type") or "")
    path = str(f["path"])
    local = data.manifest_dir / path if "://" not in path else None
    link = _link(str(f.get("url") or ""), path)
    if local is None or not local.is_file():
        return f'<p class="url">{link} (file not found here)</p>'
    rel = escape(Path(os.path.relpath(local, data.page_dir)).as_posix())
    if kind.startswith("image/"):
        size = local.stat().st_size
        if size <= MAX_INLINE_IMAGE and size <= budget[0]:
            content = local.read_bytes()
            if hashlib.sha256(content).hexdigest() != f.get("sha256"):
                # only what was downloaded is embedded: a manifest edited to name another file gets a note
                return f'<p class="url">{link} (the file differs from what was downloaded)</p>'
            budget[0] -= size
            src = f"data:{escape(kind)};base64," + base64.b64encode(content).decode()
        else:
            src = rel
        return f'<img src="{src}" alt="{escape(path)}"><p class="url">{link}</p>'
    if kind.startswith("video/"):
        return (f'<video controls preload="metadata" src="{rel}"></video>'
                f'<p class="url"><a href="{rel}">{escape(path)}</a></p>')
    return f'<p class="url"><a href="{rel}">{escape(path)}</a></p>'


def _link(url: str, text: str) -> str:
    """A link for http(s) URLs only: a `javascript:` or `data:` "result" stays text."""
    if url.lower().startswith(("https://", "http://")):
        return f'<a href="{escape(url)}">{escape(text)}</a>'
    return f"<code>{escape(text)}</code>"


def _spans(jobs: Mapping[str, Mapping[str, Any]], status: Mapping[str, str]) -> list[tuple[str, float, float, str]]:
    out = []
    for iid, e in jobs.items():
        s, f = (parse_iso(v) if isinstance(v, str) else None for v in (e.get("submitted_at"), e.get("finished_at")))
        if s is not None and f is not None and f >= s:
            out.append((iid, s, f, status[iid]))
    return sorted(out, key=lambda t: (t[1], t[0]))


def _failures(jobs: Mapping[str, Mapping[str, Any]], anchors: Mapping[str, str]) -> str:
    bad = [(iid, e) for iid, e in jobs.items() if e.get("status") != "completed" or e.get("download_error")]
    if not bad:
        return '<h2>Failures</h2><p id="failures">Every job completed.</p>'
    rows = "".join(
        f'<tr><td><a href="#{anchors[iid]}">{escape(iid)}</a></td><td>{escape(str(e.get("status")))}</td>'
        f'<td>{escape(str(e.get("error") or e.get("download_error") or ""))}</td></tr>' for iid, e in bad)
    return ('<h2>Failures</h2><table id="failures"><thead><tr><th>job</th><th>status</th><th>why</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>")


_STYLE = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em;color:#1b1b1b;background:#fafafa}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
.scroll{overflow-x:auto;background:#fff;border:1px solid #ddd;border-radius:6px;padding:6px}
.badge{display:inline-block;color:#fff;border-radius:10px;padding:0 8px;font-size:12px}
#dag .edge{fill:none;stroke:#90a4ae;stroke-width:1.5}
#dag text,#timeline text{font:12px system-ui,sans-serif}#dag text{fill:#fff}
#gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(280px,1fr));gap:12px}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px;overflow-wrap:anywhere}
.card h3{font-size:13px;margin:0 0 6px}.card img,.card video{width:100%;display:block;margin-top:6px}
dl{display:grid;grid-template-columns:auto 1fr;gap:2px 8px;font-size:12px}dt{color:#666}dd{margin:0}
dd time{white-space:nowrap}.card dl{overflow-wrap:break-word}
.error{color:#b71c1c;font-size:12px}.url{font-size:12px;color:#555}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left}
"""
