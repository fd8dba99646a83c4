"""Where a job's outcomes are recorded: the journal, the budget, the job's state and the
manifest on disk, together.

Every part of the run that learns something of a job says it here, so they never
disagree:

- ``track``: every journal transition of a submission passes here: the budget sees it
  (its ledger line, what its charge teaches the pricing family, kept in the journal),
  and the manifest on disk follows within a second, a large one less often (``checkpoint``, set by the driver;
  the jobs whose entries changed are in ``Tally.changed``).
- ``on_disk``: right before a POST leaves, a line beside the manifest names it
  (``inflight``, ``renderer.execute.inflight``); when it cannot be written nothing is
  sent and submissions stop. ``accepted``: the request id the API answered is named
  there too, at once (the manifest's full rewrite is spaced by its cost).
- ``verdict`` / ``leave``: a job not sent (now), with the reason; ``finished``: a job
  whose submission is over; ``unknown``: one that may have been processed and no answer
  says what became of it; ``complete``: the API's last word on an accepted job, written
  with what it charged and the seconds it made.
- ``end_turn``: its charge is known (or it is over), so the other jobs of its pricing
  family may go.
- ``left_unsettled``: what a job the run stopped under (second Ctrl-C, a journal that
  failed) is, from what the journal knows.
"""

from __future__ import annotations

from typing import Any

from collections.abc import Mapping

from renderer.errors import StateError
from renderer.execute.account import finished
from renderer.execute.budget import family_of
from renderer.execute.checkpoint import Checkpoint
from renderer.execute.context import RunContext
from renderer.execute.inflight import Inflight
from renderer.execute.job_outputs import job_duration, outputs_of
from renderer.execute.jobs import JobState, Tally
from renderer.execute.records import Submission
from renderer.execute.scrub import keep_fields
from renderer.vocabulary import UNSETTLED, ApiState, JobStatus, Route, Status, SubmissionState


class Tracker:
    def __init__(self, ctx: RunContext, tally: Tally) -> None:
        self.ctx = ctx
        self.journal = ctx.journal
        self.tally = tally
        self.checkpoint: Checkpoint | None = None  # the manifest's coalesced writes (commands/run.py)
        self.inflight: Inflight | None = None  # each POST, named beside the manifest before it leaves

    def track(self, sub: Submission) -> Submission:
        """Every journal transition of a submission passes here: the budget sees it (and keeps
        what it learns of the family), and the manifest on disk follows."""
        budget = self.ctx.budget
        budget.record(sub, family_of(sub))
        if self.ctx.account is not None:  # the account's line follows the ledger's
            self.ctx.account.track(sub.idempotency_key, budget.ledger.get(sub.id, 0.0), finished(sub))
        self.tally.changed.add(sub.instance_id)
        for fam in budget.learned_families(changed_only=True):
            self.journal.set_family(fam)
            self.tally.all_changed()  # a new factor: every hold of the family may be another
        self.changed()
        return sub

    def changed(self) -> None:
        if self.checkpoint is not None:
            self.checkpoint.dirty()

    def on_disk(self, st: JobState, sub: Submission, fresh: bool) -> bool:
        """Beside the manifest, a line names the submission before its POST leaves
        (``renderer.execute.inflight``). When it cannot be written nothing is sent (a fresh
        intent is marked not sent) and submissions stop."""
        if self.inflight is None:
            self.changed()
            return True
        try:
            self.inflight.record(sub)
        except StateError as exc:
            if fresh:
                st.sub = self.track(self.journal.retryable(sub, f"not sent: {exc}", None))
            self.ctx.control.stop(f"stopped: {exc}")
            return False
        self.changed()  # and in the manifest within a second
        return True

    def accepted(self, sub: Submission) -> Submission:
        """``sub``, journaled as accepted, tracked, and its request id named beside the manifest
        (``renderer.execute.inflight``): on disk now, the manifest follows. When the line cannot be
        written the run goes on (the POST's intent line is there: a later run without the journal
        settles it by its key or by proof) and says so."""
        self.track(sub)
        if self.inflight is not None:
            try:
                self.inflight.accepted(sub)
            except StateError as exc:
                self.ctx.control.notes.append(f"{sub.instance_id}: {exc}")
        return sub

    def end_turn(self, st: JobState, family: str | None = None) -> None:
        """Its charge is known (``family``: only if so), or it is over: the other jobs of its
        pricing family may go, held at what it cost."""
        if st.turn is not None and (family is None or self.ctx.budget.knows(family)):
            st.turn.end()
            st.turn = None

    def verdict(self, st: JobState, status: JobStatus, reason: str) -> None:
        st.status, st.error = status, reason
        self.journal.set_verdict(st.inst.id, status, reason)
        self.changed()

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
                 charged: float | None, reported: Mapping[str, float | None] | None = None) -> None:
        """The API's last word on an accepted job: journaled with its charge and duration
        (``reported``: the answer's header and body figures, when they disagreed)."""
        charged = charged if charged is not None else sub.credits_charged
        duration = None
        if status.state == ApiState.COMPLETED:
            duration = job_duration(route, sub.body, st.priced, charged, self.ctx.plan.price_table)
        sub = self.journal.finish(
            sub, status.state, result_url=status.result_url, result_urls=status.result_urls,
            thumbnail_url=status.thumbnail_url, credits_charged=charged, duration=duration,
            response=keep_fields(route.provider, payload), error=status.error, credits_reported=reported,
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
