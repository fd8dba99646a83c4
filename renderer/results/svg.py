"""Inline SVG for the report: the job DAG (layered layout) and the run's timeline.

Every piece of text is a job name, an instance id or an error: user or API text,
escaped here. Nothing refers to anything outside the SVG but ``#job-N`` anchors.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from renderer.results.graph import Graph, layered

STATUS_COLOURS = {
    "completed": "#2e7d32", "failed": "#c62828", "cancelled": "#757575", "pending": "#ef8f00",
    "not_submitted": "#546e7a", "unknown": "#6a1b9a",
}
NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 190, 30, 70, 14, 10
MAX_DRAWN = 400  # instances drawn one by one; above it, one box per job


def _short(text: str, n: int = 26) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def dag_svg(graph: Graph, status: Mapping[str, str], anchors: Mapping[str, str]) -> str:
    """The DAG, upstreams on the left; boxes coloured by status, linked to their cards."""
    counts: Mapping[str, int] = {}
    if len(graph.nodes) > MAX_DRAWN:
        by_job, counts = graph.by_job()
        worst = {j: "completed" for j in by_job.nodes}
        for n in graph.nodes:
            if status.get(n) != "completed":
                worst[n.split("[", 1)[0]] = status.get(n, "not_submitted")
        graph, status, anchors = by_job, worst, {}
    layout = layered(graph)
    width = PAD * 2 + max(layout.layers, 1) * (NODE_W + GAP_X) - GAP_X
    height = PAD * 2 + max(layout.rows, 1) * (NODE_H + GAP_Y) - GAP_Y

    def at(n: str) -> tuple[int, int]:
        layer, row = layout.positions[n]
        return PAD + layer * (NODE_W + GAP_X), PAD + row * (NODE_H + GAP_Y)

    parts = [(f'<svg id="dag" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
              f'viewBox="0 0 {width} {height}" role="img" aria-label="job graph">')]
    for a, b in graph.edges:
        (x1, y1), (x2, y2) = at(a), at(b)
        x1, y1, y2 = x1 + NODE_W, y1 + NODE_H // 2, y2 + NODE_H // 2
        mid = (x1 + x2) // 2
        parts.append(f'<path class="edge" d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" />')
    for n in graph.nodes:
        x, y = at(n)
        st = status.get(n, "not_submitted")
        label = f"{n} ×{counts[n]}" if counts else n
        box = (f'<g class="node" data-status="{escape(st)}"><title>{escape(label)}: {escape(st)}</title>'
               f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="5" '
               f'fill="{STATUS_COLOURS.get(st, "#546e7a")}" />'
               f'<text x="{x + 8}" y="{y + 19}">{escape(_short(label))}</text></g>')
        anchor = anchors.get(n)
        parts.append(f'<a href="#{escape(anchor)}">{box}</a>' if anchor else box)
    parts.append("</svg>")
    return "\n".join(parts)


def timeline_svg(spans: list[tuple[str, float, float, str]], anchors: Mapping[str, str], width: int = 900) -> str:
    """One bar per job from submitted to finished (seconds from the first submission)."""
    if not spans:
        return "<p>No job has both a submission and a finish time yet.</p>"
    start = min(s for _, s, _, _ in spans)
    end = max(e for _, _, e, _ in spans)
    total = max(end - start, 1e-9)
    label_w, bar_h = 260, 16
    plot = width - label_w - PAD * 2
    height = PAD * 2 + len(spans) * (bar_h + 4) + 16
    parts = [(f'<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
              f'viewBox="0 0 {width} {height}" role="img" aria-label="timeline">')]
    for i, (iid, s, e, st) in enumerate(spans):
        y = PAD + i * (bar_h + 4)
        x = label_w + PAD + (s - start) / total * plot
        w = max((e - s) / total * plot, 2)
        tip = f"{iid}: {st}, {e - s:.1f} s (from +{s - start:.1f} s)"
        parts.append(f'<a href="#{escape(anchors.get(iid, ""))}"><g class="span"><title>{escape(tip)}</title>'
                     f'<text x="{PAD}" y="{y + 12}">{escape(_short(iid, 40))}</text>'
                     f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="3" '
                     f'fill="{STATUS_COLOURS.get(st, "#546e7a")}" /></g></a>')
    y = PAD + len(spans) * (bar_h + 4) + 12
    parts.append(f'<text x="{label_w + PAD}" y="{y}">0 s</text>'
                 f'<text x="{width - PAD}" y="{y}" text-anchor="end">{total:.1f} s</text></svg>')
    return "\n".join(parts)
