"""Settling a submission whose answer was lost: resend with its key, reconcile, or say unknown.

A POST whose answer never came (this run's, or one an earlier run journaled as
``sending``/``unknown``) may have been processed and charged. It is never sent
blindly again:

==================================  =============================================
the provider...                     the submission
==================================  =============================================
honours Idempotency-Key             is sent again with the same key (``settle``;
                                    this run's own retries: ``Submitter``)
lists sessions that prove whose     is reconciled (``renderer.execute.reconcile``)
they are                            and, when proven, adopted and polled
neither                             stays ``unknown`` (``--resubmit-unknown``
                                    sends a new one, saying it may pay twice)
==================================  =============================================

``SubmissionGate``: reconciling attributes an unclaimed session to the lost
submission, which is only sound when no other POST of the provider is on the wire;
submissions share the gate, a reconciliation takes it alone.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Any, Protocol

import anyio

from renderer.execute.collect import Collector
from renderer.execute.context import RunContext
from renderer.execute.jobs import JobState
from renderer.execute.records import Submission
from renderer.execute.reconcile import Finding, can_reconcile, reconcile
from renderer.execute.scrub import keep_fields
from renderer.execute.tracker import Tracker
from renderer.vocabulary import JobStatus, Route, SubmissionState


class SubmissionGate:
    """Submissions share it; a reconciliation takes it alone.

    Reconciling reads a list of sessions and attributes an unclaimed one to the lost
    submission. That is only sound when no other submission of the provider is on
    the wire (its session would be unclaimed too, its answer still on the way), so
    a reconciliation waits for in-flight POSTs to finish and holds new ones back.
    """

    def __init__(self) -> None:
        self.active = 0
        self._idle = anyio.Event()
        self._idle.set()
        self._open = anyio.Event()
        self._open.set()
        self._exclusive = anyio.Lock()

    @contextlib.asynccontextmanager
    async def shared(self) -> AsyncIterator[None]:
        while not self._open.is_set():
            await self._open.wait()
        self.active += 1
        if self.active == 1:
            self._idle = anyio.Event()
        try:
            yield
        finally:
            self.active -= 1
            if self.active == 0:
                self._idle.set()

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        async with self._exclusive:
            self._open = anyio.Event()
            try:
                await self._idle.wait()
                yield
            finally:
                self._open.set()


class Resend(Protocol):
    """``Submitter.submit``: admit, prepare, send and classify one submission."""

    async def __call__(self, st: JobState, route: Route, body: Any, sub: Submission | None, *,
                       generation: int) -> None: ...


class Settler:
    def __init__(self, ctx: RunContext, tracker: Tracker, collector: Collector) -> None:
        self.ctx = ctx
        self.tracker = tracker
        self.collector = collector
        self.gates = {name: SubmissionGate() for name in ctx.clients}

    async def settle(self, st: JobState, route: Route, body: Any, sub: Submission, resend: Resend) -> None:
        """A submission of an earlier run whose answer was never journaled."""
        ctx = self.ctx
        client = ctx.clients[route.provider]
        if client.settings.idempotent_keys and sub.body is not None:  # None: adopted, the body sent is not known
            await resend(st, route, body, sub, generation=sub.generation)
            return
        finding = await self.reconcile(route, sub)
        if finding.request_id:
            await self.adopt(st, route, sub, finding)
        elif ctx.options.resubmit_unknown:
            ctx.control.notes.append(f"{st.inst.id}: resubmitting a submission of unknown fate (--resubmit-unknown); "
                                     "it may be charged twice")
            ctx.journal.note("resubmit_unknown", "resubmitted on request (--resubmit-unknown)", st.inst.id)
            # a new submission (new key, this run's body): the unknown one keeps counting at its estimate
            await resend(st, route, body, None, generation=sub.generation + 1)
        else:
            self.unknown(st, sub, sub.error or "the run that sent it ended before the answer was written", finding)

    async def lost(self, st: JobState, route: Route, sub: Submission, error: str | None) -> None:
        """This run's POST got no answer and the API does not honour keys: reconcile, else unknown."""
        await self.ctx.control.pause(self.ctx.settings.reconcile_delay)
        finding = await self.reconcile(route, sub)
        if finding.request_id:
            await self.adopt(st, route, sub, finding)
        else:
            self.unknown(st, sub, error or "no answer", finding)

    async def reconcile(self, route: Route, sub: Submission) -> Finding:
        if not can_reconcile(route):
            return Finding(None, f"{route.endpoint} has no list route that ties a session to a request")
        ctx = self.ctx
        journal = ctx.journal
        async with self.gates[route.provider].exclusive():  # no other POST of this provider in flight
            unsettled = [s for s in journal.latest_per_instance()
                         if s.state in (SubmissionState.SENDING, SubmissionState.UNKNOWN)]
            finding = await reconcile(
                ctx.clients[route.provider], route, sub, claimed=journal.claimed_ids(), unsettled=unsettled,
                clock_skew=ctx.settings.clock_skew, now=time.time(), list_limit=ctx.settings.poll.image_list_limit,
            )
        journal.note("reconcile", finding.note, sub.instance_id)
        if finding.request_id:  # a claim on a session: said out loud, recorded with its evidence
            ctx.control.notes.append(f"{sub.instance_id}: reconciled to {finding.request_id}: {finding.note}")
            journal.note("reconciled", json.dumps(
                {"request_id": finding.request_id, "by": finding.by, "evidence": finding.evidence},
                sort_keys=True), sub.instance_id)
        return finding

    async def adopt(self, st: JobState, route: Route, sub: Submission, finding: Finding) -> None:
        """Reconciliation found the session a lost answer created: it is accepted; poll it."""
        assert finding.request_id is not None
        sub = self.tracker.accepted(self.ctx.journal.accepted(
            sub, request_id=finding.request_id, session_id=finding.request_id, credits_charged=None,
            response=keep_fields(route.provider, finding.payload)))
        self.tracker.end_turn(st, route.family)
        await self.collector.poll(st, route, sub, first_read=0.0)

    def unknown(self, st: JobState, sub: Submission, why: str, finding: Finding) -> None:
        """Record that a submission's fate is not known, keeping its first cause."""
        first = (sub.error or "").split("; ")[0] if sub.state == SubmissionState.UNKNOWN and sub.error else why
        text = f"{first}; {finding.note}" if first else finding.note
        if sub.state != SubmissionState.UNKNOWN or sub.error != text:
            sub = self.tracker.track(self.ctx.journal.unknown(sub, text[:2000]))
        st.sub, st.status, st.error = sub, JobStatus.UNKNOWN, sub.error
