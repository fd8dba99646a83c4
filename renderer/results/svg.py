"""Inline SVG for the report: the job DAG (layered layout) and the run's timeline.

Two scales. Up to a few dozen instances each instance is a box (coloured by its
status) and a timeline bar. Above that, each *job* is one box with its instance
count and a status bar (completed / failed / pending ... as shares of its width),
edges run between jobs, and the timeline has one row per job: a 302-job run drew
an 8,806 px graph and a 6,076 px timeline one row per instance.

Every piece of text is a job name, an instance id or an error: user or API text,
escaped here. Nothing refers to anything outside the SVG but ``#anchor`` links.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

from renderer.results.graph import Graph, layered
from renderer.vocabulary import JobStatus

STATUS_COLOURS: dict[str, str] = {
    JobStatus.COMPLETED: "#2e7d32", JobStatus.FAILED: "#c62828", JobStatus.CANCELLED: "#757575",
    JobStatus.PENDING: "#ef8f00", JobStatus.NOT_SUBMITTED: "#546e7a", JobStatus.UNKNOWN: "#6a1b9a",
}
# the order of a status bar's segments and of a section's groups: what needs a look first
STATUS_ORDER = (JobStatus.FAILED, JobStatus.UNKNOWN, JobStatus.CANCELLED, JobStatus.PENDING, JobStatus.NOT_SUBMITTED,
                JobStatus.COMPLETED)
NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 190, 30, 70, 14, 10
JOB_W, JOB_H, BAR_H = 360, 48, 8  # a job's box: label, counts, status bar
MAX_NODE_W, CHAR_W = 380, 7  # a box widens to its longest label (12px text), up to this


def colour(status: str) -> str:
    return STATUS_COLOURS.get(status, "#546e7a")


def _short(text: str, n: int = 26) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def counts_text(counts: Mapping[str, int]) -> str:
    """``failed 3 · completed 297``: every status present, in STATUS_ORDER."""
    return " · ".join(f"{st} {counts[st]:,}" for st in _ordered(counts))


def _ordered(counts: Mapping[str, int]) -> list[str]:
    known = [st for st in STATUS_ORDER if counts.get(st)]
    return known + sorted(st for st in counts if st not in STATUS_ORDER and counts[st])


def status_bar(x: float, y: float, width: float, height: float, counts: Mapping[str, int]) -> str:
    """Segments as wide as each status's share, failures first (a 1 px sliver at least)."""
    total = sum(counts.values()) or 1
    parts, at = [], x
    order = _ordered(counts)
    for n, st in enumerate(order):
        w = width - (at - x) if n == len(order) - 1 else max(width * counts[st] / total, 1.0)
        parts.append(f'<rect x="{at:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{height}" fill="{colour(st)}" />')
        at += w
    return "".join(parts)


def _svg_open(name: str, label: str, width: int, height: int) -> str:
    return (f'<svg id="{name}" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{label}">')


def _edges(graph: Graph, at: Mapping[str, tuple[int, int]], node_w: int, node_h: int) -> list[str]:
    out = []
    for a, b in graph.edges:
        (x1, y1), (x2, y2) = at[a], at[b]
        x1, y1, y2 = x1 + node_w, y1 + node_h // 2, y2 + node_h // 2
        mid = (x1 + x2) // 2
        out.append(f'<path class="edge" d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" />')
    return out


def _placed(graph: Graph, node_w: int, node_h: int) -> tuple[dict[str, tuple[int, int]], int, int]:
    layout = layered(graph)
    at = {n: (PAD + layer * (node_w + GAP_X), PAD + row * (node_h + GAP_Y))
          for n, (layer, row) in layout.positions.items()}
    width = PAD * 2 + max(layout.layers, 1) * (node_w + GAP_X) - GAP_X
    height = PAD * 2 + max(layout.rows, 1) * (node_h + GAP_Y) - GAP_Y
    return at, width, height


def _graph_svg(label: str, graph: Graph, node_w: int, node_h: int, anchors: Mapping[str, str],
               box: Callable[[str, int, int], str]) -> str:
    """The layered graph: edges, then each node's ``box(node, x, y)``, linked to its anchor."""
    at, width, height = _placed(graph, node_w, node_h)
    parts = [_svg_open("dag", label, width, height), *_edges(graph, at, node_w, node_h)]
    for n in graph.nodes:
        drawn = box(n, *at[n])
        anchor = anchors.get(n)
        parts.append(f'<a href="#{escape(anchor)}">{drawn}</a>' if anchor else drawn)
    parts.append("</svg>")
    return "\n".join(parts)


def dag_svg(graph: Graph, status: Mapping[str, str], anchors: Mapping[str, str]) -> str:
    """One box per instance, upstreams on the left, coloured by status, linked to its card."""
    longest = max((len(t) for t in graph.nodes), default=0)
    node_w = min(max(NODE_W, 16 + CHAR_W * longest), MAX_NODE_W)
    fits = (node_w - 16) // CHAR_W

    def box(n: str, x: int, y: int) -> str:
        st = status.get(n, JobStatus.NOT_SUBMITTED)
        return (f'<g class="node" data-status="{escape(st)}"><title>{escape(n)}: {escape(st)}</title>'
                f'<rect x="{x}" y="{y}" width="{node_w}" height="{NODE_H}" rx="5" fill="{colour(st)}" />'
                f'<text x="{x + 8}" y="{y + 19}">{escape(_short(n, fits))}</text></g>')

    return _graph_svg("job graph", graph, node_w, NODE_H, anchors, box)


def jobs_dag_svg(graph: Graph, counts: Mapping[str, Mapping[str, int]], anchors: Mapping[str, str]) -> str:
    """One box per job: ``name ×N``, its counts per status and a status bar; edges between jobs."""
    fits = (JOB_W - 16) // CHAR_W

    def box(job: str, x: int, y: int) -> str:
        c = counts.get(job, {})
        label = f"{job} ×{sum(c.values()):,}"
        worst = next(iter(_ordered(c)), JobStatus.NOT_SUBMITTED)
        return (f'<g class="job" data-status="{escape(worst)}"><title>{escape(label)}: {escape(counts_text(c))}</title>'
                f'<rect x="{x}" y="{y}" width="{JOB_W}" height="{JOB_H}" rx="5" class="jobbox" />'
                f'<text x="{x + 8}" y="{y + 16}" class="name">{escape(_short(label, fits))}</text>'
                f'<text x="{x + 8}" y="{y + 31}" class="counts">{escape(_short(counts_text(c), (JOB_W - 16) // 6))}</text>'
                f"{status_bar(x + 6, y + JOB_H - BAR_H - 5, JOB_W - 12, BAR_H, c)}</g>")

    return _graph_svg("job graph, one box per job", graph, JOB_W, JOB_H, anchors, box)


@dataclass(frozen=True, slots=True)
class Span:
    """A timeline row: an instance (one bar), or a job (its instances' first submission to last finish)."""

    label: str
    start: float  # seconds since the epoch
    end: float
    status: str  # an instance's status, or the job's worst
    anchor: str = ""
    counts: Mapping[str, int] | None = None  # a job's row: its instances per status (with times)
    median: float | None = None  # a job's row: the median seconds one instance took


def timeline_svg(spans: Sequence[Span], width: int = 1100) -> str:
    """One bar per row from submitted to finished (seconds from the first submission)."""
    if not spans:
        return "<p>No job has both a submission and a finish time yet.</p>"
    start = min(s.start for s in spans)
    total = max(max(s.end for s in spans) - start, 1e-9)
    label_w, bar_h = 300, 16
    plot = width - label_w - PAD * 2
    height = PAD * 2 + len(spans) * (bar_h + 4) + 16
    parts = [_svg_open("timeline", "timeline", width, height)]
    for i, s in enumerate(spans):
        y = PAD + i * (bar_h + 4)
        x = label_w + PAD + (s.start - start) / total * plot
        w = max((s.end - s.start) / total * plot, 2)
        if s.counts is None:
            tip = f"{s.label}: {s.status}, {s.end - s.start:.1f} s (from +{s.start - start:.1f} s)"
            bar = f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="3" fill="{colour(s.status)}" />'
        else:
            took = f", median {s.median:.1f} s each" if s.median is not None else ""
            tip = (f"{s.label}: {counts_text(s.counts)}; +{s.start - start:.1f} s to +{s.end - start:.1f} s{took}")
            bar = status_bar(x, y, w, bar_h, s.counts)
        body = (f'<g class="span"><title>{escape(tip)}</title>'
                f'<text x="{PAD}" y="{y + 12}">{escape(_short(s.label, 42))}</text>{bar}</g>')
        parts.append(f'<a href="#{escape(s.anchor)}">{body}</a>' if s.anchor else body)
    y = PAD + len(spans) * (bar_h + 4) + 12
    parts.append(f'<text x="{label_w + PAD}" y="{y}">0 s</text>'
                 f'<text x="{width - PAD}" y="{y}" text-anchor="end">{total:.1f} s</text></svg>')
    return "\n".join(parts)
