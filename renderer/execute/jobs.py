"""One job during a run: its in-memory state (``JobState``), and the run's tally of them.

The journal holds what must survive a crash; a ``JobState`` holds what this run knows
of one plan instance: its ``JobStatus`` (``renderer.vocabulary``), the submission it
is on, the body it sends once rendered, its outputs once finished. Every part of the
run reads and moves it (``gating``: may it run; ``runner``: its life; ``tracker``:
its outcomes).

``Tally`` follows every job as it moves, so the run's figures cost nothing per event:
how many jobs are in each status and how many the plan selected (the progress line), what
the jobs not sent yet may still cost per provider and pricing family (the balance note,
``Submitter``), and
which jobs changed since the manifest's last checkpoint (``changed``: the checkpoint
rebuilds only their entries, ``renderer.execute.manifest.Snapshots``). Setting any
field of a job marks it changed; its ``status`` and ``price`` are properties so that
setting one also moves it in the counts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

import anyio

from renderer import providers
from renderer.execute.budget import Turn
from renderer.execute.records import Submission
from renderer.manifest import ExactSum, ManifestEntry
from renderer.plan.model import Instance
from renderer.vocabulary import JobStatus, Outputs, Price

UNSENT = frozenset({JobStatus.WAITING, JobStatus.QUEUED})  # what the balance note counts as still to come


@dataclass(slots=True, eq=False)
class JobState:
    """One instance during a run (in memory; the journal holds what must survive)."""

    inst: Instance
    done: anyio.Event = field(default_factory=anyio.Event)
    error: str | None = None
    sha: str | None = None
    sub: Submission | None = None
    outputs: Outputs | None = None
    reused: ManifestEntry | None = None  # the previous manifest entry it reuses
    turn: Turn | None = None  # its pricing family's turn, while its POST is unanswered
    held_back: str | None = None  # why the budget did not admit its POST
    body: Any = None  # the rendered request body it sends (before any upload), once known
    _status: JobStatus = field(default=JobStatus.WAITING, init=False, repr=False)
    _price: Price | None = field(default=None, init=False, repr=False)  # once its body is rendered
    _tally: Tally | None = field(default=None, init=False, repr=False)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        tally = getattr(self, "_tally", None)  # unset while the dataclass initialises
        if tally is not None:
            tally.changed.add(self.inst.id)  # the manifest's checkpoint rebuilds only what changed

    @property
    def status(self) -> JobStatus:
        return self._status

    @status.setter
    def status(self, new: JobStatus) -> None:
        old, self._status = self._status, new
        if self._tally is not None and old != new:
            self._tally.moved(self, old, new)

    @property
    def price(self) -> Price | None:
        """Its price once its body is rendered (a pending body's may differ from the plan's)."""
        return self._price

    @price.setter
    def price(self, new: Price | None) -> None:
        old = self.priced
        self._price = new
        if self._tally is not None:
            self._tally.repriced(self, old)

    @property
    def priced(self) -> Price:
        """What it may cost: its rendered body's price, else the plan's."""
        return self._price if self._price is not None else self.inst.price


class Tally:
    """The jobs of a run by status, and the estimates of those not sent yet, kept as they move."""

    def __init__(self) -> None:
        self.changed: set[str] = set()  # jobs whose manifest entry may differ from the last checkpoint's
        self._ids: list[str] = []
        self._counts: Counter[JobStatus] = Counter()
        self.on_move: Callable[[JobState, JobStatus], None] | None = None  # told of every status change
        self.selected = 0  # jobs the plan selected (not skipped)
        # provider -> pricing family -> the sum of the estimates' max of its jobs in UNSENT (exact:
        # a sum that jobs enter and leave must come back to 0, not to 1e-17)
        self._unsent: dict[str, dict[str, ExactSum]] = {}

    def follow(self, st: JobState) -> None:
        """Count ``st`` from now on (once, when the run is set up); it starts changed."""
        st._tally = self
        self._ids.append(st.inst.id)
        if st.inst.action != "skip":
            self._counts[st.status] += 1
            self.selected += 1
        if st.status in UNSENT:
            self._add(st, st.priced, 1)

    def all_changed(self) -> None:
        """Every job's entry may differ (a pricing family's new factor changes what they hold)."""
        self.changed.update(self._ids)

    def counts(self) -> dict[str, int]:
        """How many jobs (those the plan selected) are in each status now."""
        return {str(status): n for status, n in self._counts.items() if n}

    def to_come(self, provider: str, hold: Callable[[str, float], float | None]) -> float:
        """What the jobs of ``provider`` not sent yet may cost: ``hold(family, estimate)`` each family."""
        out = 0.0
        for family, total in self._unsent.get(provider, {}).items():
            out += hold(family, total.value()) or 0.0
        return out

    def moved(self, st: JobState, old: JobStatus, new: JobStatus) -> None:
        if st.inst.action != "skip":
            self._counts[old] -= 1
            self._counts[new] += 1
        if (old in UNSENT) != (new in UNSENT):
            self._add(st, st.priced, 1 if new in UNSENT else -1)
        if self.on_move is not None:
            self.on_move(st, new)

    def repriced(self, st: JobState, old: Price) -> None:
        if st.status in UNSENT:
            self._add(st, old, -1)
            self._add(st, st.priced, 1)

    def _add(self, st: JobState, price: Price, sign: int) -> None:
        route = providers.route(st.inst.endpoint)
        if route is None or price.credits is None:
            return
        self._unsent.setdefault(route.provider, {}).setdefault(route.family, ExactSum()).add(price.credits.max, sign)
