"""One self-contained HTML page of a run: summary, jobs, graph, timeline, failures, gallery.

Nothing is fetched from elsewhere: no script, no font, no stylesheet. Small images
kept on disk are embedded as ``data:`` URIs (each up to ``MAX_INLINE_IMAGE``, all
together up to ``MAX_INLINE_TOTAL``); larger ones, and videos, load from the
downloaded file (relative to the page, lazily), so a 10,000-job page with its
files stays a few MB. A result that was not downloaded is a link, never loaded.
A Content-Security-Policy says so to the browser too. Every value on the page
(job names, matrix values, URLs, API errors) is escaped.

It scales without scripts: above ``PER_JOB_ABOVE`` instances the graph and the
timeline draw one row per job, and the gallery is one collapsed ``<details>``
section per job (failures first, a count per status); below it every section is
open and the graph draws every instance.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

from renderer.execute.records import parse_iso
from renderer import figures as F
from renderer.results.graph import Graph, job_of
from renderer.results.svg import (
    STATUS_COLOURS,
    STATUS_ORDER,
    Span,
    counts_text,
    dag_svg,
    jobs_dag_svg,
    timeline_svg,
)
from renderer.vocabulary import JobStatus

PER_JOB_ABOVE = 40  # instances: above a few dozen, one graph box and timeline row per job
MAX_INLINE_IMAGE = 48 * 1024  # bytes of one image embedded in the page; larger ones are linked
MAX_INLINE_TOTAL = 1024 * 1024  # bytes embedded in all; past it every image is linked
OPEN_GROUPS = (JobStatus.FAILED, JobStatus.UNKNOWN)  # a section's groups shown whatever their size, once it is opened
MAX_FAILURE_ROWS = 100  # rows in the failures table; the gallery's sections hold the rest
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


@dataclass(frozen=True, slots=True)
class _Page:
    """What every part of the page reads: statuses, anchors, instances per job."""

    data: ReportInput
    status: Mapping[str, str]
    anchors: Mapping[str, str]  # instance -> its card's id
    groups: Mapping[str, list[str]]  # job -> its instances, in manifest order
    job_anchors: Mapping[str, str]  # job -> its gallery section's id
    per_job: bool

    def counts(self, job: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for iid in self.groups[job]:
            out[self.status[iid]] = out.get(self.status[iid], 0) + 1
        return out


def render(data: ReportInput) -> str:
    groups: dict[str, list[str]] = {}
    for iid in data.jobs:
        groups.setdefault(job_of(iid), []).append(iid)
    page = _Page(
        data=data,
        status={iid: str(e.get("status") or JobStatus.UNKNOWN) for iid, e in data.jobs.items()},
        anchors={iid: f"i{n}" for n, iid in enumerate(data.jobs)},
        groups=groups,
        job_anchors={job: f"job-{n}" for n, job in enumerate(groups)},
        per_job=len(data.jobs) > PER_JOB_ABOVE,
    )
    title = f"renderer report: {data.campaign}"
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{escape(CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>", f"<style>{_STYLE}</style></head><body><main>",
        f"<h1>{escape(title)}</h1>", _summary(page), _jobs_table(page),
        '<h2>Graph</h2><div class="scroll">', _graph(page), "</div>",
        "<h2>Timeline</h2>", '<div class="scroll">', timeline_svg(_spans(page)), "</div>",
        _failures(page), _gallery(page),
        "</main></body></html>", "",
    ])


def _summary(page: _Page) -> str:
    """Counts and credits, in ``renderer.figures``' words."""
    jobs = F.Jobs.of_manifest({"jobs": page.data.jobs})
    badges = " ".join(f'<span class="badge" data-status="{escape(k)}">{escape(F.word(k))}: {jobs.counts[k]:,}</span>'
                      for k in _in_order(jobs.counts))
    credits = " ".join(f"<tr><th>{escape(label)}</th><td>{escape(figure)}</td></tr>"
                       for label, figure in F.Credits.of_block(page.data.credits).rows())
    return (f'<p id="summary">{escape(jobs.text())} in {len(page.groups):,} group(s) {badges}</p>'
            f'<table id="credits">{credits}</table>')


def _in_order(counts: Mapping[str, int]) -> list[str]:
    return [st for st in STATUS_ORDER if counts.get(st)] + sorted(st for st in counts if st not in STATUS_ORDER)


def _jobs_table(page: _Page) -> str:
    """Every job with its instances per status and its credits, linked to its section: the page's index."""
    shown = _in_order(dict.fromkeys(page.status.values(), 1))  # the statuses this run has
    head = "".join(f"<th>{escape(st)}</th>" for st in shown)
    rows = []
    for job, members in page.groups.items():
        c = page.counts(job)
        charged = sum(_charged(page.data.jobs[i]) for i in members)
        cells = "".join(f"<td>{c[st]:,}</td>" if c.get(st) else "<td></td>" for st in shown)
        rows.append(f'<tr><td><a href="#{page.job_anchors[job]}">{escape(job)}</a></td><td>{len(members):,}</td>'
                    f"{cells}<td>{_num(charged)}</td></tr>")
    return (f'<h2>Jobs</h2><table id="jobs"><thead><tr><th>job</th><th>instances</th>{head}<th>charged</th></tr>'
            f"</thead><tbody>{''.join(rows)}</tbody></table>")


def _charged(e: Mapping[str, Any]) -> float:
    credits = e.get("credits")
    v = credits.get("charged") if isinstance(credits, Mapping) else None
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else 0


def _graph(page: _Page) -> str:
    graph = Graph.of({iid: page.data.needs.get(iid, ()) for iid in page.data.jobs})
    if not page.per_job:
        return dag_svg(graph, page.status, page.anchors)
    by_job, _ = graph.by_job()
    return jobs_dag_svg(by_job, {job: page.counts(job) for job in page.groups}, page.job_anchors)


def _range(est: Any) -> str:
    if not isinstance(est, Mapping) or est.get("min") is None:
        return "unknown"
    lo, hi = est.get("min"), est.get("max")
    text = _num(lo) if lo == hi else f"{_num(lo)}–{_num(hi)}"
    return text + (" + unknown" if est.get("unknown") else "")


def _num(v: Any) -> str:
    return f"{v:,}" if isinstance(v, (int, float)) and not isinstance(v, bool) else "–"


# -- the gallery --------------------------------------------------------------------------


def _gallery(page: _Page) -> str:
    """One section per job; inside it one group per status, failures first, each with its count."""
    sections = []
    media = _Media(page.data)
    for job, members in page.groups.items():
        c = page.counts(job)
        groups = []
        for st in _in_order(c):
            cards = "".join(_card(iid, page, media) for iid in members if page.status[iid] == st)
            # what needs a look is open once its section is: failures always, other unfinished work when short
            is_open = " open" if not page.per_job or st in OPEN_GROUPS or (st != JobStatus.COMPLETED and c[st] <= 24) else ""
            groups.append(f'<details class="group" data-status="{escape(st)}"{is_open}>'
                          f'<summary><span class="badge" data-status="{escape(st)}">{escape(st)}</span> '
                          f"{c[st]:,}</summary><div class=\"cards\">{cards}</div></details>")
        endpoint = next((str(page.data.jobs[i].get("endpoint")) for i in members if page.data.jobs[i].get("endpoint")), "")
        sections.append(
            f'<details class="job" id="{page.job_anchors[job]}"{"" if page.per_job else " open"}>'
            f"<summary><strong>{escape(job)}</strong> ×{len(members):,} <small>{_breakable(endpoint)}</small> "
            f'<span class="counts">{escape(counts_text(c))}</span></summary>{"".join(groups)}</details>')
    return f'<h2>Results</h2><section id="gallery">{"".join(sections)}</section>'


def _card(iid: str, page: _Page, media: _Media) -> str:
    """An instance: its media, credits, times and error. Kept small: 10,000 of them make one page."""
    e = page.data.jobs[iid]
    st = page.status[iid]
    raw = e.get("credits")
    credits: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    charged = _num(credits.get("charged"))
    rows = [("charged", charged) if charged != "–" else ("estimated", escape(_range(credits.get("estimated")))),
            ("submitted", _when(e.get("submitted_at"))), ("took", _took(e)), ("request", _breakable(e.get("request_id")))]
    facts = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows if v)
    error = f'<p class="error">{escape(str(e["error"]))}</p>' if e.get("error") and st != JobStatus.COMPLETED else ""
    if e.get("download_error"):
        error += f'<p class="error">download failed: {escape(str(e["download_error"]))}</p>'
    return (f'<article id="{page.anchors[iid]}" data-status="{escape(st)}"><h3>{escape(iid)}</h3>'
            f"{media.of(e)}{_previews(e)}<dl>{facts}</dl>{error}</article>")


def _previews(e: Mapping[str, Any]) -> str:
    """What a render stopped for approval made so far, as links (the page loads nothing remote)."""
    items = [p for p in e.get("previews") or () if isinstance(p, Mapping) and isinstance(p.get("url"), str)]
    if not items:
        return ""
    rows = []
    for p in items[:MAX_PREVIEWS]:
        when = f" {_seconds(p.get('start'))}–{_seconds(p.get('end'))} s" if p.get("start") is not None else ""
        text = f" {escape(str(p['text']))}" if p.get("text") else ""
        rows.append(f"<li>{escape(str(p.get('kind') or 'preview'))}{when}{text}: {_link(p['url'])}</li>")
    more = f"<li>… {len(items) - MAX_PREVIEWS:,} more in the manifest</li>" if len(items) > MAX_PREVIEWS else ""
    return f'<p>previews, for its approval:</p><ul class="previews">{"".join(rows)}{more}</ul>'


MAX_PREVIEWS = 12


def _seconds(v: Any) -> str:
    return f"{v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else "?"


def _breakable(v: Any) -> str:
    """Escaped text that wraps after a `/` or `_` (an endpoint, an id), not in the middle of a word."""
    if v in (None, ""):
        return ""
    text = escape(str(v))
    return text.replace("/", "/<wbr>").replace("_", "_<wbr>")


def _when(v: Any) -> str:
    """A manifest time, readable and on one line: `2026-11-30 15:04:35 UTC` (as recorded when it is no time)."""
    if not isinstance(v, str) or not v:
        return ""
    seconds = parse_iso(v)
    shown = v if seconds is None else datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f'<span class="t">{escape(shown)}</span>'


def _took(e: Mapping[str, Any]) -> str:
    span = _times(e)
    return f"{span[1] - span[0]:,.1f} s" if span else ""


def _times(e: Mapping[str, Any]) -> tuple[float, float] | None:
    s, f = (parse_iso(v) if isinstance(v, str) else None for v in (e.get("submitted_at"), e.get("finished_at")))
    return (s, f) if s is not None and f is not None and f >= s else None


class _Media:
    """Each card's files: found on disk once (one stat), addressed from the page, embedded within a budget."""

    def __init__(self, data: ReportInput) -> None:
        self.root = data.manifest_dir
        self.page_dir = os.path.abspath(data.page_dir)
        self.budget = MAX_INLINE_TOTAL  # bytes still to embed in the page

    def of(self, e: Mapping[str, Any]) -> str:
        shown: list[str] = []
        files = [f for f in e.get("files") or () if isinstance(f, Mapping) and isinstance(f.get("path"), str)]
        kept = {f.get("url") for f in files}
        thumb = next((f for f in files if e.get("thumbnail_url") and f.get("url") == e.get("thumbnail_url")), None)
        for f in files:
            if f is not thumb:
                shown.append(self._file(f, thumb))
        for url in e.get("result_urls") or ():
            if url not in kept and isinstance(url, str):
                shown.append(f'<p class="url">not downloaded: {_link(url)}</p>')
        return f'<div class="media">{"".join(shown)}</div>' if shown else ""

    def _local(self, f: Mapping[str, Any]) -> tuple[Path, str, int] | None:
        """The downloaded file, its address relative to the page and its size, when it is here."""
        path = str(f["path"])
        if "://" in path:
            return None
        local = self.root / path
        try:
            st = local.stat()
        except (OSError, ValueError):
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        rel = os.path.relpath(os.path.abspath(local), self.page_dir)
        return local, rel.replace(os.sep, "/"), st.st_size

    def _file(self, f: Mapping[str, Any], thumb: Mapping[str, Any] | None) -> str:
        """A downloaded file: its link (text and target: the local file), and its picture or player."""
        kind = str(f.get("media_type") or "")
        found = self._local(f)
        if found is None:  # not here (or in a bucket): the provider's address, as a link that says so
            return f'<p class="url">{_link(str(f.get("url") or ""))} (no copy at {escape(str(f["path"]))})</p>'
        rel = found[1]
        link = f'<p class="url"><a href="{escape(rel)}">{escape(rel)}</a></p>'
        # the provider's thumbnail, when it was downloaded, stands for the file (a video loads nothing then)
        picture = self._picture(thumb, self._local(thumb), rel) if thumb is not None else ""
        if kind.startswith("image/") and not picture:
            picture = self._picture(f, found, rel)
        if picture:
            return f'<a href="{escape(rel)}">{picture}</a>{link}'
        if kind.startswith("video/"):
            return f'<video controls preload="none" src="{escape(rel)}"></video>{link}'
        return link

    def _picture(self, f: Mapping[str, Any], found: tuple[Path, str, int] | None, alt: str) -> str:
        """An image: embedded when small and within the page's budget, else loaded (lazily) from its file."""
        if found is None:
            return ""
        local, rel, size = found
        kind = str(f.get("media_type") or "image/png")
        if size <= MAX_INLINE_IMAGE and size <= self.budget:
            content = local.read_bytes()
            if hashlib.sha256(content).hexdigest() != f.get("sha256"):
                # only what was downloaded is embedded: a manifest edited to name another file gets a note
                return '<p class="error">the file differs from what was downloaded</p>'
            self.budget -= size
            src = f"data:{escape(kind)};base64," + base64.b64encode(content).decode()
        else:
            src = escape(rel)
        return f'<img src="{src}" alt="{escape(alt)}" loading="lazy">'


def _link(url: str) -> str:
    """A link whose text is its target, for http(s) URLs only: a `javascript:` or `data:` "result" stays text."""
    if url.lower().startswith(("https://", "http://")):
        return f'<a href="{escape(url)}">{escape(url)}</a>'
    return f"<code>{escape(url)}</code>"


# -- timeline and failures ----------------------------------------------------------------


def _spans(page: _Page) -> list[Span]:
    times = {iid: t for iid, e in page.data.jobs.items() if (t := _times(e)) is not None}
    if not page.per_job:
        rows = [Span(iid, s, f, page.status[iid], page.anchors[iid]) for iid, (s, f) in times.items()]
        return sorted(rows, key=lambda r: (r.start, r.label))
    out = []
    for job, members in page.groups.items():
        timed = [times[i] for i in members if i in times]
        if not timed:
            continue
        counts: dict[str, int] = {}
        for i in members:
            if i in times:
                counts[page.status[i]] = counts.get(page.status[i], 0) + 1
        out.append(Span(f"{job} ×{len(members):,}", min(s for s, _ in timed), max(f for _, f in timed),
                        _in_order(counts)[0], page.job_anchors[job], counts,
                        statistics.median(f - s for s, f in timed)))
    return sorted(out, key=lambda r: (r.start, r.label))


def _failures(page: _Page) -> str:
    jobs = page.data.jobs
    bad = [iid for iid, e in jobs.items() if page.status[iid] != JobStatus.COMPLETED or e.get("download_error")]
    if not bad:
        return '<h2>Failures</h2><p id="failures">Every job completed.</p>'
    rank: dict[str, int] = {st: n for n, st in enumerate(STATUS_ORDER)}
    bad.sort(key=lambda iid: rank.get(page.status[iid], -1))  # stable: failed first, then in run order
    rows = "".join(
        f'<tr><td><a href="#{page.anchors[iid]}">{escape(iid)}</a></td><td>{escape(page.status[iid])}</td>'
        f'<td>{escape(str(jobs[iid].get("error") or jobs[iid].get("download_error") or ""))}</td></tr>'
        for iid in bad[:MAX_FAILURE_ROWS])
    more = (f'<p>… and {len(bad) - MAX_FAILURE_ROWS:,} more: see each job\'s sections under Results.</p>'
            if len(bad) > MAX_FAILURE_ROWS else "")
    opened = " open" if len(bad) <= 20 else ""
    return (f'<h2>Failures</h2><details class="failures"{opened}><summary>{len(bad):,} job(s) did not complete '
            f"or lost their files</summary>"
            '<table id="failures"><thead><tr><th>job</th><th>status</th><th>why</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>{more}</details>")


_STATUS_CSS = "".join(f'[data-status="{st}"]{{--c:{c}}}' for st, c in STATUS_COLOURS.items())
_STYLE = _STATUS_CSS + """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
main{max-width:1360px;margin:0 auto;padding:1.2em 20px}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
.scroll{overflow:auto;max-height:720px;background:#fff;border:1px solid #ddd;border-radius:6px;padding:6px}
.badge{display:inline-block;color:#fff;border-radius:10px;padding:0 8px;font-size:12px;background:var(--c,#546e7a)}
#dag .edge{fill:none;stroke:#90a4ae;stroke-width:1.5}
#dag text,#timeline text{font:12px system-ui,sans-serif}#dag .node text{fill:#fff}
#dag .jobbox{fill:#fff;stroke:var(--c,#546e7a);stroke-width:2}#dag .counts{fill:#555;font-size:11px}
#dag .name{font-weight:600}
details.job{background:#fff;border:1px solid #ddd;border-radius:6px;margin:8px 0;padding:4px 10px}
details.job>summary{cursor:pointer;padding:4px 0;font-size:14px}details.job>summary small{color:#666}
.counts{color:#555;font-size:12px;margin-left:6px}
details.group{margin:4px 0 8px 12px}details.group>summary{cursor:pointer}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:10px;margin-top:6px}
article{background:#fff;border:1px solid #ddd;border-left:4px solid var(--c,#546e7a);border-radius:6px;
padding:8px;overflow-wrap:anywhere}
article h3{font-size:13px;margin:0 0 6px}article img,article video{width:100%;display:block;margin-top:6px}
article img{max-height:320px;object-fit:contain;background:#eee}
dl{display:grid;grid-template-columns:auto 1fr;gap:2px 8px;font-size:12px}dt{color:#666}dd{margin:0}
dd .t{white-space:nowrap}article dl{overflow-wrap:break-word}
.error{color:#b71c1c;font-size:12px}.url{font-size:12px;color:#555}
table{border-collapse:collapse;background:#fff}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left}
#jobs td:nth-child(n+2){text-align:right}#failures td:last-child{overflow-wrap:anywhere;max-width:720px}
"""
