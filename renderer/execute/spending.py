"""What a run may spend, what earlier runs spent, what a run stopped by the budget says, and
the question a run asks before paying.

Ask before paying: `renderer run` on a terminal shows what it is about to send (how many
jobs, the credits they may cost, the budget left) and asks, as ``terraform apply`` does. The
command line decides whether there is anyone to ask (a terminal on both ends) and hands the
run an ``Ask``; without one (CI, a pipe), or with ``--yes``, the run goes on as the reviewed
plan said. A rehearsal (``--sandbox``) costs nothing and never asks, nor does a run with
nothing left to send (it only polls what earlier runs sent).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from renderer.errors import BudgetExceeded, Declined, UsageError
from renderer.execute.account import AccountGate, check_fits, open_gate
from renderer.execute import records as J
from renderer.execute.budget import EPSILON, Budget
from renderer.execute.inflight import Intent
from renderer.execute.store import JournalStore
from renderer.manifest import Manifest
from renderer.money import manifest_spent
from renderer.plan.model import Plan
from renderer.plan.views import Summary, summarise
from renderer.money import BudgetCheck
from renderer.targets import describe
from renderer.text import credits as credits_text

# States of a submission a run still polls or settles: its answer or its result is to come.
SETTLING = frozenset({J.SENDING, J.ACCEPTED})


def run_limit(campaign_budget: float | None, max_credits: float | None) -> float | None:
    """``budget.max_credits``, lowered for one run by ``--max-credits`` (never raised)."""
    if max_credits is None:
        return campaign_budget
    if not 0 <= max_credits <= 2**53:  # NaN too: it compares with nothing
        raise UsageError(f"--max-credits must be a number from 0 to 2^53, not {max_credits:g}")
    limit = max_credits if campaign_budget is None else min(campaign_budget, max_credits)
    return int(limit) if float(limit).is_integer() else limit


def opening_budget(limit: float | None, previous: Manifest | None, journal: JournalStore,
                   probe: bool = True) -> Budget:
    """The budget at the start of a run: the factors earlier runs learned (the manifest's and
    the journal's), every submission the journal knows on its ledger, and what only the
    manifest remembers as ``spent_outside``.

    Both the journal and the manifest count every run and attempt (a charge never said at
    its hold); the manifest may know runs whose journal is gone (another CI machine), the
    journal a run that ended before its manifest was written. The larger count wins.
    """
    budget = Budget(limit, probe=probe)
    budget.learn(previous.families.values() if previous is not None else ())
    budget.learn(journal.families().values())
    budget.load(journal.all())
    budget.spent_outside = max(0.0, manifest_spent(previous) - budget.spent())
    return budget


def opening(plan: Plan, previous: Manifest | None, journal: JournalStore, limit: float | None,
            rerun_cancelled: bool, manifest_path: Path, targets: Mapping[str, str] | None = None,
            intents: Iterable[Intent] = (),
            approved: Callable[[str, str | None], bool] | None = None) -> tuple[Summary, Budget, str | None]:
    """What a run knows before it sends anything (and ``plan`` with a shared store, in a
    transaction it rolls back): the manifest's accepted jobs, and the POSTs named beside it
    (``intents``, ``renderer.execute.inflight``), adopted into the journal, every submission
    on the budget's ledger at the factors earlier runs learned, the plan summarised against
    both; with a note when something was adopted."""
    from renderer.execute.adoption import adopt_from_manifest  # the scheduler's key: imported only when a run is near

    note = adopt_from_manifest(plan, journal, previous, intents).note(manifest_path, journal.label)  # the manifest is the record
    # after adoption: adopted renders are on its ledger
    budget = opening_budget(limit, previous, journal, probe=plan.campaign.budget_probe)
    summary = summarise(plan, previous, budget=limit, spent=budget.committed,
                        sent=sent_before(plan, journal, rerun_cancelled), targets=targets, factors=budget.factors(),
                        approved=approved)
    return summary, budget, note


def open_account(account: str | None, journal: JournalStore, budget: Budget, env: Mapping[str, str],
                 state_dir: str, owner: str, new_max: float) -> AccountGate | None:
    """The run's side of ``budget.account`` (``renderer.execute.account``), its lines in step with
    the journal; BudgetExceeded when the jobs to send cannot fit what the account has left
    (as ``plan`` says). None without an account."""
    if account is None:
        return None
    from renderer.execute.stores import account_book

    book = account_book(env, state_dir, journal)
    assert book is not None
    try:
        gate = open_gate(book, account, owner, budget.ledger, budget.subs)
    except BaseException:
        book.close()
        raise
    budget.shared = True  # a family's first job probes, as under a campaign budget
    why = check_fits(gate.status, new_max)
    if why and not settling(budget):
        book.close()
        raise BudgetExceeded(why)
    # jobs an earlier run (a killed one, another machine's) got accepted are still polled and
    # settled, their lines kept in step; nothing new is sent, and the run ends over budget (exit 3)
    gate.closed = why
    return gate


def settling(budget: Budget) -> bool:
    """Some submission on the ledger was sent and is not settled yet (an earlier run's, a killed one's)."""
    return any(sub.state in SETTLING for sub in budget.subs.values())


def close_if_over(budget: Budget, why: str) -> None:
    """A plan over the budget: ``BudgetExceeded``, unless jobs earlier runs sent wait to be polled
    and settled (a killed runner's): then the run does that and sends nothing new (exit 3)."""
    if not settling(budget):
        raise BudgetExceeded(why)
    budget.closed = f"nothing new is sent: {why}"


def sent_before(plan: Plan, journal: JournalStore, rerun_cancelled: bool) -> frozenset[str]:
    """Jobs to run whose submission with this very input an earlier run sent and that
    this run will not send again (it polls, settles or keeps them): the ledger counts them."""
    kept = ({J.ACCEPTED, J.COMPLETED, J.SENDING, J.UNKNOWN, J.AWAITING, J.APPROVING}
            | (set() if rerun_cancelled else {J.CANCELLED}))
    out = set()
    for (iid, sha), sub in journal.current_all().items():
        inst = plan.by_id.get(iid)
        if inst is not None and inst.input_sha256 == sha and sub.state in kept:
            out.add(iid)
    return frozenset(out)



def ended_over(budget: Budget, spent: float) -> float:
    """By how much what the campaign was charged (and holds) ended above its budget; 0 within."""
    if budget.limit is None or spent <= budget.limit + EPSILON:
        return 0.0
    return spent - budget.limit


def budget_lines(budget: Budget, charged_now: float, ways: str = "") -> list[str]:
    """What a run says about the budget: estimate misses, why it held jobs back (then ``ways``:
    the ways out, ``money.ways_out``), and by how much (and why) it ended above the budget."""
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
            f"{first.instance_id}: {first.reason}" + (f". {ways}" if ways else ""))
    over = ended_over(budget, charged_now)
    if over and budget.limit is not None:
        lines.append(f"budget: over budget: the campaign was charged {credits_text(charged_now)} credits in all, "
                     f"{credits_text(over)} above budget.max_credits {credits_text(budget.limit)}: {_why_over(budget)}")
    return lines


def _why_over(budget: Budget) -> str:
    if budget.misses:
        worst = sorted(budget.misses.values(), key=lambda m: m.estimated - m.charged)[:3]
        said = ", ".join(f"{m.instance_id} ({credits_text(m.charged)} for an estimate of {credits_text(m.estimated)})"
                         for m in worst)
        return (f"the API charged more than the estimates: {said}. A job is admitted only when its hold (estimate x "
                "what its pricing family was charged) fits; jobs sent before their family's first charge was known "
                "(the probe itself, or every job with budget.probe: false) can pass the budget by their overcharge")
    return ("charges (or holds of charges the API never said) above what was admitted: what earlier runs were "
            "charged rose past the budget (another machine's run, or a lowered --max-credits)")


Ask = Callable[[str], bool]  # shows the question, True when the answer is yes

QUESTION = "Send them? Only 'y' or 'yes' sends [y/N]: "


def preview(summary: BudgetCheck, targets: Mapping[str, str]) -> str:
    """What the run will send, in a few lines ending with the question."""
    cost = (credits_text(summary.new_min) if summary.new_min == summary.new_max
            else f"{credits_text(summary.new_min)}-{credits_text(summary.new_max)}")
    unknown = len(summary.unknown)
    unpriced = f" (and {unknown:,} with no known price)" if unknown else ""
    lines = [f"This run sends {summary.to_send:,} job(s) to {describe(targets)}, a paid API: they may cost "
             f"{cost} credits{unpriced}."]
    if summary.budget is not None:
        left = summary.budget - summary.spent
        lines.append(f"Budget: {credits_text(summary.budget)} credits; earlier runs spent {credits_text(summary.spent)}; "
                     f"{credits_text(left)} left, {credits_text(left - summary.new_max)} after this run at most.")
    else:
        lines.append("Budget: none set (budget.max_credits); earlier runs spent "
                     f"{credits_text(summary.spent)} credits.")
    return "\n".join(lines) + "\n" + QUESTION


def ask_before_paying(ask: Ask | None, summary: BudgetCheck, targets: Mapping[str, str], sandbox: bool,
                      account: AccountGate | None = None, budget_closed: bool = False) -> None:
    """Raise ``Declined`` unless the answer is yes; ask only with someone to ask and something to pay for
    (not when the account lets nothing new go: the run only polls what earlier runs sent)."""
    closed = (account is not None and account.closed is not None) or budget_closed
    if ask is None or sandbox or summary.to_send == 0 or closed:
        return
    if not ask(preview(summary, targets)):
        raise Declined("not run: the answer was not yes, and nothing was sent (`renderer run --yes` skips the "
                       "question; `renderer plan` shows the plan)")


def is_yes(answer: str) -> bool:
    return answer.strip().lower() in ("y", "yes")
