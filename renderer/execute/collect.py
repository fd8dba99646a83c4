"""Collecting an accepted job: the provider's ``Poller`` watches it, the ``Tracker`` records its end.

The poller (``poller.py``) reads statuses for every watched job of a provider, in
batches where the API lists them; this is the one job's side of it: wait for its
outcome (or leave it pending: ``--detach``, the job timeout, a stopped run) and
journal what the API finally said (status reads that said nothing of the job along the
way are noted).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from renderer.execute.context import RunContext
from renderer.execute.jobs import JobState
from renderer.execute.records import Submission
from renderer.execute.tracker import Tracker
from renderer.vocabulary import JobStatus, Route

if TYPE_CHECKING:
    from renderer.execute.approval import Approver


class Collector:
    def __init__(self, ctx: RunContext, tracker: Tracker) -> None:
        self.ctx = ctx
        self.tracker = tracker
        self.approver: Approver | None = None  # told when a watch ends at an approval point (it sets this)

    async def poll(self, st: JobState, route: Route, sub: Submission, first_read: float | None = None) -> None:
        """Wait for an accepted submission's outcome; ``first_read``: seconds before the first read."""
        st.sub = sub
        if self.ctx.options.detach:
            st.status, st.error = JobStatus.PENDING, "submitted (--detach); run again to collect the result"
            return
        st.status = JobStatus.PENDING
        result = await self.ctx.pollers[route.provider].watch(route, sub.request_id or "", first_read)
        if result.paused is not None and self.approver is not None:
            await self.approver.stopped(st, route, sub, result)
            return
        if result.status is None:
            st.error = result.stopped
            return
        self.tracker.charge_problem(st, result.charge_problem)
        if result.hiccups:
            self.ctx.control.notes.append(f"{st.inst.id}: {result.hiccups}")
        self.tracker.complete(st, route, sub, result.status, result.payload, result.credits_charged,
                              result.credits_reported)
