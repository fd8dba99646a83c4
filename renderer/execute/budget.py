"""The budget during a run: every credit that can still be charged, admitted at the last moment.

``budget.max_credits`` caps what the campaign spends in all, across runs and
attempts. The ledger holds one line per journal submission (this run's and every
earlier one's); credits that only the previous manifest records (its journal is
gone) are ``spent_outside``. A submission is admitted right before its POST, when
its hold still fits:

    spent_outside + sum(ledger) + hold <= max_credits

A *hold* is the estimate's max times its pricing family's factor: what the API may
still charge. A line counts what the API said a submission cost once the job has
finished, and until then never less than its hold (an API may say ``0`` at
submission and the real charge at completion). A charge the API never said counts
at its hold for good (``counted``: what ``credits.spent`` adds up).

The probe: the first submission of a family goes alone; the others wait (``await
turn(family)``) until its charge is *known*: said when it was accepted (a figure
above 0, or any figure for a free job), said at completion, or known never to be
said (it finished without one: waiting longer would teach nothing). A charge above
the estimate raises the family's factor (charged / estimate), so that the rest are
held at what the API really asks and the budget is passed by at most that one
job's overcharge per family. Factors outlive the run (``PricingFamily``, in the
journal and the manifest). ``probe=False`` (``budget.probe: false``) skips the
wait: every job goes at its hold at once, and an API that charges more than the
docs can pass the budget by the overcharge of every job sent before a charge is
known.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import anyio

from renderer import providers
from renderer.execute import records as J
from renderer.execute.records import Submission
from renderer.manifest import PricingFamily
from renderer.text import credits as credits_text


EPSILON = 1e-6  # running sums of fractional prices drift; a budget is passed by more than this


@dataclass(frozen=True, slots=True)
class Miss:
    """A charge above the estimate."""

    instance_id: str
    family: str
    estimated: float
    charged: float


@dataclass(slots=True)
class _Family:
    factor: float = 1.0
    learned: bool = False  # this run knows when this family's charges are said: no probe needed
    probe: anyio.Event | None = None  # a first submission is in flight; set when its charge is known
    probe_started: float | None = None
    charged_at: str | None = None  # PricingFamily.charged_at, as this run (or an earlier one) saw it
    probe_seconds: float | None = None
    changed: bool = False  # learned something worth keeping since the last ``learned_families``


@dataclass(frozen=True, slots=True)
class Refusal:
    instance_id: str
    hold: float | None
    reason: str


class Turn:
    """A task's turn to submit one job of a pricing family; ``end()`` it once its charge is known
    (or the job is over)."""

    def __init__(self, family: _Family | None) -> None:
        self._family = family  # None: no turn was needed

    def end(self) -> None:
        fam, self._family = self._family, None
        if fam is not None and fam.probe is not None:
            event, fam.probe = fam.probe, None
            event.set()


def said_at(sub: Submission) -> str | None:
    """When the API said this submission's charge (``PricingFamily.charged_at``), or None: not yet."""
    if sub.state in J.FINISHED:
        return "never" if sub.credits_charged is None else "completion"
    if sub.state == J.ACCEPTED and sub.credits_charged is not None and (sub.credits_charged > 0 or not sub.estimate_max):
        return "submission"  # a 0 for a priced job is no answer yet: some APIs say the charge later
    return None


def counted(sub: Submission, factor: float = 1.0) -> float:
    """What a submission counts for in ``credits.spent``: its charge, else its hold (estimate x factor)."""
    if sub.state not in J.SPENDING:
        return 0.0
    if sub.credits_charged is not None:
        return float(sub.credits_charged)
    return float(sub.estimate_max or 0.0) * factor


@dataclass(slots=True)
class Budget:
    limit: float | None
    spent_outside: float = 0.0  # charged by runs the journal does not know (from the manifest)
    probe: bool = True  # budget.probe: the first job of a family goes alone until its charge is known
    shared: bool = False  # an account budget holds the run too (budget.account): probe even without a limit
    clock: Callable[[], float] = time.monotonic
    ledger: dict[int, float] = field(default_factory=dict)  # submission id -> charged or held
    subs: dict[int, Submission] = field(default_factory=dict)  # the latest state of every submission on it
    _counted: dict[int, float] = field(default_factory=dict)  # submission id -> ``counted`` (credits.spent)
    _counted_sum: float = 0.0
    holds: dict[int, float] = field(default_factory=dict)  # submission id -> hold at admission
    families: dict[str, _Family] = field(default_factory=dict)
    misses: dict[str, Miss] = field(default_factory=dict)  # instance id -> its latest miss
    refused: dict[str, Refusal] = field(default_factory=dict)
    # why no new POST may go at all (the jobs to send cannot fit the budget): the run still polls
    # and settles what earlier runs sent (``spending.close_if_over``)
    closed: str | None = None
    _sum: float = 0.0  # sum(ledger.values()), kept as lines change: admission is O(1)

    # -- figures -----------------------------------------------------------------------

    @property
    def committed(self) -> float:
        """Charged, plus what may still be charged: the figure admissions are held against."""
        return self.spent_outside + self._sum

    def factor(self, family: str) -> float:
        return self._family(family).factor

    def hold_for(self, family: str, estimate_max: float | None) -> float | None:
        if estimate_max is None:
            return None
        return estimate_max * self._family(family).factor

    def factors(self) -> dict[str, float]:
        """The factor of every family charged above its estimate."""
        return {name: fam.factor for name, fam in self.families.items() if fam.factor > 1}

    def knows(self, family: str) -> bool:
        """This run knows what the family's jobs cost (or that the API never says): no more probing."""
        return self._family(family).learned

    def _family(self, family: str) -> _Family:
        fam = self.families.get(family)
        if fam is None:
            fam = self.families[family] = _Family()
        return fam

    # -- what earlier runs learned ----------------------------------------------------

    def learn(self, known: Iterable[PricingFamily]) -> None:
        """Factors (and probe timings) earlier runs learned, before ``load``: holds use them."""
        for pf in known:
            fam = self._family(pf.name)
            fam.factor = max(fam.factor, pf.factor)
            fam.charged_at = fam.charged_at or pf.charged_at
            if fam.probe_seconds is None:
                fam.probe_seconds = pf.probe_seconds

    def learned_families(self, changed_only: bool = False) -> list[PricingFamily]:
        """What the run knows about each family, to keep (journal, manifest); ``changed_only``:
        what changed since the last call that asked so."""
        out = []
        for name, fam in sorted(self.families.items()):
            if changed_only and not fam.changed:
                continue
            fam.changed = fam.changed and not changed_only
            if fam.factor > 1 or fam.charged_at is not None:
                out.append(PricingFamily(name, fam.factor, fam.charged_at, fam.probe_seconds))
        return out

    # -- admission ---------------------------------------------------------------------

    async def turn(self, family: str) -> Turn:
        """Wait while a first submission of ``family`` is in flight; become it while its
        charges are not known yet. Without a limit (or with ``probe`` off) nobody waits."""
        if (self.limit is None and not self.shared) or not self.probe:
            return Turn(None)
        fam = self._family(family)
        while not fam.learned and fam.probe is not None:
            await fam.probe.wait()
        if fam.learned:
            return Turn(None)
        fam.probe = anyio.Event()
        fam.probe_started = self.clock()
        return Turn(fam)

    def admit(self, iid: str, family: str, estimate_max: float | None, resend: int | None = None) -> str | None:
        """None when a POST of ``iid`` fits now (the caller then ``hold``s it), else why not.

        ``resend``: the submission id being sent again; its own line is replaced.
        """
        if self.limit is None:
            return None
        fam = self._family(family)
        hold = self.hold_for(family, estimate_max)
        if self.closed is not None:
            self.refused[iid] = Refusal(iid, hold, self.closed)
            return self.closed
        if hold is None:
            reason = ("its price is unknown and the campaign sets budget.max_credits; "
                      "add the price under `pricing`")
            self.refused[iid] = Refusal(iid, None, reason)
            return reason
        others = self.committed - (self.ledger.get(resend, 0.0) if resend is not None else 0.0)
        if others + hold > self.limit + EPSILON:
            why = f"it may cost {credits_text(hold)} credits"
            if fam.factor > 1:
                why += f" (its estimate {credits_text(estimate_max or 0)} x {fam.factor:g}: what {family} jobs were charged)"
            reason = (f"{why} and {credits_text(others)} are charged or held: that would pass "
                      f"budget.max_credits {credits_text(self.limit)}")
            self.refused[iid] = Refusal(iid, hold, reason)
            return reason
        self.refused.pop(iid, None)
        return None

    def hold(self, sub: Submission, family: str) -> None:
        """Right after ``admit``: the submission's line is its hold until the API says more."""
        hold = self.hold_for(family, sub.estimate_max) or 0.0
        self.holds[sub.id] = hold
        self._keep(sub, family)
        self._set_line(sub.id, hold)

    # -- what the API said ----------------------------------------------------------------

    def _set_line(self, sub_id: int, amount: float) -> None:
        self._sum += amount - self.ledger.get(sub_id, 0.0)
        self.ledger[sub_id] = amount

    def line(self, sub: Submission, family: str) -> float:
        """What ``sub`` counts for on the ledger: ``counted``, and while it is not finished never
        below its hold (a charge said at submission may not be the last word)."""
        factor = self._family(family).factor
        amount = counted(sub, factor)
        if sub.state == J.AWAITING and sub.credits_charged is not None:
            return amount  # stopped for approval: what it made so far; the rest is admitted at approval
        if sub.state in J.SPENDING and sub.state not in J.FINISHED:
            amount = max(amount, self.holds.get(sub.id, 0.0), float(sub.estimate_max or 0.0) * factor)
        return amount

    def load(self, subs: Iterable[Submission]) -> None:
        """Every submission the journal knows, at the start of a run: the factors their charges
        taught first, then their lines."""
        subs = list(subs)
        for sub in subs:
            charged, est = sub.credits_charged, sub.estimate_max
            if sub.state in J.SPENDING and charged is not None and est:
                fam = self._family(family_of(sub))
                fam.factor = max(fam.factor, charged / est)
        for sub in subs:
            family = family_of(sub)
            self._keep(sub, family)
            self._set_line(sub.id, self.line(sub, family))

    def record(self, sub: Submission, family: str) -> None:
        """A submission's new state: its line; what its charge teaches the family."""
        fam = self._family(family)
        charged, est = sub.credits_charged, sub.estimate_max
        if sub.state in J.SPENDING and charged is not None and est:
            if charged > est:
                self.misses[sub.instance_id] = Miss(sub.instance_id, family, est, charged)
            if charged / est > fam.factor:
                fam.factor, fam.changed = charged / est, True
                self._recount(family)
        self._keep(sub, family)
        self._set_line(sub.id, self.line(sub, family))
        when = said_at(sub)
        if when is not None and not fam.learned:
            fam.learned, fam.changed = True, True
            fam.charged_at = when
            if fam.probe_started is not None:
                fam.probe_seconds = self.clock() - fam.probe_started

    def _keep(self, sub: Submission, family: str) -> None:
        """The latest state of ``sub``, and what it counts for in ``credits.spent``."""
        self.subs[sub.id] = sub
        amount = counted(sub, self._family(family).factor)
        self._counted_sum += amount - self._counted.get(sub.id, 0.0)
        self._counted[sub.id] = amount

    def _recount(self, family: str) -> None:
        """A family's factor rose: what its submissions count for, again."""
        for sub in list(self.subs.values()):
            if family_of(sub) == family:
                self._keep(sub, family)

    def spent(self) -> float:
        """``credits.spent``: what only the manifest knew, and ``counted`` over every submission on
        the ledger (all the journal knows, once ``load``ed) at the families' factors."""
        return self.spent_outside + self._counted_sum


def family_of(sub: Submission) -> str:
    """A submission's pricing family (its endpoint, for a route no provider knows any more)."""
    return providers.family(sub.endpoint)
