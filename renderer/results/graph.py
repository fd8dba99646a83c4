"""The job DAG as Mermaid (for Markdown that GitHub renders) and a layered layout (for SVG).

Mermaid is used in pull-request comments and step summaries, which have size caps:
up to ``MERMAID_NODE_CAP`` instances get one node each; above it, one node per job
(``teaser ×6``) when the jobs fit, else a one-line summary instead of a graph.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

MERMAID_NODE_CAP = 60


@dataclass(frozen=True, slots=True)
class Graph:
    nodes: tuple[str, ...]  # in dependency order (upstreams first)
    edges: tuple[tuple[str, str], ...]  # (upstream, dependant)

    @classmethod
    def of(cls, needs: Mapping[str, Sequence[str]]) -> Graph:
        nodes = tuple(needs)
        known = set(nodes)
        edges = tuple((up, iid) for iid in nodes for up in needs[iid] if up in known)
        return cls(nodes, edges)

    def by_job(self) -> tuple[Graph, dict[str, int]]:
        """Instances collapsed into their jobs, with each job's count."""
        counts: dict[str, int] = {}
        for n in self.nodes:
            counts[job_of(n)] = counts.get(job_of(n), 0) + 1
        edges = dict.fromkeys((job_of(a), job_of(b)) for a, b in self.edges if job_of(a) != job_of(b))
        return Graph(tuple(counts), tuple(edges)), counts


def job_of(instance_id: str) -> str:
    return instance_id.split("[", 1)[0]


def _label(text: str) -> str:
    """Text inside a Mermaid ``["..."]`` label: entity codes for what would end or break it."""
    out = []
    for ch in text:
        if ch in '"#<>&`':
            out.append(f"#{ord(ch)};")
        elif ch < " " or ch in "\x7f\u2028\u2029":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)[:200]


def mermaid(graph: Graph, cap: int = MERMAID_NODE_CAP) -> str:
    """A fenced ```mermaid block (``graph LR``), or a summary line when even the jobs exceed ``cap``."""
    labels: Mapping[str, str] = {n: n for n in graph.nodes}
    note = ""
    if len(graph.nodes) > cap:
        graph, counts = graph.by_job()
        if len(graph.nodes) > cap:
            return (f"_The graph has {sum(counts.values()):,} job instances in {len(counts):,} jobs, over the "
                    f"{cap} a diagram shows; `renderer report` draws it._\n")
        labels = {n: f"{n} ×{counts[n]}" for n in graph.nodes}
        note = f"_One node per job ({sum(counts.values()):,} instances are over the diagram's cap of {cap})._\n\n"
    ids = {n: f"n{i}" for i, n in enumerate(graph.nodes)}
    lines = ["```mermaid", "graph LR"]
    lines += [f'  {ids[n]}["{_label(labels[n])}"]' for n in graph.nodes]
    lines += [f"  {ids[a]} --> {ids[b]}" for a, b in graph.edges]
    lines.append("```")
    return note + "\n".join(lines) + "\n"


# -- layered layout -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Layout:
    positions: Mapping[str, tuple[int, int]]  # node -> (layer, row)
    layers: int
    rows: int


def layered(graph: Graph) -> Layout:
    """Longest-path layering (a node sits one layer right of its deepest upstream), then rows
    ordered by the mean row of upstreams (one barycentre sweep) to keep edges short."""
    ups: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for a, b in graph.edges:
        ups[b].append(a)
    layer: dict[str, int] = {}
    for n in graph.nodes:  # dependency order: upstreams already placed
        layer[n] = 1 + max((layer[u] for u in ups[n] if u in layer), default=-1)
    by_layer: dict[int, list[str]] = {}
    for n in graph.nodes:
        by_layer.setdefault(layer[n], []).append(n)
    row: dict[str, float] = {}
    for k in sorted(by_layer):
        members = by_layer[k]
        if k > 0:
            members.sort(key=lambda n: _mean(row[u] for u in ups[n] if u in row))
        for i, n in enumerate(members):
            row[n] = i
    positions = {n: (layer[n], int(row[n])) for n in graph.nodes}
    return Layout(positions, len(by_layer), max((len(v) for v in by_layer.values()), default=0))


def _mean(values: Iterable[float]) -> float:
    vs = list(values)
    return sum(vs) / len(vs) if vs else 0.0
