"""One job's life, once the DAG lets it start (as dbt's node runner in ``task/base.py``).

``JobRunner.run`` records a verdict when an upstream did not complete
(``DagGate.blocker``), renders a pending body with its upstreams' outputs (the plan's
``Resolver``; a body that turns out reusable or still cancelled is settled from the
previous manifest), looks the job up in the journal, and then does the one thing the
journal allows:

==============================  ==============================================
journal says                    the job
==============================  ==============================================
nothing, or failed/refused      is submitted (``Submitter``; a new generation
                                after a failure)
``prepared``                    is sent again: the last attempt provably did nothing
``sending`` / ``unknown``       is settled (``Settler.settle``)
``accepted``                    is collected (``Collector.poll``); never submitted again
``awaiting_approval``           continues if approved, else is left there
                                (``Approver.decide``); never submitted again
``approving``                   is settled by reading the render (``Approver.settle``)
``completed``                   gives its outputs
==============================  ==============================================

Cancelled jobs stay cancelled unless ``--rerun-cancelled``. Jobs a windowed list read
answers for hold a ``ListWindows`` slot from submission to outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from renderer import providers
from renderer.errors import Invalid, UserError
from renderer.execute.approval import Approver
from renderer.execute.collect import Collector
from renderer.execute.context import RunContext
from renderer.execute.gating import DagGate, ListWindows
from renderer.execute.jobs import JobState
from renderer.execute.records import Submission
from renderer.execute.settle import Settler
from renderer.execute.submitter import Submitter
from renderer.execute.tracker import Tracker
from renderer.manifest import ManifestEntry
from renderer.plan.resolve import Resolved
from renderer.vocabulary import JobStatus, Outputs, Price, Route, SubmissionState


class JobRunner:
    def __init__(self, ctx: RunContext, jobs: Mapping[str, JobState], gate: DagGate, tracker: Tracker,
                 submitter: Submitter, settler: Settler, collector: Collector, approver: Approver) -> None:
        self.ctx = ctx
        self.jobs = jobs
        self.gate = gate
        self.tracker = tracker
        self.submitter = submitter
        self.settler = settler
        self.collector = collector
        self.approver = approver
        self.windows = ListWindows(ctx.settings.poll)
        self.known: dict[tuple[str, str], Submission] = {}  # the journal's current submissions, at the start

    async def run(self, st: JobState) -> None:
        why = self.gate.blocker(st)
        if why is not None:
            self.tracker.verdict(st, JobStatus.NOT_SUBMITTED, why)
            return
        route = providers.route(st.inst.endpoint)
        assert route is not None
        inputs = self.inputs(st)
        if inputs is None:
            return
        body, sha, price = inputs
        st.sha, st.price, st.body = sha, price, body
        sub = self.known.get((st.inst.id, sha))
        if sub is not None and (sub.state == SubmissionState.COMPLETED or self.stays_cancelled(sub.state)):
            self.tracker.finished(st, sub)
            return
        async with self.windows.slot(route):
            await self.act(st, route, body, sub)

    async def act(self, st: JobState, route: Route, body: Any, sub: Submission | None) -> None:
        """What the journal allows for this body."""
        submit = self.submitter.submit
        if sub is None:
            await submit(st, route, body, None, generation=1)
        elif sub.state in (SubmissionState.FAILED, SubmissionState.CANCELLED, SubmissionState.REJECTED):
            await submit(st, route, body, None, generation=sub.generation + 1)
        elif sub.state == SubmissionState.ACCEPTED:
            await self.collector.poll(st, route, sub, first_read=0.0)
        elif sub.state == SubmissionState.AWAITING_APPROVAL:
            await self.approver.decide(st, route, sub)
        elif sub.state == SubmissionState.APPROVING:
            await self.approver.settle(st, route, sub)
        elif sub.state == SubmissionState.PREPARED:
            await submit(st, route, body, sub, generation=sub.generation)
        else:  # SENDING or UNKNOWN: a previous run may have been charged for it
            await self.settler.settle(st, route, body, sub, submit)

    def inputs(self, st: JobState) -> tuple[Any, str, Price] | None:
        """Its body, input hash and price; None when there is nothing to send (settled here)."""
        inst = st.inst
        if not inst.pending:
            assert inst.input_sha256 is not None
            return inst.body, inst.input_sha256, inst.price
        resolved = self.resolve(st)
        if resolved is None:
            return None
        sha = resolved.input_sha256
        prev = self.ctx.previous.reusable(inst.id, sha) or self.cancelled_entry(inst.id, sha)
        if prev is not None:
            st.reused, st.outputs, st.sha = prev, Outputs.from_manifest(prev), sha
            st.status = JobStatus.CANCELLED if prev.status == JobStatus.CANCELLED else JobStatus.COMPLETED
            return None
        return resolved.body, sha, resolved.price

    def resolve(self, st: JobState) -> Resolved | None:
        """A pending body rendered with its upstreams' outputs; None (and a verdict) if it fails."""
        plan = self.ctx.plan
        assert plan.resolver is not None, "a plan with pending instances carries a resolver"
        upstream = {u: self.jobs[u].outputs or Outputs() for u in st.inst.needs}
        try:
            return plan.resolver(st.inst.id, upstream)
        except Invalid as exc:
            self.tracker.verdict(st, JobStatus.FAILED, "; ".join(str(e) for e in exc.errors))
        except UserError as exc:
            self.tracker.verdict(st, JobStatus.FAILED, str(exc))
        return None

    def stays_cancelled(self, state: str | None) -> bool:
        """A cancelled job is not sent again unless its input changed or --rerun-cancelled."""
        return state == SubmissionState.CANCELLED and not self.ctx.options.rerun_cancelled

    def cancelled_entry(self, iid: str, sha: str) -> ManifestEntry | None:
        entry = self.ctx.previous.get(iid)
        if entry is not None and entry.input_sha256 == sha and self.stays_cancelled(entry.status):
            return entry
        return None
