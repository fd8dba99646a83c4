"""What `renderer plan` shows: a JSON document, a terminal table, Markdown.

The JSON shape is the contract's (campaign-format.md §2) plus fields that help
reviewers; ``PLAN_JSON_SCHEMA`` documents it and a test checks real output
against it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from collections.abc import Iterable, Mapping
from typing import Any

from renderer import providers
from renderer.plan.model import Instance, Plan
from renderer.providers.base import Range, add_ranges, is_pending

PLAN_JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "renderer plan --json",
    "type": "object",
    "required": ["campaign", "credits", "jobs", "requests", "budget", "changes"],
    "$defs": {
        "credits": {
            "description": "credits as a range; null bounds mean a price is unknown",
            "type": "object",
            "required": ["min", "max"],
            "properties": {"min": {"type": ["number", "null"]}, "max": {"type": ["number", "null"]}, "unknown": {"type": "boolean"}},
        }
    },
    "properties": {
        "campaign": {"type": "string"},
        "credits": {"$ref": "#/$defs/credits", "description": "what the plan would spend (jobs with action run)"},
        "budget": {
            "type": "object",
            "properties": {"max_credits": {"type": ["number", "null"]}, "over": {"type": "boolean"}},
        },
        "requests": {
            "type": "object",
            "description": "API requests the run needs, and the least wall time published rate limits allow",
            "properties": {
                "submissions": {"type": "integer"},
                "uploads": {"type": "integer"},
                "by_provider": {"type": "object"},
            },
        },
        "changes": {
            "type": "object",
            "description": "against the manifest: instances added, changed, unchanged (reused), removed",
            "properties": {k: {"type": "array", "items": {"type": "string"}} for k in ("added", "changed", "reused", "removed")},
        },
        "totals": {"type": "object", "description": "credits per endpoint and per video model"},
        "jobs": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "endpoint", "needs", "action", "credits", "assumptions"],
                "properties": {
                    "id": {"type": "string"},
                    "job": {"type": "string"},
                    "endpoint": {"type": "string"},
                    "needs": {"type": "array", "items": {"type": "string"}},
                    "action": {"enum": ["run", "reuse", "skip"]},
                    "credits": {"$ref": "#/$defs/credits"},
                    "duration": {"type": ["object", "null"]},
                    "pending": {"type": "boolean", "description": "some input waits for upstream outputs"},
                    "input_sha256": {"type": ["string", "null"]},
                    "assumptions": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
    },
}


def credits_json(r: Range | None) -> dict[str, Any]:
    if r is None:
        return {"min": None, "max": None, "unknown": True}
    return r.as_dict()


def show_credits(r: Range | None) -> str:
    if r is None:
        return "unknown"
    return f"{r.min:,}" if r.is_exact else f"{r.min:,}-{r.max:,}"


@dataclass(frozen=True, slots=True)
class Summary:
    """Figures shared by every rendering of a plan."""

    credits: Range | None
    known_credits: Range  # sum over instances whose price is known
    unknown: tuple[str, ...]  # ids whose price is unknown
    budget: float | None
    over_budget: bool
    requests: dict[str, Any]
    totals: dict[str, dict[str, dict[str, Any]]]
    changes: dict[str, list[str]]


def summarise(plan: Plan, manifest: Mapping[str, Any] | None = None) -> Summary:
    run = plan.to_run
    known = add_ranges([i.price.credits for i in run if i.price.credits is not None]) or Range(0, 0)
    unknown = tuple(i.id for i in run if i.price.credits is None)
    budget = plan.campaign.budget
    over = budget is not None and known.max > budget
    return Summary(
        credits=plan.credits(),
        known_credits=known,
        unknown=unknown,
        budget=budget,
        over_budget=over,
        requests=_requests(plan),
        totals=_totals(run),
        changes=_changes(plan, manifest),
    )


def _requests(plan: Plan) -> dict[str, Any]:
    by_provider: dict[str, dict[str, Any]] = defaultdict(lambda: {"submissions": 0, "uploads": 0})
    for inst in plan.to_run:
        route = providers.route(inst.endpoint)
        p = by_provider[route.provider]
        p["submissions"] += 1
        if isinstance(inst.body, Mapping) and "input_file" in inst.body:
            p["uploads"] += 1
    tiers = providers.price_table(plan.campaign.pricing)["enhancecraft"]["tiers_requests_per_minute"]
    for name, p in by_provider.items():
        conf = plan.campaign.providers.get(name) or {}
        rpm = conf.get("requests_per_minute")
        if rpm is None and name == "enhancecraft":
            rpm = tiers.get(conf.get("tier", "pro"))
        if rpm:
            # each job needs its submission (and upload) plus at least one status read
            needed = p["submissions"] * 2 + p["uploads"]
            p["requests_per_minute"] = rpm
            p["least_wall_seconds"] = math.ceil(needed / rpm * 60) if needed else 0
    return {
        "submissions": sum(p["submissions"] for p in by_provider.values()),
        "uploads": sum(p["uploads"] for p in by_provider.values()),
        "by_provider": dict(by_provider),
    }


def _totals(run: Iterable[Instance]) -> dict[str, dict[str, dict[str, Any]]]:
    by: dict[str, dict[str, list[Range | None]]] = {"endpoint": defaultdict(list), "video_model": defaultdict(list)}
    for inst in run:
        by["endpoint"][inst.endpoint].append(inst.price.credits)
        body = inst.body.get("input", inst.body) if isinstance(inst.body, Mapping) else {}
        model = body.get("video_model") if isinstance(body, Mapping) else None
        if isinstance(model, str):
            by["video_model"][model].append(inst.price.credits)
    return {
        kind: {k: {"jobs": len(v), "credits": credits_json(add_ranges(v))} for k, v in sorted(groups.items())}
        for kind, groups in by.items()
    }


def _changes(plan: Plan, manifest: Mapping[str, Any] | None) -> dict[str, list[str]]:
    old = (manifest or {}).get("jobs") or {}
    out: dict[str, list[str]] = {"added": [], "changed": [], "reused": [], "removed": []}
    for inst in plan.instances:
        if inst.action == "reuse":
            out["reused"].append(inst.id)
        elif inst.id not in old:
            out["added"].append(inst.id)
        else:
            out["changed"].append(inst.id)
    out["removed"] = sorted(set(old) - set(plan.by_id))
    return out


def plan_json(plan: Plan, summary: Summary) -> dict[str, Any]:
    jobs = []
    for inst in plan.instances:
        jobs.append({
            "id": inst.id,
            "job": inst.job,
            "endpoint": inst.endpoint,
            "needs": list(inst.needs),
            "action": inst.action,
            "credits": credits_json(inst.price.credits) if inst.action == "run" else {"min": 0, "max": 0},
            "estimated_credits": credits_json(inst.price.credits),
            "duration": inst.price.duration.as_dict() if inst.price.duration else None,
            "pending": inst.pending,
            "input_sha256": inst.input_sha256,
            "assumptions": list(inst.price.assumptions),
        })
    return {
        "campaign": plan.campaign.name,
        "credits": credits_json(summary.credits) if summary.credits else {**summary.known_credits.as_dict(), "unknown": True},
        "budget": {"max_credits": summary.budget, "over": summary.over_budget},
        "requests": summary.requests,
        "totals": summary.totals,
        "changes": summary.changes,
        "unknown_prices": list(summary.unknown),
        "jobs": jobs,
    }


def costliest(plan: Plan, n: int = 5) -> list[Instance]:
    priced = [i for i in plan.to_run if i.price.credits is not None]
    return sorted(priced, key=lambda i: (-i.price.credits.max, i.id))[:n]


def budget_message(plan: Plan, summary: Summary) -> str:
    top = ", ".join(f"{i.id} ({show_credits(i.price.credits)})" for i in costliest(plan, 3))
    return (
        f"over budget: the plan may spend up to {summary.known_credits.max:,} credits; "
        f"budget.max_credits is {summary.budget:,}. Costliest: {top}"
    )


MARKDOWN_LIMIT = 60_000  # GitHub refuses comments over 65,536 characters


def plan_markdown(plan: Plan, summary: Summary, limit: int = MARKDOWN_LIMIT) -> str:
    """A pull-request comment: totals, changes, costliest jobs, warnings; never over ``limit``."""
    c = plan.campaign
    lines = [f"### renderer plan: `{c.name}`", ""]
    spend = show_credits(summary.credits) if summary.credits else f"{show_credits(summary.known_credits)} + unknown"
    run = plan.to_run
    lines.append(f"**{spend} credits** for {len(run)} job(s) to run; "
                 f"{len(summary.changes['reused'])} reused from the manifest.")
    if summary.budget is not None:
        mark = "over budget" if summary.over_budget else "within budget"
        lines.append(f"Budget: {summary.budget:,} credits ({mark}).")
    lines.append("")
    if summary.over_budget:
        lines += [f"> [!WARNING]\n> {budget_message(plan, summary)}", ""]
    if summary.unknown:
        lines += [f"> [!NOTE]\n> {len(summary.unknown)} job(s) have no known price: "
                  + ", ".join(f"`{i}`" for i in summary.unknown[:10]) + ("…" if len(summary.unknown) > 10 else ""), ""]
    lines += ["| endpoint | jobs | credits |", "|---|---:|---:|"]
    for endpoint, t in summary.totals["endpoint"].items():
        cr = t["credits"]
        lines.append(f"| `{endpoint}` | {t['jobs']} | {show_credits(None if cr.get('unknown') else Range(cr['min'], cr['max']))} |")
    lines.append("")
    top = costliest(plan, 5)
    if top:
        lines += ["**Costliest jobs**", "", "| job | credits |", "|---|---:|"]
        lines += [f"| `{i.id}` | {show_credits(i.price.credits)} |" for i in top]
        lines.append("")
    head = "\n".join(lines)
    changes = summary.changes
    tail = ["<details><summary>Changes against the manifest: "
            + ", ".join(f"{len(changes[k])} {k}" for k in ("added", "changed", "removed", "reused"))
            + "</summary>", ""]
    budget_left = limit - len(head) - 200
    shown = 0
    for kind in ("added", "changed", "removed"):
        for iid in changes[kind]:
            line = f"- {kind}: `{iid}`"
            if budget_left - len(line) - 1 < 0:
                break
            tail.append(line)
            budget_left -= len(line) + 1
            shown += 1
    total = sum(len(changes[k]) for k in ("added", "changed", "removed"))
    if shown < total:
        tail.append(f"- … and {total - shown} more (see `renderer plan --json`)")
    tail += ["", "</details>", ""]
    return head + "\n" + "\n".join(tail)
