"""The run itself: a small coordinator over the parts a run is made of.

``Scheduler.run`` settles the jobs the plan does not run, then starts one task per job
as the DAG lets it (``gating.DagGate``: once its upstreams have settled), in one task
group beside the providers' pollers, until every job has settled or the run is cut.
Tasks are started as there is room (``Starts``): a pricing family has at most ``AHEAD`` x
its provider's concurrency jobs started and not yet answered (accepted jobs being polled do
not count), so a run of 100,000 jobs does not hold 100,000 waiting tasks. Each part has one concern:

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
a line beside the manifest names it (``renderer.execute.inflight``; another its request id
when accepted), and the manifest follows within a second, a large one less often
(``renderer.execute.checkpoint``; ``changed``: the jobs whose entries it rebuilds). Until a provider answers clearly, one of its submissions is in
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

import math
import random
import time
from collections import deque
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
from renderer import providers
from renderer.providers import provider_of
from renderer.vocabulary import JobStatus

__all__ = ["JobState", "Outgoing", "RunOptions", "Scheduler", "SubmissionGate", "Tries", "idempotency_key"]

AHEAD = 4  # jobs started and not yet answered, per provider, as a multiple of its concurrency
_BEFORE_ANSWER = frozenset({JobStatus.WAITING, JobStatus.QUEUED, JobStatus.SUBMITTING})


class Starts:
    """Which ready jobs get a task now: per pricing family, in plan order, while fewer than
    ``AHEAD`` x its provider's concurrency are started and not yet answered (a family waiting
    for its probe's charge holds back no other). O(1) per start; ``left`` when a job is
    answered or its task ends."""

    def __init__(self, concurrency: Mapping[str, int]) -> None:
        self.concurrency = dict(concurrency)
        self.ready: dict[tuple[str, str], deque[JobState]] = {}
        self.ahead: dict[tuple[str, str], set[str]] = {}  # jobs started and not answered yet

    @staticmethod
    def _family(st: JobState) -> tuple[str, str]:
        route = providers.route(st.inst.endpoint)
        return (route.provider, route.family) if route is not None else (provider_of(st.inst.endpoint), "")

    def add(self, jobs: list[JobState], first: bool = False) -> None:
        """Ready to start (``first``: before those already waiting, e.g. dependents)."""
        for st in reversed(jobs) if first else jobs:
            queue = self.ready.setdefault(self._family(st), deque())
            queue.appendleft(st) if first else queue.append(st)

    def take(self) -> list[JobState]:
        """The jobs to start now."""
        out: list[JobState] = []
        for family, queue in self.ready.items():
            ahead = self.ahead.setdefault(family, set())
            room = AHEAD * self.concurrency.get(family[0], 1)
            while queue and len(ahead) < room:
                st = queue.popleft()
                ahead.add(st.inst.id)
                out.append(st)
        return out

    def left(self, st: JobState) -> bool:
        """``st`` was answered or is over: True when that made room."""
        ahead = self.ahead.get(self._family(st))
        if ahead is None or st.inst.id not in ahead:
            return False
        ahead.discard(st.inst.id)
        return True


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
        self.starts = Starts({name: c.settings.concurrency for name, c in clients.items()})
        self.tally.on_move = self._moved
        self._tg: TaskGroup | None = None
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
                    self._tg = tg
                    self.starts.add(self.gate.start())
                    self._start()
                outer.cancel_scope.cancel()
        self._tg = None
        self.control.scope = None
        for st in self.jobs.values():
            if not st.done.is_set():  # never started: the run was cut first
                self._settled(st, None)
        if self.control.journal_error is not None:
            raise self.control.journal_error

    def _start(self) -> None:
        """Start what there is room for (once aborted or cancelled, what never started stays unsent)."""
        if self._tg is not None and not self.control.aborted and anyio.current_effective_deadline() != -math.inf:
            for st in self.starts.take():
                self._tg.start_soon(self._job, st)

    def _moved(self, st: JobState, new: JobStatus) -> None:
        if new not in _BEFORE_ANSWER and self.starts.left(st):  # answered (polled now) or over
            self._start()

    async def _job(self, st: JobState) -> None:
        try:
            await self.runner.run(st)
        except StateError as exc:
            self.control.journal_failed(exc)
        finally:
            self._settled(st, self._tg)

    def _settled(self, st: JobState, tg: TaskGroup | None) -> None:
        """``st`` is over for this run: say what it is, tell ``on_done``, start what waited on it."""
        self.runner.tracker.left_unsettled(st)
        st.done.set()
        if self.on_done is not None:
            self.on_done(st)
        ready = self.gate.settled(st)
        if tg is not None:
            self.starts.add(ready, first=True)
            self.starts.left(st)
            self._start()

    # -- reading ------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        return self.tally.counts()

    def selected(self) -> int:
        """How many jobs the plan selected (all but those --select left out)."""
        return self.tally.selected
