"""What a run may spend, what earlier runs spent, and what a run stopped by the budget says."""

from __future__ import annotations

from collections.abc import Mapping

from pathlib import Path

from renderer.errors import UsageError
from renderer.execute import records as J
from renderer.execute.budget import Budget
from renderer.execute.store import JournalStore
from renderer.manifest import Manifest
from renderer.plan.model import Plan
from renderer.money import manifest_spent
from renderer.plan.views import Summary, summarise
from renderer.text import credits as credits_text


def run_limit(campaign_budget: float | None, max_credits: float | None) -> float | None:
    """``budget.max_credits``, lowered for one run by ``--max-credits`` (never raised)."""
    if max_credits is None:
        return campaign_budget
    if max_credits < 0:
        raise UsageError(f"--max-credits must be 0 or more, not {max_credits:g}")
    limit = max_credits if campaign_budget is None else min(campaign_budget, max_credits)
    return int(limit) if float(limit).is_integer() else limit


def opening_budget(limit: float | None, previous: Manifest | None, journal: JournalStore) -> Budget:
    """The budget at the start of a run: every submission the journal knows is on its
    ledger, and what only the manifest remembers is ``spent_outside``."""
    _, outside = prior_spend(previous, journal)
    budget = Budget(limit, spent_outside=outside)
    budget.load(journal.all())
    return budget


def opening(plan: Plan, previous: Manifest | None, journal: JournalStore, limit: float | None,
            rerun_cancelled: bool, manifest_path: Path,
            targets: Mapping[str, str] | None = None) -> tuple[Summary, Budget, str | None]:
    """What a run knows before it sends anything (and ``plan`` with a shared store, in a
    transaction it rolls back): the manifest's accepted jobs adopted into the journal,
    every submission on the budget's ledger, the plan summarised against both; with a
    note when something was adopted."""
    from renderer.execute.adoption import adopt_from_manifest  # the scheduler's key: imported only when a run is near

    note = adopt_from_manifest(plan, journal, previous).note(manifest_path, journal.label)  # the manifest is the record
    budget = opening_budget(limit, previous, journal)  # after adoption: adopted renders are on its ledger
    summary = summarise(plan, previous, budget=limit, spent=budget.committed,
                        sent=sent_before(plan, journal, rerun_cancelled), targets=targets)
    return summary, budget, note


def journal_charged(journal: JournalStore) -> float:
    return sum(s.credits_charged or 0.0 for s in journal.all() if s.state in J.SPENDING)


def prior_spend(previous: Manifest | None, journal: JournalStore) -> tuple[float, float]:
    """(charged by earlier runs, the part of it only the manifest knows).

    Both the journal and the manifest count every run and attempt; the manifest may
    know runs whose journal is gone (another CI machine), the journal a run that
    ended before its manifest was written. The larger count wins.
    """
    known = journal_charged(journal)
    recorded = manifest_spent(previous)
    outside = max(0.0, recorded - known)
    return known + outside, outside


def sent_before(plan: Plan, journal: JournalStore, rerun_cancelled: bool) -> frozenset[str]:
    """Jobs to run whose submission with this very input an earlier run sent and that
    this run will not send again (it polls, settles or keeps them): the ledger counts them."""
    kept = {J.ACCEPTED, J.COMPLETED, J.SENDING, J.UNKNOWN} | (set() if rerun_cancelled else {J.CANCELLED})
    out = set()
    for (iid, sha), sub in journal.current_all().items():
        inst = plan.by_id.get(iid)
        if inst is not None and inst.input_sha256 == sha and sub.state in kept:
            out.add(iid)
    return frozenset(out)



def budget_lines(budget: Budget, charged_now: float) -> list[str]:
    """What a run says about the budget: estimate misses, and why it held jobs back."""
    lines = []
    for miss in sorted(budget.misses.values(), key=lambda m: m.instance_id):
        lines.append(
            f"note: {miss.instance_id} was charged {credits_text(miss.charged)} credits, above its estimate of "
            f"{credits_text(miss.estimated)}; the other {miss.family} jobs were held at {budget.factor(miss.family):g}x their estimate")
    if budget.refused and budget.limit is not None:
        held = [r.hold for r in budget.refused.values()]
        worth = f" that may cost {credits_text(sum(h for h in held if h is not None))} credits" if all(h is not None for h in held) \
            else ""
        first = next(iter(budget.refused.values()))
        lines.append(
            f"budget: stopped within budget.max_credits {credits_text(budget.limit)}: charged {credits_text(charged_now)} credits in all "
            f"(this run and earlier ones); held back {len(budget.refused):,} job(s){worth}: "
            f"{first.instance_id}: {first.reason}")
    return lines
