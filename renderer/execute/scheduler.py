"""The run itself: a small coordinator over the parts a run is made of.

``Scheduler.run`` settles the jobs the plan does not run, then starts one task per job
as the DAG lets it (``gating.DagGate``: once its upstreams have settled), in one task
group beside the providers' pollers, until every job has settled or the run is cut.
Each part has one concern:

=======================  ==========================================================
``gating``               what may run: the plan's settled jobs, upstream readiness,
                         windows of list reads
``runner``               one job's life: its verdict, its body, what the journal allows
``submitter``            one submission: admit → prepare → send → classify
``settle``               a lost answer: resend with its key, reconcile, or unknown
``collect``              an accepted job: watched by the ``Poller`` to its outcome
``tracker``              every outcome: the journal, the budget and the job together
``approval``             a render stopped for approval: left there, or continued once
``control``              run-level control: stop, interrupt, abort, timers, the
                         breaker, what stops a provider, the notes
``jobs`` / ``context``   a job's in-memory state and the run's tally; what parts share
=======================  ==========================================================

Budget (``renderer.execute.budget``): every submission, of this run or an earlier
one, counts what it was charged or may still be; a POST is admitted right before
it is sent only if its hold still fits ``budget.max_credits``, and the first job of
a pricing family keeps its turn until its charge is known. Before the POST leaves,
a line beside the manifest names it (``renderer.execute.inflight``), and the manifest
follows within a second (``renderer.execute.checkpoint``; ``changed``: the jobs whose
entries it rebuilds). Until a provider answers clearly, one of its submissions is in
flight at a time (``renderer.execute.slowstart``). A 402 stops submissions to that
provider, an interrupt (first Ctrl-C) stops all; what was accepted is still polled
after a 402, and left pending after an interrupt (a later run resumes it).

The surface the driver, the commands and the manifest use is this class's:
``Scheduler(...)``, ``run()``, ``jobs``, ``counts()``, ``credits()``, ``unreported()``,
``notes``, ``budget``, ``journal``, ``timed_out``, ``halted``/``halt_cause``,
``stop``/``interrupt``/``abort``/``time_out``, ``pollers``, ``changed``, ``checkpoint`` and
``inflight`` (set by the driver before the run) and ``on_done`` (told as each job
settles: downloads start then).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import anyio
from anyio.abc import TaskGroup

from renderer.errors import StateError
from renderer.execute.account import AccountGate
from renderer.execute.approval import Approver
from renderer.execute.budget import Budget
from renderer.execute.checkpoint import Checkpoint
from renderer.execute.client import ProviderClient
from renderer.execute.collect import Collector
from renderer.execute.context import RunContext, RunOptions
from renderer.execute.control import RunControl
from renderer.execute.gating import DagGate, settle_planned
from renderer.execute.inflight import Inflight
from renderer.execute.jobs import JobState, Tally
from renderer.execute.poller import Poller
from renderer.execute.runner import JobRunner
from renderer.execute.settings import ExecSettings
from renderer.execute.settle import Settler, SubmissionGate
from renderer.execute.store import JournalStore
from renderer.execute.submitter import Outgoing, Submitter, Tries, idempotency_key
from renderer.execute.tracker import Tracker
from renderer.manifest import Manifest
from renderer.plan.model import Plan

__all__ = ["JobState", "Outgoing", "RunOptions", "Scheduler", "SubmissionGate", "Tries", "idempotency_key"]


class Scheduler:
    def __init__(
        self,
        plan: Plan,
        journal: JournalStore,
        clients: Mapping[str, ProviderClient],
        settings: ExecSettings,
        options: RunOptions = RunOptions(),
        *,
        previous: Manifest | None = None,
        campaign_folder: Path | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        budget: Budget | None = None,
        account: AccountGate | None = None,
    ) -> None:
        self.plan = plan
        self.journal = journal
        self.clock = clock
        self.pollers = {name: Poller(c, settings.poll, clock) for name, c in clients.items()}
        self.budget = budget or Budget(plan.campaign.budget, probe=plan.campaign.budget_probe)
        self.control = RunControl(clients, self.pollers, settings)
        self.ctx = RunContext(plan, journal, clients, self.pollers, settings, options, self.budget, self.control,
                              previous or Manifest(), campaign_folder or Path(plan.campaign.folder),
                              rng or random.Random(settings.seed), clock, account)
        self.jobs: dict[str, JobState] = {i.id: JobState(i) for i in plan.instances}
        self.tally = Tally()
        for st in self.jobs.values():
            self.tally.follow(st)
        self.changed = self.tally.changed  # jobs whose manifest entry may differ from the last checkpoint's
        self.gate = DagGate(self.jobs)
        self.runner = self._runner()
        self.started = clock()
        self.spent_before = 0.0  # credits.spent of the manifest the run started from (set by run)
        self.on_done: Callable[[JobState], None] | None = None  # told as each job settles (downloads)

    def _runner(self) -> JobRunner:
        tracker = Tracker(self.ctx, self.tally)
        collector = Collector(self.ctx, tracker)
        settler = Settler(self.ctx, tracker, collector)
        submitter = Submitter(self.ctx, tracker, collector, settler, self.tally)
        approver = Approver(self.ctx, tracker, collector)
        return JobRunner(self.ctx, self.jobs, self.gate, tracker, submitter, settler, collector, approver)

    # -- control (``RunControl``) ---------------------------------------------------------

    def stop(self, reason: str, cause: str = "the run stopped") -> None:
        self.control.stop(reason, cause)

    def interrupt(self) -> None:
        self.control.interrupt()

    def abort(self) -> None:
        self.control.abort()

    def time_out(self, seconds: float) -> None:
        self.control.time_out(seconds)

    @property
    def checkpoint(self) -> Checkpoint | None:
        """The manifest's coalesced writes (``commands/run.py``, through the driver)."""
        return self.runner.tracker.checkpoint

    @checkpoint.setter
    def checkpoint(self, value: Checkpoint | None) -> None:
        self.runner.tracker.checkpoint = value

    @property
    def inflight(self) -> Inflight | None:
        """Where each POST is named beside the manifest before it leaves."""
        return self.runner.tracker.inflight

    @inflight.setter
    def inflight(self, value: Inflight | None) -> None:
        self.runner.tracker.inflight = value

    @property
    def notes(self) -> list[str]:
        return self.control.notes

    @property
    def timed_out(self) -> bool:
        return self.control.timed_out

    @property
    def halted(self) -> anyio.Event:
        return self.control.halted

    @property
    def halt_cause(self) -> str:
        return self.control.halt_cause

    # -- the run ------------------------------------------------------------------------

    async def run(self) -> None:
        self.journal.clear_verdicts()
        self.runner.known = self.journal.current_all()
        self.budget.load(self.journal.all())
        # credits.spent as the record (the manifest) had it when this run started: "spent by this run"
        # is the manifest's figure less this one (renderer.figures)
        self.spent_before = self.ctx.previous.charged_in_all()
        for st in self.jobs.values():
            settle_planned(st, self.ctx.previous)
        for st in self.jobs.values():
            if st.done.is_set() and self.on_done is not None:
                self.on_done(st)
        with anyio.CancelScope() as scope:
            self.control.scope = scope
            async with anyio.create_task_group() as outer:
                for p in self.pollers.values():
                    outer.start_soon(p.run)
                outer.start_soon(self.control.grace)
                async with anyio.create_task_group() as tg:
                    for st in self.gate.start():
                        tg.start_soon(self._job, st, tg)
                outer.cancel_scope.cancel()
        self.control.scope = None
        for st in self.jobs.values():
            if not st.done.is_set():  # never started: the run was cut first
                self._settled(st, None)
        if self.control.journal_error is not None:
            raise self.control.journal_error

    async def _job(self, st: JobState, tg: TaskGroup) -> None:
        try:
            await self.runner.run(st)
        except StateError as exc:
            self.control.journal_failed(exc)
        finally:
            self._settled(st, tg)

    def _settled(self, st: JobState, tg: TaskGroup | None) -> None:
        """``st`` is over for this run: say what it is, tell ``on_done``, start what waited on it."""
        self.runner.tracker.left_unsettled(st)
        st.done.set()
        if self.on_done is not None:
            self.on_done(st)
        ready = self.gate.settled(st)
        if tg is not None and not self.control.aborted:  # once aborted, what never started stays unsent
            for dep in ready:
                tg.start_soon(self._job, dep, tg)

    # -- reading ------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        return self.tally.counts()
