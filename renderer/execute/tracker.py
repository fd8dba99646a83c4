"""Where a job's outcomes are recorded: the journal, the budget, and the job's state, together.

Every part of the run that learns something of a job says it here, so the three never
disagree:

- ``track``: every journal transition of a submission passes here, and the budget
  sees it (its ledger line, what its charge teaches the pricing family).
- ``verdict`` / ``leave``: a job not sent (now), with the reason; ``finished``: a job
  whose submission is over; ``unknown``: one that may have been processed and no answer
  says what became of it; ``complete``: the API's last word on an accepted job, written
  with what it charged and the seconds it made.
- ``end_turn``: its answer is in, so the other jobs of its pricing family may go.
- ``left_unsettled``: what a job the run stopped under (second Ctrl-C, a journal that
  failed) is, from what the journal knows.
"""

from __future__ import annotations

from typing import Any

from renderer import providers
from renderer.execute.context import RunContext
from renderer.execute.job_outputs import job_duration, outputs_of
from renderer.execute.jobs import JobState
from renderer.execute.journal import Submission
from renderer.execute.scrub import keep_fields
from renderer.vocabulary import UNSETTLED, ApiState, JobStatus, Route, Status, SubmissionState


class Tracker:
    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.journal = ctx.journal

    def track(self, sub: Submission) -> Submission:
        """Every journal transition of a submission passes here: the budget sees it."""
        route = providers.route(sub.endpoint)
        self.ctx.budget.record(sub, route.family if route is not None else sub.endpoint)
        return sub

    def end_turn(self, st: JobState) -> None:
        """Its answer is in: the other jobs of its pricing family may go (held at what it cost)."""
        if st.turn is not None:
            st.turn.end()
            st.turn = None

    def verdict(self, st: JobState, status: JobStatus, reason: str) -> None:
        st.status, st.error = status, reason
        self.journal.set_verdict(st.inst.id, status, reason)

    def leave(self, st: JobState, sub: Submission | None, reason: str) -> None:
        """Not sent (now): the journal's state of ``sub`` says what that means."""
        if sub is None or sub.state == SubmissionState.PREPARED:
            if sub is not None:
                st.sub = sub
            self.verdict(st, JobStatus.NOT_SUBMITTED, reason)
        else:
            st.sub, st.status, st.error = sub, sub.public_status, reason

    def finished(self, st: JobState, sub: Submission) -> None:
        st.sub, st.status, st.error = sub, sub.public_status, sub.error
        if sub.state == SubmissionState.COMPLETED:
            st.outputs = outputs_of(sub)
        self.track(sub)

    def unknown(self, st: JobState, sub: Submission, why: str) -> None:
        """A submission that may have been processed, and no answer says what became of it."""
        sub = self.track(self.journal.unknown(sub, why[:2000]))
        st.sub, st.status, st.error = sub, JobStatus.UNKNOWN, sub.error

    def charge_problem(self, st: JobState, problem: str | None) -> None:
        if problem:
            self.ctx.control.notes.append(f"{st.inst.id}: the charge is unknown: the API's {problem}")

    def complete(self, st: JobState, route: Route, sub: Submission, status: Status, payload: Any,
                 charged: float | None) -> None:
        """The API's last word on an accepted job: journaled with its charge and duration."""
        charged = charged if charged is not None else sub.credits_charged
        duration = None
        if status.state == ApiState.COMPLETED:
            duration = job_duration(route, sub.body, st.priced, charged, self.ctx.plan.price_table)
        sub = self.journal.finish(
            sub, status.state, result_url=status.result_url, result_urls=status.result_urls,
            thumbnail_url=status.thumbnail_url, credits_charged=charged, duration=duration,
            response=keep_fields(route.provider, payload), error=status.error,
        )
        self.finished(st, sub)

    def left_unsettled(self, st: JobState) -> None:
        """A job the run stopped under (cancelled mid-way, or the journal failed): what it is."""
        if st.status not in UNSETTLED:
            return
        sub = self.journal.current(st.inst.id, st.sha) if st.sha else None
        cause = self.ctx.control.halt_cause or "interrupted"
        if sub is not None:
            sub = self.journal.get(sub.id)  # with an answer the disk refused, if any
            st.sub, st.status = sub, sub.public_status
            if st.status == JobStatus.UNKNOWN:
                st.error = sub.error or (f"sent, and no answer came before the run stopped ({cause}); "
                                         "the next run settles it")
        else:
            st.status, st.error = JobStatus.NOT_SUBMITTED, st.error or cause
