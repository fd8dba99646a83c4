"""Money: the budget decision `plan` and `run` share, and how credits are written.

``check_budget`` is the one rule (what ``plan`` passes, ``run`` does; what ``run`` would
refuse, ``plan`` fails): the jobs left to send may cost at most the budget less what
earlier runs spent (or may have spent, for what they sent), and with a budget no job
to send may have an unknown price. ``budget_message`` says why a plan fails it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from renderer import providers
from renderer.manifest import Manifest
from renderer.plan.model import Instance, Plan
from renderer.vocabulary import JobStatus, Range, add_ranges


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
class BudgetCheck:
    """The money figures of a plan, and whether they pass its budget."""

    credits: Range | None
    known_credits: Range  # sum over instances whose price is known
    unknown: tuple[str, ...]  # ids whose price is unknown
    budget: float | None
    over_budget: bool
    spent: float  # charged by earlier runs (the manifest's record), or held for what they sent
    new_max: float  # the most the jobs not sent yet may cost (known prices, at the families' factors)
    unpriced: tuple[str, ...]  # jobs to run whose price is unknown while there is a budget
    factors: dict[str, float]  # pricing families of jobs to run that the API charged above their estimate
    new_min: float  # the least the jobs not sent yet cost (known prices)
    to_send: int  # how many jobs this run sends (jobs to run that no earlier run sent)
    continuing: dict[str, float]  # jobs stopped at their approval point -> what continuing them may cost (in new_max)


def check_budget(plan: Plan, manifest: Manifest | Mapping[str, Any] | None = None, *,
                 budget: float | None = None, spent: float | None = None,
                 sent: frozenset[str] | None = None, factors: Mapping[str, float] | None = None,
                 approved: Callable[[str, str | None], bool] | None = None) -> BudgetCheck:
    """``budget``: this run's limit (default the campaign's); ``spent``: charged by earlier
    runs (default what the manifest records); ``sent``: jobs to run whose submission was
    already accepted (or may have been), so that ``spent`` counts them (default: the
    manifest's pending and unknown entries with the same input); ``factors``: what each
    pricing family was charged over its estimate (default: the manifest's
    ``credits.families``), as the run holds its jobs; ``approved(instance id, request id)``: whether a
    job stopped at its approval point is approved, so that what continuing it may cost counts
    (``continuing`` says it for every paused job)."""
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
    waiting = _continuations(plan, manifest, factors)
    new = sum(c.max * factors.get(family(i), 1.0) for i, c in zip(run, prices)
              if c is not None and i.id not in sent and i.id not in waiting)
    if approved is not None:
        new += sum(v for k, v in waiting.items() if approved(k, manifest.jobs[k].request_id))
    new_min = sum(c.min for i, c in zip(run, prices) if c is not None and i.id not in sent and i.id not in waiting)
    # nothing left to send spends nothing: earlier overcharges alone do not fail a plan
    over = budget is not None and ((new > 0 and new + spent > budget) or bool(unpriced))
    return BudgetCheck(
        credits=None if unknown else known,  # the sum over every instance run, as Plan.credits()
        known_credits=known,
        unknown=unknown,
        budget=budget,
        over_budget=over,
        spent=_tidy(spent),
        new_max=_tidy(new),
        unpriced=unpriced,
        factors={k: v for k, v in factors.items() if any(family(i) == k for i in run)},
        new_min=_tidy(new_min),
        to_send=sum(1 for i in run if i.id not in sent and i.id not in waiting),
        continuing={k: _tidy(v) for k, v in waiting.items()},
    )


def family(inst: Instance) -> str:
    """An instance's pricing family (its endpoint, for a route no provider knows)."""
    return providers.family(inst.endpoint)


def manifest_spent(manifest: Manifest | Mapping[str, Any] | None) -> float:
    """What a manifest says the campaign was charged across runs and attempts."""
    return Manifest.coerce(manifest).charged_in_all()


def _sent_by_manifest(plan: Plan, manifest: Manifest) -> tuple[frozenset[str], float]:
    """Jobs the manifest records as sent with this input (pending, unknown), and the
    estimates of those whose charge it does not know."""
    sent: set[str] = set()
    held = 0.0
    if not any(e.status in (JobStatus.PENDING, JobStatus.UNKNOWN) for e in manifest.jobs.values()):
        return frozenset(), 0.0  # the common case stays one pass
    for inst in plan.to_run:
        entry = manifest.get(inst.id)
        if entry is None or entry.status not in (JobStatus.PENDING, JobStatus.UNKNOWN):
            continue
        if inst.input_sha256 is not None and entry.input_sha256 == inst.input_sha256:
            sent.add(inst.id)
            if entry.credits_charged is None and inst.price.credits is not None:
                held += inst.price.credits.max
    return frozenset(sent), held


def _continuations(plan: Plan, manifest: Manifest, factors: Mapping[str, float]) -> dict[str, float]:
    """Jobs stopped at their approval point with this input: what continuing may still cost (the
    full price, less what the manifest says the API charged before the stop), as the run admits it."""
    if not any(e.status == JobStatus.AWAITING_APPROVAL for e in manifest.jobs.values()):
        return {}
    out: dict[str, float] = {}
    for inst in plan.to_run:
        entry = manifest.get(inst.id)
        if entry is None or entry.status != JobStatus.AWAITING_APPROVAL or entry.input_sha256 != inst.input_sha256:
            continue
        full = inst.price.credits.max * factors.get(family(inst), 1.0) if inst.price.credits is not None else None
        if full is not None:
            out[inst.id] = max(0.0, full - (entry.credits_charged or 0.0))
    return out


def costliest(plan: Plan, n: int = 5) -> list[Instance]:
    priced = [(i, i.price.credits) for i in plan.to_run if i.price.credits is not None]
    return [i for i, credits in sorted(priced, key=lambda pair: (-pair[1].max, pair[0].id))][:n]


def budget_message(plan: Plan, summary: BudgetCheck, name: Callable[[str], str] = str) -> str:
    """Why a plan is over budget; ``name`` formats instance ids (Markdown quotes them)."""
    parts = []
    if summary.budget is not None and summary.new_max > 0 and summary.new_max + summary.spent > summary.budget:
        top = ", ".join(f"{name(i.id)} ({show_credits(i.price.credits)})" for i in costliest(plan, 3))
        earlier = (f", and earlier runs spent {summary.spent:,}" if summary.spent else "")
        held = "; ".join(f"{k} jobs were charged {v:g}x their estimate" for k, v in sorted(summary.factors.items()))
        held = f" (held at what the API charged: {held})" if held else ""
        parts.append(f"over budget: the plan may spend up to {summary.new_max:,} credits{held}{earlier}; "
                     f"{limit_name(plan.campaign.budget, summary.budget)} is {summary.budget:,}. Costliest: {top}")
    if summary.unpriced:
        shown = [plan.by_id[i] for i in summary.unpriced[:5]]
        fixes = "; ".join(f"{name(i.id)}: {' / '.join(i.price.assumptions) or 'no known price'}" for i in shown)
        more = f" (and {len(summary.unpriced) - 5} more)" if len(summary.unpriced) > 5 else ""
        parts.append(f"{len(summary.unpriced):,} job(s) to run have no known price and the campaign sets "
                     f"budget.max_credits, so run would not send them. Give their prices under `pricing` "
                     f"(or pin what the server decides under `estimate`): {fixes}{more}")
    if not parts:
        return ""
    said = " Also: ".join(parts)
    return f"{said}{'' if said.endswith('.') else '.'} {ways_out(plan.campaign.path, plan.campaign.budget, summary.budget)}"


def limit_name(campaign: float | None, limit: float) -> str:
    """Which limit binds: the campaign's ``budget.max_credits``, or ``--max-credits`` below it."""
    return "budget.max_credits" if campaign is not None and limit >= campaign else "--max-credits"


def ways_out(file: str, campaign: float | None, limit: float | None) -> str:
    """What a user can do about a run the budget stops (``campaign``: its budget.max_credits;
    ``limit``: this run's): the last sentence of every over-budget message."""
    lowered = limit is not None and (campaign is None or limit < campaign)
    cap = (f"raise --max-credits (this run's limit, {limit:,}; it never goes above budget.max_credits) or drop it"
           if lowered else "--max-credits N sets a lower limit for one run")
    return (f"Ways out: raise budget.max_credits in {file}; send fewer jobs with --select PATTERN "
            f"(`renderer plan --select PATTERN` prices them first); {cap}.")
