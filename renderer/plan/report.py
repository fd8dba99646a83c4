"""What `renderer plan` shows: a JSON document, a terminal table, Markdown.

The JSON shape is the contract's (campaign-format.md §2) plus fields that help
reviewers; ``PLAN_JSON_SCHEMA`` documents it and a test checks real output
against it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from renderer import jsonfast, providers
from renderer.execute.limits import least_wall_seconds
from renderer.manifest import Manifest
from renderer.plan.inputs import change_of, shown_body
from renderer.plan.model import Instance, Plan
from renderer.plan.probe import RISK, family, probe_json, probe_lines, provider_waits
from renderer.providers.base import Range, add_ranges

def _uploads_text() -> str:
    """Which request fields are local files that are uploaded first, by provider."""
    return ", ".join(f"{p.TITLE} {p.UPLOADS.field}" for p in providers.all_providers() if p.UPLOADS is not None)


def _tier_text() -> str:
    table = providers.price_table()
    tiers = [(p, p.rate_tier({}, table)) for p in providers.all_providers()]
    named = [(p, t) for p, t in tiers if t is not None]
    which = " or ".join(f"{p.TITLE} tier" for p, _ in named)
    default = named[0][1].name if named else "none"
    return f"{which} whose published limit applies ({default} when the campaign names none)."


PLAN_JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "renderer plan --json",
    "description": "What a run of the campaign would do and spend. docs/plan-json.md explains each field.",
    "type": "object",
    "required": ["campaign", "credits", "budget", "requests", "totals", "changes", "unknown_prices", "jobs"],
    "$defs": {
        "credits": {
            "description": "Credits as a closed range {min, max}; equal bounds when the price is exact.",
            "type": "object",
            "required": ["min", "max"],
            "properties": {
                "min": {"type": ["number", "null"], "description": "Least credits; null when the price is unknown."},
                "max": {"type": ["number", "null"], "description": "Most credits; null when the price is unknown."},
                "unknown": {"const": True, "description": "Present when some price is unknown (never priced as 0)."},
            },
            "additionalProperties": False,
        },
        "seconds": {
            "description": "Seconds of video as a closed range {min, max}.",
            "type": "object",
            "required": ["min", "max"],
            "properties": {
                "min": {"type": "number", "description": "Shortest length."},
                "max": {"type": "number", "description": "Longest length."},
            },
            "additionalProperties": False,
        },
        "ids": {"description": "Instance ids.", "type": "array", "items": {"type": "string"}},
        "group": {
            "description": "Jobs to run in one group, and their credits.",
            "type": "object",
            "required": ["jobs", "credits"],
            "properties": {
                "jobs": {"type": "integer", "description": "Instances to run in this group."},
                "credits": {"$ref": "#/$defs/credits"},
            },
            "additionalProperties": False,
        },
    },
    "properties": {
        "campaign": {"type": "string", "description": "The campaign's name."},
        "credits": {
            "$ref": "#/$defs/credits",
            "description": (
                "What the plan would spend: the sum over jobs whose action is run (reused and skipped jobs add "
                "nothing). When some price is unknown, min/max are the sum of the known prices and unknown is true."
            ),
        },
        "budget": {
            "type": "object",
            "description": "The campaign's budget and whether the plan may pass it.",
            "required": ["max_credits", "over"],
            "properties": {
                "max_credits": {"type": ["number", "null"], "description": "budget.max_credits, or null when the campaign sets none."},
                "over": {
                    "type": "boolean",
                    "description": ("credits.max (of the known prices) plus what earlier runs spent is above max_credits, "
                                    "or a job to run has no known price; the command exits 3."),
                },
                "spent": {"type": "number", "description": "Credits earlier runs were charged (the manifest's credits.spent); present when not 0."},
                "factors": {
                    "type": "object",
                    "description": ("Pricing families the API charged above their estimate (the manifest's credits.families): "
                                    "their jobs count at estimate x factor here and in the run; present when there are some."),
                    "additionalProperties": {"type": "number", "description": "Charged / estimated, above 1."},
                },
                "probe": {
                    "type": "object",
                    "description": ("Present with a budget and budget.probe on: the pricing families with more than one job "
                                    "to run, whose first job goes alone until the API says what it charged."),
                    "required": ["families"],
                    "properties": {
                        "families": {
                            "type": "object",
                            "description": "By pricing family.",
                            "additionalProperties": {
                                "description": "One family's probe.",
                                "type": "object",
                                "required": ["jobs"],
                                "properties": {
                                    "jobs": {"type": "integer", "description": "Its jobs to run; all but the first wait."},
                                    "charged_at": {
                                        "enum": ["submission", "completion", "never"],
                                        "description": ("When the API said the charge last time: at submission the wait is one "
                                                        "answer, at completion a whole render."),
                                    },
                                    "wait_seconds": {"type": "integer", "description": "How long the wait was last time."},
                                },
                                "additionalProperties": False,
                            },
                        },
                    },
                    "additionalProperties": False,
                },
                "risk": {"type": "string", "description": "Present with budget.probe: false: what skipping the probe risks."},
            },
            "additionalProperties": False,
        },
        "requests": {
            "type": "object",
            "description": "API requests the run needs at least, and the least wall time the rate limits allow.",
            "required": ["submissions", "uploads", "requests", "by_provider"],
            "properties": {
                "submissions": {"type": "integer", "description": "Jobs to submit (action run)."},
                "uploads": {"type": "integer", "description": f"Local files to upload first ({_uploads_text()})."},
                "requests": {"type": "integer", "description": "Uploads + submissions + one status read per job."},
                "by_provider": {
                    "type": "object",
                    "description": f"The same counts per provider ({', '.join(providers.PROVIDERS)}), with the rate limit that applies.",
                    "additionalProperties": {
                        "description": "One provider's counts.",
                        "type": "object",
                        "required": ["submissions", "uploads", "requests"],
                        "properties": {
                            "submissions": {"type": "integer", "description": "Jobs of this provider to submit."},
                            "uploads": {"type": "integer", "description": "Files to upload to this provider."},
                            "requests": {"type": "integer", "description": "Uploads + submissions + one status read per job."},
                            "tier": {
                                "enum": ["pro", "business", "enterprise"],
                                "description": _tier_text(),
                            },
                            "requests_per_minute": {
                                "type": "number",
                                "description": "`providers.<name>.requests_per_minute`, else the tier's published limit (pro 50, business 200, enterprise 10,000).",
                            },
                            "least_wall_seconds": {
                                "type": "integer",
                                "description": (
                                    "(ceil(requests / requests_per_minute) - 1) x 60: a one-minute window allows "
                                    "requests_per_minute requests at once, each further share waits for a reset; "
                                    "plus the longest wait of the budget's probe for this provider's families as "
                                    "earlier runs measured it (budget.probe); the run cannot finish sooner."
                                ),
                            },
                        },
                        "additionalProperties": False,
                    },
                },
            },
            "additionalProperties": False,
        },
        "totals": {
            "type": "object",
            "description": "Jobs to run and their credits, grouped.",
            "required": ["endpoint", "video_model"],
            "properties": {
                "endpoint": {"type": "object", "description": "By endpoint.", "additionalProperties": {"$ref": "#/$defs/group"}},
                "video_model": {"type": "object", "description": "By input.video_model (video routes).", "additionalProperties": {"$ref": "#/$defs/group"}},
            },
            "additionalProperties": False,
        },
        "changes": {
            "type": "object",
            "description": "Instance ids compared with the manifest (--manifest, or the one beside the campaign).",
            "required": ["added", "changed", "reused", "removed"],
            "properties": {
                "added": {"$ref": "#/$defs/ids", "description": "Not in the manifest."},
                "changed": {"$ref": "#/$defs/ids", "description": "In the manifest but not reusable: another input, or not completed."},
                "reused": {"$ref": "#/$defs/ids", "description": "Completed in the manifest with the same input_sha256 (action reuse)."},
                "removed": {"$ref": "#/$defs/ids", "description": "In the manifest, no longer in the campaign."},
            },
            "additionalProperties": False,
        },
        "unknown_prices": {"$ref": "#/$defs/ids", "description": "Jobs to run whose price is unknown (see their assumptions)."},
        "jobs": {
            "type": "array",
            "description": "Every instance, in dependency order (a job's instances in matrix order).",
            "items": {
                "type": "object",
                "required": ["id", "job", "endpoint", "needs", "action", "credits", "estimated_credits", "duration",
                             "pending", "input_sha256", "assumptions"],
                "properties": {
                    "id": {"type": "string", "description": "Instance id: the job name, with `[key=value,...]` for a matrix job."},
                    "job": {"type": "string", "description": "The job (key under jobs:) it comes from."},
                    "endpoint": {"type": "string", "description": "`<provider>/<route>`, as the campaign names it."},
                    "needs": {"$ref": "#/$defs/ids", "description": "Upstream instance ids it waits for."},
                    "action": {
                        "enum": ["run", "reuse", "skip", "cancelled"],
                        "description": ("run; reuse (completed in the manifest with the same input); skip (left out by --select); "
                                        "cancelled (cancelled in the manifest with the same input: not sent again without "
                                        "--rerun-cancelled)."),
                    },
                    "credits": {"$ref": "#/$defs/credits", "description": "What this plan spends on it: its price when run, else 0."},
                    "estimated_credits": {"$ref": "#/$defs/credits", "description": "Its price, whatever the action."},
                    "duration": {
                        "anyOf": [{"$ref": "#/$defs/seconds"}, {"type": "null"}],
                        "description": "Seconds of video it yields, when known; translations and joins are priced from it.",
                    },
                    "pending": {"type": "boolean", "description": "Some input waits for upstream outputs; it is rendered and checked at run time."},
                    "input_sha256": {
                        "type": ["string", "null"],
                        "description": "SHA-256 of the canonical request (endpoint and body); null while pending. Matched against the manifest.",
                    },
                    "assumptions": {"type": "array", "items": {"type": "string"}, "description": "What the price assumes, in words."},
                    "body": {
                        "description": (
                            "With --show-inputs, on jobs to run: the exact request body, as the docs show it. A value "
                            "known only at run time (an upstream output) is the text \"<pending INSTANCE.OUTPUT>\"."
                        ),
                    },
                    "change": {
                        "type": "object",
                        "description": "With --show-inputs, on jobs to run that the manifest holds: why they run again.",
                        "required": ["reason", "fields"],
                        "properties": {
                            "reason": {"type": "string", "description": "In words: its request changed, it failed, ..."},
                            "fields": {
                                "type": "array",
                                "description": "The fields whose value differs from the request the manifest recorded.",
                                "items": {
                                    "type": "object",
                                    "required": ["field"],
                                    "properties": {
                                        "field": {"type": "string", "description": "Path in the body: input.prompt, image_urls[0]."},
                                        "old": {"description": "The recorded value (absent: the field is new)."},
                                        "new": {"description": "The value now (absent: the field is gone)."},
                                    },
                                    "additionalProperties": False,
                                },
                            },
                        },
                        "additionalProperties": False,
                    },
                },
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}


def _tidy(x: float) -> float:
    return int(x) if float(x).is_integer() else x


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
    spent: float  # charged by earlier runs (the manifest's record), or held for what they sent
    new_max: float  # the most the jobs not sent yet may cost (known prices)
    unpriced: tuple[str, ...]  # jobs to run whose price is unknown while there is a budget
    requests: dict[str, Any]
    totals: dict[str, dict[str, dict[str, Any]]]
    changes: dict[str, list[str]]
    factors: dict[str, float] = field(default_factory=dict)  # families charged above their estimate
    probe: dict[str, Any] | None = None  # budget.probe of the JSON (renderer.plan.probe)


def summarise(plan: Plan, manifest: Manifest | Mapping[str, Any] | None = None, *,
              budget: float | None = None, spent: float | None = None,
              sent: frozenset[str] | None = None, factors: Mapping[str, float] | None = None) -> Summary:
    """``budget``: this run's limit (default the campaign's); ``spent``: charged by earlier
    runs (default what the manifest records); ``sent``: jobs to run whose submission was
    already accepted (or may have been), so that ``spent`` counts them (default: the
    manifest's pending and unknown entries with the same input); ``factors``: what each
    pricing family was charged over its estimate (default: the manifest's), as the run
    holds its jobs."""
    manifest = Manifest.coerce(manifest)
    if factors is None:
        factors = {k: f.factor for k, f in manifest.families.items() if f.factor > 1}
    run = plan.to_run
    prices = [i.price.credits for i in run]
    known = add_ranges([c for c in prices if c is not None]) or Range(0, 0)
    unknown = tuple(i.id for i, c in zip(run, prices) if c is None)
    budget = plan.campaign.budget if budget is None else budget
    if spent is None or sent is None:
        sent, held = _sent_by_manifest(plan, manifest)
        spent = manifest_spent(manifest) + held
    unpriced = tuple(i for i in unknown if i not in sent) if budget is not None else ()
    new = sum(c.max * factors.get(family(i), 1.0) for i, c in zip(run, prices) if c is not None and i.id not in sent)
    # nothing left to send spends nothing: earlier overcharges alone do not fail a plan
    over = budget is not None and ((new > 0 and new + spent > budget) or bool(unpriced))
    probe = probe_json(plan, run, budget, manifest.families)
    return Summary(
        credits=None if unknown else known,  # the sum over every instance run, as Plan.credits()
        known_credits=known,
        unknown=unknown,
        budget=budget,
        over_budget=over,
        spent=_tidy(spent),
        new_max=_tidy(new),
        unpriced=unpriced,
        requests=_requests(plan, run, provider_waits(run, probe)),
        totals=_totals(run),
        changes=_changes(plan, manifest),
        factors={k: v for k, v in factors.items() if any(family(i) == k for i in run)},
        probe=probe,
    )


def manifest_spent(manifest: Manifest | Mapping[str, Any] | None) -> float:
    """What a manifest says the campaign was charged across runs and attempts."""
    return Manifest.coerce(manifest).charged_in_all()


def _sent_by_manifest(plan: Plan, manifest: Manifest) -> tuple[frozenset[str], float]:
    """Jobs the manifest records as sent with this input (pending, unknown), and the
    estimates of those whose charge it does not know."""
    sent: set[str] = set()
    held = 0.0
    if not any(e.status in ("pending", "unknown") for e in manifest.jobs.values()):
        return frozenset(), 0.0  # the common case stays one pass
    for inst in plan.to_run:
        entry = manifest.get(inst.id)
        if entry is None or entry.status not in ("pending", "unknown"):
            continue
        if inst.input_sha256 is not None and entry.input_sha256 == inst.input_sha256:
            sent.add(inst.id)
            if entry.credits_charged is None and inst.price.credits is not None:
                held += inst.price.credits.max
    return frozenset(sent), held


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
    old = manifest.jobs
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


def plan_json(plan: Plan, summary: Summary, inputs_of: Manifest | None = None) -> dict[str, Any]:
    """The plan as JSON; with ``inputs_of`` (the manifest's jobs, --show-inputs) each job
    to run carries its body and, when the manifest holds it, what changed."""
    return {**_head_json(plan, summary), "jobs": [_job_json(inst, inputs_of) for inst in plan.instances]}


def _head_json(plan: Plan, summary: Summary) -> dict[str, Any]:
    """Every field of the plan's JSON but `jobs` (which comes last)."""
    return {
        "campaign": plan.campaign.name,
        "credits": credits_json(summary.credits) if summary.credits else {**summary.known_credits.as_dict(), "unknown": True},
        "budget": {"max_credits": summary.budget, "over": summary.over_budget,
                   **({"spent": summary.spent} if summary.spent else {}),
                   **({"factors": {k: _tidy(v) for k, v in sorted(summary.factors.items())}} if summary.factors else {}),
                   **({"probe": summary.probe} if summary.probe else {}),
                   **({"risk": RISK} if summary.budget is not None and not plan.campaign.budget_probe else {})},
        "requests": summary.requests,
        "totals": summary.totals,
        "changes": summary.changes,
        "unknown_prices": list(summary.unknown),
    }


def _job_json(inst: Instance, inputs_of: Manifest | None = None) -> dict[str, Any]:
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
    if inputs_of is not None and inst.action == "run":
        job["body"] = shown_body(inst.body)
        change = change_of(inst, inputs_of.get(inst.id))
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
        jobs = [_job_json(i, inputs_of) for i in part]
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


def costliest(plan: Plan, n: int = 5) -> list[Instance]:
    priced = [(i, i.price.credits) for i in plan.to_run if i.price.credits is not None]
    return [i for i, credits in sorted(priced, key=lambda pair: (-pair[1].max, pair[0].id))][:n]


def budget_message(plan: Plan, summary: Summary, name: Callable[[str], str] = str) -> str:
    """Why a plan is over budget; ``name`` formats instance ids (Markdown quotes them)."""
    parts = []
    if summary.budget is not None and summary.new_max > 0 and summary.new_max + summary.spent > summary.budget:
        top = ", ".join(f"{name(i.id)} ({show_credits(i.price.credits)})" for i in costliest(plan, 3))
        earlier = (f", and earlier runs were charged {summary.spent:,}" if summary.spent else "")
        held = "; ".join(f"{k} jobs were charged {v:g}x their estimate" for k, v in sorted(summary.factors.items()))
        held = f" (held at what the API charged: {held})" if held else ""
        parts.append(f"over budget: the plan may spend up to {summary.new_max:,} credits{held}{earlier}; "
                     f"budget.max_credits is {summary.budget:,}. Costliest: {top}")
    if summary.unpriced:
        shown = [plan.by_id[i] for i in summary.unpriced[:5]]
        fixes = "; ".join(f"{name(i.id)}: {' / '.join(i.price.assumptions) or 'no known price'}" for i in shown)
        more = f" (and {len(summary.unpriced) - 5} more)" if len(summary.unpriced) > 5 else ""
        parts.append(f"{len(summary.unpriced):,} job(s) to run have no known price and the campaign sets "
                     f"budget.max_credits, so run would not send them. Give their prices under `pricing` "
                     f"(or pin what the server decides under `estimate`): {fixes}{more}")
    return " Also: ".join(parts)


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


def plan_markdown(plan: Plan, summary: Summary, limit: int = MARKDOWN_LIMIT) -> str:
    """A pull-request comment: totals, changes, costliest jobs, warnings; never over ``limit``."""
    c = plan.campaign
    lines = [f"### renderer plan: {md_code(c.name)}", ""]
    spend = show_credits(summary.credits) if summary.credits else f"{show_credits(summary.known_credits)} + unknown"
    run = plan.to_run
    lines.append(f"**{spend} credits** for {len(run):,} job(s) to run; "
                 f"{len(summary.changes['reused']):,} reused from the manifest.")
    if summary.budget is not None:
        mark = "over budget" if summary.over_budget else "within budget"
        if summary.spent:
            mark += f"; {summary.spent:,} charged by earlier runs"
        lines.append(f"Budget: {summary.budget:,} credits ({mark}).")
    lines.append(requests_line(summary.requests))
    lines += probe_lines(summary.probe, plan.campaign.budget_probe, summary.budget)
    lines.append("")
    if summary.over_budget:
        lines += [f"> [!WARNING]\n> {budget_message(plan, summary, md_code)}", ""]
    if summary.unknown:
        lines += [f"> [!NOTE]\n> {len(summary.unknown):,} job(s) have no known price: "
                  + ", ".join(md_code(i) for i in summary.unknown[:10]) + ("…" if len(summary.unknown) > 10 else ""), ""]
    lines += ["| endpoint | jobs | credits |", "|---|---:|---:|"]
    for endpoint, t in summary.totals["endpoint"].items():
        cr = t["credits"]
        lines.append(f"| `{endpoint}` | {t['jobs']:,} | {show_credits(None if cr.get('unknown') else Range(cr['min'], cr['max']))} |")
    lines.append("")
    top = costliest(plan, 5)
    if top:
        lines += ["**Costliest jobs**", "", "| job | credits |", "|---|---:|"]
        lines += [f"| {md_code(i.id, cell=True)} | {show_credits(i.price.credits)} |" for i in top]
        lines.append("")
    lines += ["**Jobs**", "", plan_mermaid(plan)]
    head = "\n".join(lines)
    changes = summary.changes
    tail = ["<details><summary>Changes against the manifest: "
            + ", ".join(f"{len(changes[k]):,} {k}" for k in ("added", "changed", "removed", "reused"))
            + "</summary>", ""]
    budget_left = limit - len(head) - 200
    shown = 0
    for kind in ("added", "changed", "removed"):
        for iid in changes[kind]:
            line = f"- {kind}: {md_code(iid)}"
            if budget_left - len(line) - 1 < 0:
                break
            tail.append(line)
            budget_left -= len(line) + 1
            shown += 1
    total = sum(len(changes[k]) for k in ("added", "changed", "removed"))
    if shown < total:
        tail.append(f"- … and {total - shown:,} more (see `renderer plan --json`)")
    tail += ["", "</details>", ""]
    return head + "\n" + "\n".join(tail)


def plan_mermaid(plan: Plan) -> str:
    """The plan's DAG as a Mermaid block (or a summary above the diagram's node cap)."""
    from renderer.results.graph import Graph, mermaid

    return mermaid(Graph.of({i.id: i.needs for i in plan.instances}))
