"""One submission, step by step: admit → prepare → send → classify.

``Submitter.submit`` is the life of one POST (and its retries) as dbt's node runner is
the life of one node:

1. *admit*: may it be sent now? Not when its provider is stopped (``RunControl``) or
   the budget cannot hold it; it then waits for its pricing family's turn (the first
   of a family goes alone, ``Budget.turn``).
2. *prepare*: the exact body (a local input file is uploaded first) and its
   Idempotency-Key (``Outgoing``), the same for every retry of one submission.
3. *send*: with a rate-limit slot and token held (and, until the provider answers
   clearly, its one slow-start slot: ``RunControl.slow``), the budget's last word, the
   journal's intent (``begin``/``sending``) and the line beside the manifest naming it
   (``Tracker.on_disk``) right before the bytes leave; then POST until an answer settles
   it (``Tries``: attempts, backoff, whether an earlier attempt may have been processed).
4. *classify*: accepted (journal it with what it says it charged, header and body read
   apart: ``renderer.execute.charges``; the family's turn ends once its charge is known;
   then collect it), not processed (429/503: again,
   within limits), no answer (the same key again where the API honours keys, else
   ``Settler.lost``), refused (a 402 or a refused key stops the provider).

A resend of an attempt that may have been processed is never reported as "not
charged": it ends ``unknown``, counted by the budget, for the next run to settle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from renderer import providers
from renderer.errors import ApiError, DataFileError
from renderer.execute.account import account_atomic
from renderer.execute.balance import remaining_credits, remaining_note
from renderer.execute.charges import read_charge
from renderer.execute.client import NOT_SENT, Answer, route_url
from renderer.execute.collect import Collector
from renderer.execute.context import RunContext
from renderer.execute.jobs import JobState, Tally
from renderer.execute.records import Submission
from renderer.execute.limits import Backoff
from renderer.execute.scrub import keep_fields
from renderer.execute.settle import Settler
from renderer.execute.tracker import Tracker
from renderer.execute.upload import needs_upload, upload_failure_is_final, upload_input
from renderer.providers import shapes
from renderer.providers.shapes import ShapeError
from renderer.vocabulary import ApiState, JobStatus, Price, Route, Status, SubmissionState

Again = tuple[Submission, float]  # send it again: the submission as it now is, after a wait of seconds


def idempotency_key(campaign: str, instance_id: str, input_sha256: str, generation: int) -> str:
    """The same for every retry of one submission; new only for a deliberate re-render."""
    text = "\n".join((campaign, instance_id, input_sha256, str(generation)))
    return "renderer-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A submission ready to send: the exact body, its Idempotency-Key, what it may cost."""

    body: Any
    key: str
    generation: int
    price: Price


@dataclass(slots=True)
class Tries:
    """The attempts of one submission so far."""

    backoff: Backoff
    started: float
    attempt: int = 0
    # an attempt may have been processed (no answer came): a later refusal or 429 does not
    # prove the submission was never charged
    maybe_processed: bool = False


class Submitter:
    def __init__(self, ctx: RunContext, tracker: Tracker, collector: Collector, settler: Settler,
                 tally: Tally) -> None:
        self.ctx = ctx
        self.tracker = tracker
        self.collector = collector
        self.settler = settler
        self.tally = tally
        self._balance_noted: set[str] = set()

    async def submit(self, st: JobState, route: Route, body: Any, sub: Submission | None, *, generation: int) -> None:
        """Admit, prepare, send (again only when provably not processed), and act on the answer."""
        if not self.admit(st, route, sub):
            return
        st.turn = await self.ctx.budget.turn(route.family)
        try:
            outgoing = await self.prepare(st, route, body, sub, generation)
            if outgoing is not None:
                await self.send(st, route, sub, outgoing)
        finally:
            self.tracker.end_turn(st)

    def admit(self, st: JobState, route: Route, sub: Submission | None) -> bool:
        """May it be sent now? Not when its provider is stopped or the budget cannot hold it."""
        blocked = self.ctx.control.blocked(route.provider)
        if blocked:
            self.tracker.leave(st, sub, blocked)
            return False
        price = st.priced
        # a first look, so that nothing is uploaded for a job that cannot fit; the
        # admission that counts is made right before the POST (``post``)
        refusal = self.ctx.budget.admit(st.inst.id, route.family,
                                        price.credits.max if price.credits is not None else None,
                                        resend=sub.id if sub is not None else None)
        if refusal:
            self.tracker.leave(st, sub, refusal)
            return False
        st.status = JobStatus.QUEUED
        return True

    async def prepare(self, st: JobState, route: Route, body: Any, sub: Submission | None,
                      generation: int) -> Outgoing | None:
        """The exact body and Idempotency-Key to send (a local input file is uploaded first)."""
        ctx = self.ctx
        if sub is not None:
            to_send = sub.body  # exactly what was sent before: the key's fingerprint must match
        elif needs_upload(route, body):
            try:
                to_send = await upload_input(ctx.clients[route.provider], ctx.journal, route, body, ctx.folder,
                                             ctx.settings, ctx.rng)
            except (DataFileError, ApiError) as exc:
                final = upload_failure_is_final(exc)
                self.tracker.verdict(st, JobStatus.FAILED if final else JobStatus.NOT_SUBMITTED, str(exc))
                return None
        else:
            to_send = body
        key = sub.idempotency_key if sub is not None else idempotency_key(
            ctx.plan.campaign.name, st.inst.id, st.sha or "", generation)
        return Outgoing(to_send, key, generation, st.priced)

    async def send(self, st: JobState, route: Route, sub: Submission | None, outgoing: Outgoing) -> None:
        """POST until an answer settles it, waiting between attempts as the answers say."""
        ctx = self.ctx
        retry = ctx.settings.retry
        tries = Tries(Backoff(retry.base_delay, retry.max_delay, ctx.rng), ctx.clock(),
                      maybe_processed=sub is not None and sub.state in (SubmissionState.SENDING,
                                                                         SubmissionState.UNKNOWN))
        while True:
            tries.attempt += 1
            sub, answer = await self.post(st, route, sub, outgoing)
            if answer.kind in NOT_SENT:
                self.tracker.leave(st, sub, ctx.control.blocked(route.provider) or st.held_back or answer.error
                                   or "not sent")
                return
            assert sub is not None
            ctx.control.observe(route.provider, answer)
            again = await self.classify(st, route, sub, answer, tries)
            if again is None:
                return
            sub, wait = again
            tries.maybe_processed = tries.maybe_processed or answer.kind == "ambiguous"
            await ctx.control.pause(wait)

    async def post(self, st: JobState, route: Route, sub: Submission | None,
                   outgoing: Outgoing) -> tuple[Submission | None, Answer]:
        """One POST. The journal records it (``begin``/``sending``) just before the bytes leave."""
        ctx = self.ctx
        provider = route.provider
        client = ctx.clients[provider]
        current = sub
        credits = outgoing.price.credits

        def prepare() -> bool:
            """With the slot held, right before the POST: the budget's last word, the intent, and
            the line beside the manifest naming it."""
            nonlocal current
            if ctx.control.blocked(provider):
                return False
            st.held_back = ctx.budget.admit(st.inst.id, route.family, credits.max if credits is not None else None,
                                            resend=current.id if current is not None else None)
            if st.held_back:
                return False
            fresh = current is None or current.state == SubmissionState.PREPARED  # nothing of it was processed yet
            with account_atomic(ctx.account):  # the account's admission commits with the intent (shared store)
                if ctx.account is not None:
                    st.held_back = ctx.account.admit(st.inst.id, outgoing.key, ctx.budget.hold_for(
                        route.family, credits.max if credits is not None else None))
                    if st.held_back:
                        return False
                if current is None:
                    current = ctx.journal.begin(
                        instance_id=st.inst.id, endpoint=st.inst.endpoint, provider=provider,
                        input_sha256=st.sha or "", generation=outgoing.generation, idempotency_key=outgoing.key,
                        body=outgoing.body, estimate=(credits.min, credits.max) if credits is not None else (None, None),
                    )
                else:
                    current = ctx.journal.sending(current)
            ctx.budget.hold(current, route.family)
            st.status, st.sub = JobStatus.SUBMITTING, current
            if self.tracker.on_disk(st, current, fresh):
                return True
            current = st.sub  # marked not sent, when nothing of it was processed
            return False

        async with ctx.control.slow[provider].slot(), self.settler.gates[provider].shared():
            answer = await client.send("POST", route_url(client.base_url, route), json_body=outgoing.body,
                                       headers={"Idempotency-Key": outgoing.key}, label="submit", prepare=prepare)
        return current, answer

    async def classify(self, st: JobState, route: Route, sub: Submission, answer: Answer,
                       tries: Tries) -> Again | None:
        """Act on an answer; (the submission, a wait) when it is to be sent again."""
        if answer.ok:
            await self.accepted(st, route, sub, answer)
            return None
        if answer.kind == "retry":
            return self.not_processed(st, sub, answer, tries)
        if answer.kind == "ambiguous":
            return await self.no_answer(st, route, sub, answer, tries)
        self.refused(st, route, sub, answer, tries.maybe_processed)
        return None

    def not_processed(self, st: JobState, sub: Submission, answer: Answer, tries: Tries) -> Again | None:
        """A 429/503-like answer: this attempt was not processed, so it may be sent again, within
        limits. When an earlier attempt may have been, the submission stays sending (counted)."""
        ctx = self.ctx
        retry = ctx.settings.retry
        if not tries.maybe_processed:
            sub = self.tracker.track(ctx.journal.retryable(sub, answer.error or "not processed", answer.status))
        wait = answer.retry_after if answer.retry_after is not None else tries.backoff.delay(tries.attempt)
        elapsed = ctx.clock() - tries.started
        blocked = ctx.control.blocked(providers.provider_of(st.inst.endpoint))  # throttled by this very answer, say
        if tries.attempt >= retry.max_attempts or elapsed + wait > retry.max_elapsed or wait > retry.max_wait or blocked:
            if tries.maybe_processed:
                self.tracker.unknown(st, sub, f"gave up after {tries.attempt} attempt(s) with the same "
                                              f"Idempotency-Key; an earlier one may have been processed: {answer.error}")
            else:
                self.tracker.leave(st, sub, blocked or f"gave up after {tries.attempt} attempt(s), none processed: "
                                                       f"{answer.error}")
            return None
        return sub, wait

    async def no_answer(self, st: JobState, route: Route, sub: Submission, answer: Answer,
                        tries: Tries) -> Again | None:
        """No answer: the same key again where the API honours keys, else reconcile, else unknown."""
        ctx = self.ctx
        retry = ctx.settings.retry
        if not ctx.clients[route.provider].settings.idempotent_keys:
            await self.settler.lost(st, route, sub, answer.error)
            return None
        wait = tries.backoff.delay(tries.attempt)
        elapsed = ctx.clock() - tries.started
        if tries.attempt < retry.max_attempts and elapsed + wait <= retry.max_elapsed \
                and not ctx.control.blocked(route.provider):
            return sub, wait  # the same key again: the API answers once
        sub = self.tracker.track(ctx.journal.unknown(
            sub, f"no answer after {tries.attempt} attempt(s) with the same Idempotency-Key: {answer.error}"))
        st.sub, st.status, st.error = sub, JobStatus.UNKNOWN, sub.error
        return None

    def refused(self, st: JobState, route: Route, sub: Submission, answer: Answer, maybe_processed: bool) -> None:
        """This attempt was refused; a 402 or a refused key stops the provider's submissions.

        A refusal of a resend of an attempt that may have been processed (a 409/422 "key already
        used" even proves it arrived) does not say it was not charged: it stays unknown, counted,
        and the next run settles it with the same key."""
        provider = route.provider
        if maybe_processed:
            self.tracker.unknown(st, sub, f"a resend with the same Idempotency-Key was refused ({answer.error}); "
                                          "an earlier attempt may have been processed")
        else:
            sub = self.tracker.track(self.ctx.journal.rejected(sub, answer.error or "refused", answer.status))
            st.sub, st.error = sub, sub.error
            st.status = sub.public_status
        why = {"payment": f"{provider} answered 402 (insufficient credits)",
               "auth": f"{provider} refused the API key ({answer.error})"}.get(answer.kind)
        if why is not None:
            self.ctx.control.stop_provider(provider, why)

    async def accepted(self, st: JobState, route: Route, sub: Submission, answer: Answer) -> None:
        """A 2xx: journal the request id and charge, then collect the job (or finish it now)."""
        module = providers.of(route)
        payload = answer.payload
        try:
            rid = module.parse_submit(route, payload)
        except ShapeError as exc:
            rid, why = None, f"the API answered 2xx with an unusable request id ({exc}); it may have been charged"
        else:
            why = "the API answered 2xx without a request id; it may have been charged"
        if rid is None:
            sub = self.tracker.track(self.ctx.journal.unknown(sub, why))
            st.sub, st.status, st.error = sub, JobStatus.UNKNOWN, sub.error
            return
        sub = self.journal_accepted(st, route, sub, answer, rid)
        self.tracker.end_turn(st, route.family)  # when its charge is known, the others may go (held at it)
        self.balance_told(route.provider, answer)
        if not route.creates_session:  # cancel_render: the answer is the outcome
            self.tracker.complete(st, route, sub, Status(ApiState.COMPLETED), payload, None)
            return
        try:
            status = module.parse_status(route, payload)
        except ShapeError:
            status = Status(ApiState.PENDING)  # a submit answer is no status answer: the poll reads it
        if status.state == ApiState.COMPLETED and status.result_url \
                or status.state in (ApiState.FAILED, ApiState.CANCELLED):
            self.tracker.complete(st, route, sub, status, payload, None)  # rollups can finish within the request
            return
        await self.collector.poll(st, route, sub)

    def journal_accepted(self, st: JobState, route: Route, sub: Submission, answer: Answer, rid: str) -> Submission:
        """The accepted answer, journaled: its request and session ids, what it says it charged
        (its header and its body read apart; the larger counts, both kept when they differ)."""
        module = providers.of(route)
        payload = answer.payload
        session_id = shapes.optional_id(payload.get("session_id")) if isinstance(payload, Mapping) else None
        if answer.headers.get("idempotent-replayed"):
            self.ctx.journal.note("replayed", f"the API answered {rid} for the Idempotency-Key again", st.inst.id)
        charge = read_charge(module, answer.headers, payload)
        self.tracker.charge_problem(st, charge.problem)
        return self.tracker.accepted(self.ctx.journal.accepted(sub, request_id=rid, session_id=session_id,
                                                               credits_charged=charge.credits,
                                                               response=keep_fields(route.provider, payload),
                                                               credits_reported=charge.reported))

    def balance_told(self, provider: str, answer: Answer) -> None:
        """Note once per provider when its balance is below what is still to submit."""
        left = remaining_credits(answer.headers)
        if left is None or provider in self._balance_noted:
            return
        note = remaining_note(provider, left, self.tally.to_come(provider, self.ctx.budget.hold_for))
        if note:
            self._balance_noted.add(provider)
            self.ctx.control.notes.append(note)
