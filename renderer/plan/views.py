"""What `renderer plan` shows: a JSON document, Markdown, a Mermaid graph (the table: ``renderer.ui``).

The JSON shape is the contract's (campaign-format.md §2) plus fields that help
reviewers; ``schemas/plan.schema.json`` documents it and a test checks real output
against it. The money in them is ``renderer.money``'s.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from renderer import jsonfast, providers
from renderer.execute.limits import least_wall_seconds
from renderer.manifest import Manifest
from renderer.money import BudgetCheck, check_budget, credits_json
from renderer.plan.inputs import change_of, shown_body
from renderer.plan.model import Instance, Plan
from renderer.plan.probe import RISK, probe_json, provider_waits
from renderer.vocabulary import Range, add_ranges

@dataclass(frozen=True, slots=True)
class Summary(BudgetCheck):
    """Figures shared by every rendering of a plan: its money (``money.check_budget``) and requests."""

    requests: dict[str, Any]
    totals: dict[str, dict[str, dict[str, Any]]]
    changes: dict[str, list[str]]
    # where this plan runs, by provider (renderer.targets); empty when not known
    targets: Mapping[str, str] = field(default_factory=dict)
    # jobs to run that the manifest holds from another target: {target, status, reason}
    elsewhere: Mapping[str, dict[str, str]] = field(default_factory=dict)
    probe: dict[str, Any] | None = None  # budget.probe of the JSON (renderer.plan.probe)


def summarise(plan: Plan, manifest: Manifest | Mapping[str, Any] | None = None, *,
              budget: float | None = None, spent: float | None = None,
              sent: frozenset[str] | None = None, targets: Mapping[str, str] | None = None,
              factors: Mapping[str, float] | None = None,
              approved: Callable[[str, str | None], bool] | None = None) -> Summary:
    """The plan's money (see ``money.check_budget`` for the arguments), requests, totals and changes.

    ``targets``: where the plan runs (``manifest`` is then the view ``renderer.targets.seen_from``
    gives): the summary says why the jobs the manifest holds from another target run again."""
    manifest = Manifest.coerce(manifest)
    check = check_budget(plan, manifest, budget=budget, spent=spent, sent=sent, factors=factors, approved=approved)
    money = {f.name: getattr(check, f.name) for f in fields(BudgetCheck)}
    run = plan.to_run
    probe = probe_json(plan, run, check.budget, manifest.families)
    return Summary(**money, requests=_requests(plan, run, provider_waits(run, probe)), totals=_totals(run),
                   changes=_changes(plan, manifest), targets=dict(targets or {}),
                   elsewhere=_elsewhere(run, manifest, targets or {}), probe=probe)


def _elsewhere(run: Iterable[Instance], manifest: Manifest, targets: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Jobs to run whose manifest entry ran against another target, and why they run again."""
    from renderer.targets import why_elsewhere

    if not manifest.elsewhere:
        return {}
    out = {}
    for inst in run:
        entry = manifest.elsewhere.get(inst.id)
        if entry is not None:
            here = targets.get(providers.provider_of(inst.endpoint))
            out[inst.id] = {"target": entry.target or "", "status": entry.status or "",
                            "reason": why_elsewhere(entry, here)}
    return out


def _requests(plan: Plan, run: Iterable[Instance], waits: Mapping[str, int]) -> dict[str, Any]:
    """``waits``: seconds the budget's probe adds per provider (``renderer.plan.probe``)."""
    by_provider: dict[str, dict[str, Any]] = defaultdict(lambda: {"submissions": 0, "uploads": 0})
    for inst in run:
        name = providers.provider_of(inst.endpoint)
        p = by_provider[name]
        p["submissions"] += 1
        up = providers.get(name).UPLOADS
        if up is not None and isinstance(inst.body, Mapping) and up.field in inst.body:
            p["uploads"] += 1
    table = plan.price_table or providers.price_table(plan.campaign.pricing)
    for name, p in by_provider.items():
        # each job needs its upload (if any), its submission and at least one status read
        p["requests"] = p["submissions"] * 2 + p["uploads"]
        conf = plan.campaign.providers.get(name) or {}
        rpm = conf.get("requests_per_minute")
        tier = providers.get(name).rate_tier(conf, table) if rpm is None else None
        if tier is not None:  # the provider's published limit for the campaign's tier
            p["tier"], rpm = tier.name, tier.requests_per_minute
        if rpm:
            p["requests_per_minute"] = rpm
            # a window of a minute allows rpm requests at once: the first rpm go now, the
            # next when it resets (the model the run's rate limiter follows)
            p["least_wall_seconds"] = least_wall_seconds(p["requests"], rpm)
        if waits.get(name):
            p["least_wall_seconds"] = p.get("least_wall_seconds", 0) + waits[name]
    return {
        "submissions": sum(p["submissions"] for p in by_provider.values()),
        "uploads": sum(p["uploads"] for p in by_provider.values()),
        "requests": sum(p["requests"] for p in by_provider.values()),
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


def _changes(plan: Plan, manifest: Manifest) -> dict[str, list[str]]:
    old, away = manifest.jobs, manifest.elsewhere
    out: dict[str, list[str]] = {"added": [], "changed": [], "reused": [], "removed": []}
    for inst in plan.instances:
        if inst.action == "reuse":
            out["reused"].append(inst.id)
        elif inst.id not in old and inst.id not in away:
            out["added"].append(inst.id)
        else:
            out["changed"].append(inst.id)
    out["removed"] = sorted((set(old) | set(away)) - set(plan.by_id))
    return out


def plan_json(plan: Plan, summary: Summary, inputs_of: Manifest | None = None) -> dict[str, Any]:
    """The plan as JSON; with ``inputs_of`` (the manifest's jobs, --show-inputs) each job
    to run carries its body and, when the manifest holds it, what changed."""
    return {**_head_json(plan, summary),
            "jobs": [_job_json(inst, inputs_of, summary.elsewhere) for inst in plan.instances]}


def _head_json(plan: Plan, summary: Summary) -> dict[str, Any]:
    """Every field of the plan's JSON but `jobs` (which comes last)."""
    return {
        "campaign": plan.campaign.name,
        "credits": credits_json(summary.credits) if summary.credits else {**summary.known_credits.as_dict(), "unknown": True},
        "budget": {"max_credits": summary.budget, "over": summary.over_budget,
                   **({"spent": summary.spent} if summary.spent else {}),
                   **({"factors": {k: int(v) if float(v).is_integer() else v for k, v in sorted(summary.factors.items())}}
                      if summary.factors else {}),
                   **({"probe": summary.probe} if summary.probe else {}),
                   **({"awaiting_approval": {"jobs": len(summary.continuing),
                                             "continuing": _tidy_sum(summary.continuing.values())}}
                      if summary.continuing else {}),
                   **({"risk": RISK} if summary.budget is not None and not plan.campaign.budget_probe else {})},
        "requests": summary.requests,
        "totals": summary.totals,
        "changes": summary.changes,
        "unknown_prices": list(summary.unknown),
        **({"targets": dict(summary.targets)} if summary.targets else {}),
    }


def _tidy_sum(values: Iterable[float]) -> float:
    total = sum(values)
    return int(total) if float(total).is_integer() else total


def _job_json(inst: Instance, inputs_of: Manifest | None = None,
              elsewhere: Mapping[str, dict[str, str]] | None = None) -> dict[str, Any]:
    job = {
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
    }
    away = (elsewhere or {}).get(inst.id)
    if away is not None:
        job["elsewhere"] = dict(away)
    if inputs_of is not None and inst.action == "run":
        job["body"] = shown_body(inst.body)
        change = change_of(inst, inputs_of.get(inst.id) or inputs_of.elsewhere.get(inst.id),
                           away["reason"] if away is not None else None)
        if change is not None:
            job["change"] = change.as_json()
    return job


JSON_CHUNK = 10_000  # jobs written at a time: a few large writes, and never the whole document in memory


def plan_json_text(plan: Plan, summary: Summary, inputs_of: Manifest | None = None,
                   chunk: int = JSON_CHUNK) -> Iterator[str]:
    """The text of ``json.dumps(plan_json(plan, summary, inputs_of), indent=2, ensure_ascii=False)``, in pieces.

    Each piece holds ``chunk`` jobs, encoded as a list on its own and indented
    one level deeper (JSON text has no raw newline but between its tokens).
    """
    head = _head_json(plan, summary)
    text = jsonfast.indented({**head, "jobs": []}, floats=_floats_in(head))
    if not plan.instances:
        yield text
        return
    yield text[: -len("[]\n}")] + "["
    for start in range(0, len(plan.instances), chunk):
        part = plan.instances[start : start + chunk]
        jobs = [_job_json(i, inputs_of, summary.elsewhere) for i in part]
        # the numbers of a job are its prices' ranges; bodies (--show-inputs) hold any
        floats = _job_floats(part) if inputs_of is None else _floats_in(jobs)
        items = jsonfast.indented(jobs, floats=floats)
        yield ("," if start else "") + items[1:-2].replace("\n", "\n  ")  # "[" ... "\n]"
    yield "\n  ]\n}"


def _job_floats(instances: Iterable[Instance]) -> Iterator[float]:
    """Every float in the JSON of these jobs: the numbers of their prices' ranges."""
    for inst in instances:
        for r in (inst.price.credits, inst.price.duration):
            if r is not None and (type(r.min) is not int or type(r.max) is not int):
                yield from (x for x in (r.min, r.max) if isinstance(x, float))


def _floats_in(value: Any) -> Iterator[float]:
    if isinstance(value, float):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _floats_in(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _floats_in(v)


def requests_line(req: Mapping[str, Any]) -> str:
    """API requests and, where a rate limit applies, the least wall time it allows."""
    line = f"Requests: at least {req['requests']:,} ({req['submissions']:,} submission(s) and their status reads"
    line += f", {req['uploads']:,} upload(s))" if req["uploads"] else ")"
    for name, p in req["by_provider"].items():
        if "least_wall_seconds" in p:
            tier = f"{p['tier']} tier, " if "tier" in p else ""
            rate = f" ({tier}{p['requests_per_minute']:,}/min)" if "requests_per_minute" in p else ""
            line += f"; {name}{rate}: {p['requests']:,} requests take at least {p['least_wall_seconds']:,} s"
    return line + "."


MARKDOWN_LIMIT = 60_000  # GitHub refuses comments over 65,536 characters
MARKDOWN_ID_CHARS = 200  # ids carry matrix values, which may be whole prompts


def md_code(text: str, cell: bool = False, limit: int = MARKDOWN_ID_CHARS) -> str:
    """``text`` as one short Markdown code span; ``cell``: safe inside a table row too."""
    text = re.sub(r"[\r\n\t]", " ", str(text))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    pad = " " if text[:1] == "`" or text[-1:] == "`" else ""
    span = f"{fence}{pad}{text}{pad}{fence}"
    return span.replace("|", "\\|") if cell else span


def plan_mermaid(plan: Plan) -> str:
    """The plan's DAG as a Mermaid block (or a summary above the diagram's node cap)."""
    from renderer.results.graph import Graph, mermaid

    return mermaid(Graph.of({i.id: i.needs for i in plan.instances}))
