"""The plan as a reviewer reads it in a pull request: ``plan --markdown`` and the step summary.

A reviewer approves spend, so the comment says, for every job that runs again,
*why* (new, input changed, upstream changed, failed before, target changed...)
and *what changed* (the field diff ``plan --show-inputs`` computes), folded in
``<details>`` blocks. It always fits GitHub's 65,536-character comment: the
summary comes first and whole; then the changes, jobs with the same reason and the
same diff folded into one block, largest groups first; a diff too large to show is
summarised (its fields and their sizes); what does not fit is counted, by reason,
with a link to the full plan. Its first line is a hidden marker naming the campaign
(``<!-- renderer-plan: NAME -->``) by which a workflow finds its own comment.

Why diffs by default: the comment is the review, and a reviewer cannot pass flags;
``--show-inputs`` adds the request bodies of new jobs (a new job has no diff).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import quote

from renderer.manifest import Manifest
from renderer.plan.inputs import FieldChange, change_of, shown_body
from renderer.plan.model import Instance, Plan
from renderer.figures import ESTIMATED_RUN
from renderer.money import budget_message, costliest, show_credits
from renderer.plan.probe import probe_lines
from renderer.plan.views import MARKDOWN_LIMIT, Summary, md_code, plan_mermaid, requests_line
from renderer.vocabulary import Range
from renderer.text import printable

MAX_VALUE = 160  # characters of one old or new value in a diff
MAX_FIELDS = 12  # fields of one diff shown; the rest are counted
MAX_BLOCK = 2_000  # a diff longer than this is summarised: its fields and their sizes
MAX_IDS = 8  # instance ids named per group
MAX_BODY = 1_500  # characters of a new job's body (--show-inputs)
NEW = "new"

# Why a job runs again, as a short label for the reason `plan --show-inputs` gives. A
# reason not matched here (a new one) is shown as itself: the comment never hides one.
REASON_LABELS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("failed before", lambda r: r.startswith("it is failed")),
    ("target changed", lambda r: "target" in r or " against " in r),  # renderer.targets.why_elsewhere
    ("input changed", lambda r: r in ("its request changed", "its input changed", "a file it uploads changed")),
    ("cancelled before", lambda r: r.startswith("it is cancelled")),
    ("unfinished before", lambda r: r.startswith(("it is pending", "it is unknown", "it is not_submitted"))),
    ("upstream changed", lambda r: r.startswith("it takes outputs of")),  # after its cause
    ("no recorded request", lambda r: r.startswith("the manifest does not record")),
)


def reason_label(reason: str) -> str:
    for label, matches in REASON_LABELS:
        if matches(reason):
            return label
    return reason.split(";")[0][:80]


def marker(campaign: str) -> str:
    """The hidden first line that names the campaign's comment (no ``--`` can end the HTML comment)."""
    return f"<!-- renderer-plan: {quote(campaign, safe='').replace('--', '-%2D')} -->"


@dataclass(frozen=True, slots=True)
class _Group:
    """Jobs that run again for the same reason with the same diff (one block in the comment)."""

    label: str
    reason: str
    fields: tuple[FieldChange, ...]
    ids: list[str]


def plan_markdown(plan: Plan, summary: Summary, manifest: Manifest | None = None, *, limit: int = MARKDOWN_LIMIT,
                  bodies: bool = False, full_plan: str | None = None) -> str:
    """The comment: summary, why jobs run, the changes with their diffs; never over ``limit`` characters.

    ``manifest``: the one the plan was compared with (its requests give the diffs);
    ``bodies``: also the request body of each new job; ``full_plan``: a link to the
    whole plan (an artifact) for what the comment leaves out."""
    manifest = Manifest.coerce(manifest)
    head = _head(plan, summary)
    groups, new = _groups(plan, manifest, summary.elsewhere)
    why = _why_table(groups, new, len(summary.changes["removed"]))
    changes = summary.changes
    title = ("<details><summary>Changes against the manifest: "
             + ", ".join(f"{len(changes[k]):,} {k}" for k in ("added", "changed", "removed", "reused"))
             + "</summary>\n")
    where = f"[the full plan]({_url(full_plan)})" if full_plan else "`renderer plan --json --show-inputs`"
    room = limit - len(head) - len(why) - len(title) - 400  # 400: the closing lines and the note on what is left out
    blocks, left = _fill(_blocks(plan, groups, new, changes["removed"], bodies), room)
    tail = [title, *blocks]
    if left:
        counted = ", ".join(f"{n:,} {label}" for label, n in left.items())
        tail.append(f"\n**Not shown here** (the comment's limit): {counted}. See {where}.\n")
    elif full_plan:
        tail.append(f"\nEvery job with its request body: {where}.\n")
    tail.append("\n</details>\n")
    return head + why + "".join(tail)


def _head(plan: Plan, summary: Summary) -> str:
    """Totals, budget, warnings, endpoints, costliest jobs and the graph: the part read first."""
    c = plan.campaign
    lines = [marker(c.name), f"### renderer plan: {md_code(c.name)}", ""]
    spend = show_credits(summary.credits) if summary.credits else f"{show_credits(summary.known_credits)} + unknown"
    lines.append(f"{ESTIMATED_RUN.capitalize()}: **{spend} credits** for {len(plan.to_run):,} job(s) to run; "
                 f"{len(summary.changes['reused']):,} reused from the manifest.")
    if summary.budget is not None:
        mark = "over budget" if summary.over_budget else "within budget"
        if summary.spent:
            mark += f"; earlier runs spent {summary.spent:,}"
        lines.append(f"Budget: {summary.budget:,} credits ({mark}).")
    lines += [requests_line(summary.requests), *probe_lines(summary.probe, plan.campaign.budget_probe, summary.budget), ""]
    if summary.over_budget:
        lines += [f"> [!WARNING]\n> {budget_message(plan, summary, md_code)}", ""]
    if summary.unknown:
        lines += [f"> [!NOTE]\n> {len(summary.unknown):,} job(s) have no known price: "
                  + ", ".join(md_code(i) for i in summary.unknown[:10]) + ("…" if len(summary.unknown) > 10 else ""), ""]
    lines += ["| endpoint | jobs | credits |", "|---|---:|---:|"]
    for endpoint, t in summary.totals["endpoint"].items():
        cr = t["credits"]
        lines.append(f"| {md_code(endpoint, cell=True)} | {t['jobs']:,} | "
                     f"{show_credits(None if cr.get('unknown') else Range(cr['min'], cr['max']))} |")
    lines.append("")
    top = costliest(plan, 5)
    if top:
        lines += ["**Costliest jobs**", "", "| job | credits |", "|---|---:|"]
        lines += [f"| {md_code(i.id, cell=True)} | {show_credits(i.price.credits)} |" for i in top]
        lines.append("")
    lines += ["**Jobs**", "", plan_mermaid(plan)]
    return "\n".join(lines) + "\n"


def _groups(plan: Plan, manifest: Manifest,
            elsewhere: Mapping[str, Mapping[str, str]]) -> tuple[list[_Group], list[Instance]]:
    """Jobs to run that the manifest holds, grouped by reason and diff (largest first); and the new ones.
    ``elsewhere``: why those the manifest holds from another target run again (``Summary.elsewhere``)."""
    by_key: dict[tuple[str, str], _Group] = {}
    new: list[Instance] = []
    for inst in plan.to_run:
        away = elsewhere.get(inst.id)
        change = change_of(inst, manifest.get(inst.id) or manifest.elsewhere.get(inst.id),
                           away["reason"] if away is not None else None)
        if change is None:
            new.append(inst)
            continue
        key = (change.reason, _signature(change.fields))
        group = by_key.get(key)
        if group is None:
            group = by_key[key] = _Group(reason_label(change.reason), change.reason, change.fields, [])
        group.ids.append(inst.id)
    order = {label: n for n, (label, _) in enumerate(REASON_LABELS)}
    groups = sorted(by_key.values(), key=lambda g: (order.get(g.label, len(order)), -len(g.ids)))
    return groups, new


def _signature(fields: Iterable[FieldChange]) -> str:
    return json.dumps([f.as_json() for f in fields], sort_keys=True, ensure_ascii=False, default=str)


def _why_table(groups: Sequence[_Group], new: Sequence[Instance], removed: int) -> str:
    counts: dict[str, int] = {}
    for g in groups:  # in the order of REASON_LABELS: failures first
        counts[g.label] = counts.get(g.label, 0) + len(g.ids)
    if new:
        counts[NEW] = len(new)
    if not counts and not removed:
        return "Nothing runs again: every job is reused from the manifest.\n\n"
    rows = [f"| {_cell(label)} | {n:,} |" for label, n in counts.items()]
    if removed:
        rows.append(f"| removed from the campaign (not run) | {removed:,} |")
    return "\n".join(["**Why jobs run**", "", "| why | jobs |", "|---|---:|", *rows]) + "\n\n"


def _cell(text: str) -> str:
    return printable(text).replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`").replace("<", "&lt;")


@dataclass(frozen=True, slots=True)
class _Block:
    text: str
    label: str  # what it counts as when left out
    jobs: int


def _blocks(plan: Plan, groups: Sequence[_Group], new: Sequence[Instance], removed: Sequence[str],
            bodies: bool) -> Iterator[_Block]:
    """The changes, most telling first: jobs that run again (with diffs), new jobs, removed ones."""
    for g in groups:
        yield _Block(_group_block(g), g.label, len(g.ids))
    if bodies:
        for inst in new:
            yield _Block(_body_block(inst), NEW, 1)
    else:
        by_job: dict[str, list[str]] = {}
        for inst in new:
            by_job.setdefault(inst.job, []).append(inst.id)
        for job, ids in by_job.items():
            yield _Block(f"\n- {NEW}: {md_code(job)} ×{len(ids):,}: {_ids(ids)}\n", NEW, len(ids))
    if removed:
        yield _Block(f"\n- removed from the campaign ({len(removed):,}): {_ids(removed)}\n", "removed", len(removed))


def _fill(blocks: Iterable[_Block], room: int) -> tuple[list[str], dict[str, int]]:
    """The blocks that fit in ``room`` characters, in order; the rest counted by label."""
    shown: list[str] = []
    left: dict[str, int] = {}
    for b in blocks:
        if not left and len(b.text) <= room:
            shown.append(b.text)
            room -= len(b.text)
        else:  # once one is left out, every later one is too: what is shown stays in order
            left[b.label] = left.get(b.label, 0) + b.jobs
    return shown, left


def _group_block(g: _Group) -> str:
    n = len(g.ids)
    who = f"<code>{_html(g.ids[0])}</code>" if n == 1 else f"{n:,} jobs"
    fields = f"{len(g.fields):,} field(s)" if g.fields else "no field"
    lines = [f"\n<details><summary>{_html(g.label)}: {who}, {fields}</summary>\n"]
    if g.reason != g.label:  # an HTML block: an id's `*` or `_` is no emphasis
        lines.append(f"<p>Why: {_html(g.reason)}</p>\n")
    if g.fields:
        lines.append(_diff(g.fields))
    if n > 1:
        lines.append(f"Jobs: {_ids(g.ids)}\n")
    lines.append("</details>\n")
    return "\n".join(lines)


def _diff(fields: Sequence[FieldChange]) -> str:
    """A ```diff block: ``- field: old`` / ``+ field: new``; summarised (sizes only) when too long."""
    out: list[str] = []
    for f in fields[:MAX_FIELDS]:
        old, new = f.as_json().get("old", _ABSENT), f.as_json().get("new", _ABSENT)
        if old is not _ABSENT:
            out.append(f"- {printable(f.path)}: {_value(old)}")
        if new is not _ABSENT:
            out.append(f"+ {printable(f.path)}: {_value(new)}")
    if len(fields) > MAX_FIELDS:
        out.append(f"  … and {len(fields) - MAX_FIELDS:,} more field(s)")
    text = "\n".join(out)
    if len(text) > MAX_BLOCK:  # the largest diffs: which fields, and how large, not the values
        out = [f"~ {printable(f.path)}: {_size(f.as_json().get('old', _ABSENT))} -> {_size(f.as_json().get('new', _ABSENT))}"
               for f in fields[:MAX_FIELDS]]
        text = "\n".join(out) + ("\n  (values too long to show here)" if out else "")
    return _fenced(text, "diff")


_ABSENT = object()


def _value(v: Any) -> str:
    text = printable(json.dumps(shown_body(v), ensure_ascii=False, default=str))
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + f"… ({len(text):,} characters)"


def _size(v: Any) -> str:
    if v is _ABSENT:
        return "(none)"
    return f"{len(json.dumps(shown_body(v), ensure_ascii=False, default=str)):,} characters"


def _body_block(inst: Instance) -> str:
    body = printable(json.dumps(shown_body(inst.body), indent=2, ensure_ascii=False, default=str), keep="\n")
    if len(body) > MAX_BODY:
        body = body[:MAX_BODY] + f"\n… ({len(body):,} characters; the full body is in the full plan)"
    return (f"\n<details><summary>{NEW}: <code>{_html(inst.id)}</code> {_html(inst.endpoint)}</summary>\n\n"
            f"{_fenced(body, 'json')}</details>\n")


def _fenced(text: str, lang: str) -> str:
    """A fenced code block whose fence no backtick run inside can close."""
    longest = max(_backticks(text), default=0)
    fence = "`" * max(3, longest + 1)
    return f"\n{fence}{lang}\n{text}\n{fence}\n"


def _backticks(text: str) -> Iterator[int]:
    n = 0
    for ch in text:
        if ch == "`":
            n += 1
        else:
            if n:
                yield n
            n = 0
    if n:
        yield n


def _ids(ids: Sequence[str]) -> str:
    shown = ", ".join(md_code(i, limit=120) for i in ids[:MAX_IDS])
    return shown + (f" and {len(ids) - MAX_IDS:,} more" if len(ids) > MAX_IDS else "")


def _html(text: str) -> str:
    """Text inside HTML (a summary): escaped, one line, not too long."""
    text = printable(text)
    return escape(text if len(text) <= 200 else text[:199] + "…")


def _url(url: str) -> str:
    return quote(url, safe=":/?&=%#@+,;~!$'*-._").replace(")", "%29")
