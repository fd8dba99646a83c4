"""The budget during a run: every credit that can still be charged, admitted at the last moment.

``budget.max_credits`` caps what the campaign spends in all, across runs and
attempts. The ledger holds one line per journal submission (this run's and every
earlier one's): what the API charged, else what it may still charge (a hold).
Credits that only the previous manifest records (its journal is gone) are
``spent_outside``. A submission is admitted right before its POST, when its hold
still fits:

    spent_outside + sum(ledger) + hold <= max_credits

A hold is the estimate's max times its pricing family's factor. The first
submission of a family goes alone: the others wait (``await turn(family)``) until
its answer says what it really cost. A charge above the estimate raises the
family's factor (charged / estimate) so that the rest are held at what the API
really asks, and is kept as an estimate miss.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import anyio

from renderer.execute import records as J
from renderer.execute.records import Submission
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
    learned: bool = False  # an accepted submission of this family has said what it costs
    probe: anyio.Event | None = None  # a first submission is in flight; set when its answer is in


@dataclass(frozen=True, slots=True)
class Refusal:
    instance_id: str
    hold: float | None
    reason: str


class Turn:
    """A task's turn to submit one job of a pricing family; ``end()`` it once the answer is in."""

    def __init__(self, family: _Family | None) -> None:
        self._family = family  # None: no turn was needed

    def end(self) -> None:
        fam, self._family = self._family, None
        if fam is not None and fam.probe is not None:
            event, fam.probe = fam.probe, None
            event.set()


@dataclass(slots=True)
class Budget:
    limit: float | None
    spent_outside: float = 0.0  # charged by runs the journal does not know (from the manifest)
    ledger: dict[int, float] = field(default_factory=dict)  # submission id -> charged or held
    holds: dict[int, float] = field(default_factory=dict)  # submission id -> hold at admission
    families: dict[str, _Family] = field(default_factory=dict)
    misses: dict[str, Miss] = field(default_factory=dict)  # instance id -> its latest miss
    refused: dict[str, Refusal] = field(default_factory=dict)
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

    def _family(self, family: str) -> _Family:
        fam = self.families.get(family)
        if fam is None:
            fam = self.families[family] = _Family()
        return fam

    # -- admission ---------------------------------------------------------------------

    async def turn(self, family: str) -> Turn:
        """Wait while a first submission of ``family`` is in flight; become it when none has
        been accepted yet. Without a limit nobody waits."""
        if self.limit is None:
            return Turn(None)
        fam = self._family(family)
        while not fam.learned and fam.probe is not None:
            await fam.probe.wait()
        if fam.learned:
            return Turn(None)
        fam.probe = anyio.Event()
        return Turn(fam)

    def admit(self, iid: str, family: str, estimate_max: float | None, resend: int | None = None) -> str | None:
        """None when a POST of ``iid`` fits now (the caller then ``hold``s it), else why not.

        ``resend``: the submission id being sent again; its own line is replaced.
        """
        if self.limit is None:
            return None
        fam = self._family(family)
        hold = self.hold_for(family, estimate_max)
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
        self._line(sub.id, hold)

    # -- what the API said ----------------------------------------------------------------

    def _line(self, sub_id: int, amount: float) -> None:
        self._sum += amount - self.ledger.get(sub_id, 0.0)
        self.ledger[sub_id] = amount

    def load(self, subs: Iterable[Submission]) -> None:
        """Every submission the journal knows, at the start of a run."""
        for sub in subs:
            self._line(sub.id, _cost(sub, None))

    def record(self, sub: Submission, family: str) -> None:
        """A submission's new state: its charge when known, else its hold (0 when refused)."""
        self._line(sub.id, _cost(sub, self.holds.get(sub.id)))
        fam = self._family(family)
        charged, est = sub.credits_charged, sub.estimate_max
        if sub.state in J.SPENDING and charged is not None and est:
            if charged > est:
                self.misses[sub.instance_id] = Miss(sub.instance_id, family, est, charged)
            fam.factor = max(fam.factor, charged / est)
        if sub.state in (J.ACCEPTED, J.COMPLETED, J.FAILED, J.CANCELLED):
            fam.learned = True  # as much as an answer tells is known now


def _cost(sub: Submission, hold: float | None) -> float:
    """``Submission.cost``; while nothing says what it was charged, never below its hold."""
    if sub.state in J.SPENDING and sub.credits_charged is None:
        return float(max(hold or 0.0, sub.cost or 0.0))
    return float(sub.cost or 0.0)

