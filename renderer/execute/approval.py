"""The approval gate during a run: ``approve: manual`` renders stop, and continue only when approved.

A job with ``approve: manual`` is sent asking its render to stop before its costly stage
(``Provider.APPROVAL.controls``). When a status read says it stopped (``paused``), the watch
ends, its previews are read once, and the journal records it ``awaiting_approval``
(``Journal.awaiting``): no more reads, nothing more sent. The run ends when nothing else is
left (exit 0: campaign-format.md section 6).

It continues only when approved: an entry of the approvals file names the instance and the
request id of the render it saw paused (``renderer approve``), or ``run --approve PATTERN``
names the instance (and is recorded in that file then). Continuing is paid work:

1. the budget admits it then: the job's full price, less nothing (its own line, what the API
   charged before the stop, is replaced by its hold): ``Budget.admit(resend=...)``;
2. the journal records the intent (``approving``) before the POST leaves;
3. one POST (``APPROVAL.proceed``) with an Idempotency-Key of its own; the answer's charge is
   added (``Journal.approved``) and the render is polled to its end.

The render is never submitted again. An approving POST whose answer was lost (or a run
killed after its intent) is settled by reading the render: past the stop (``proceeded``
True), it is polled; still stopped (False), the same POST goes again with the same key;
unsure, it is polled (a stop read there is the gate again).
"""

from __future__ import annotations

from renderer import providers
from renderer.execute import records as J
from renderer.execute.account import account_atomic
from renderer.execute.approvals import matches
from renderer.execute.charges import read_charge
from renderer.execute.client import route_url
from renderer.execute.collect import Collector
from renderer.execute.context import RunContext
from renderer.execute.jobs import JobState
from renderer.execute.poller import PollResult
from renderer.execute.records import Submission
from renderer.execute.tracker import Tracker
from renderer.providers.protocol import Approval
from renderer.vocabulary import JobStatus, Route



def _gate(route: Route) -> Approval:
    gate = providers.of(route).APPROVAL
    assert gate is not None and gate.applies(route), f"{route.endpoint} cannot stop for approval"
    return gate


class Approver:
    """The gate's side of a run: told by the ``Collector`` when a watch ends at a stop, and by the
    ``JobRunner`` for a job the journal holds stopped (``awaiting_approval``) or approving."""

    def __init__(self, ctx: RunContext, tracker: Tracker, collector: Collector) -> None:
        self.ctx = ctx
        self.tracker = tracker
        self.collector = collector
        collector.approver = self

    def approved_by(self, st: JobState, sub: Submission) -> str | None:
        """Who lets this paused render continue: "file" (the approvals file names it and this render),
        "flag" (``run --approve``), or None: nobody yet."""
        options = self.ctx.options
        if sub.request_id is not None and options.approved.get(st.inst.id) == sub.request_id:
            return "file"
        if any(matches(p, st.inst.id) for p in options.approve):
            return "flag"
        return None

    async def stopped(self, st: JobState, route: Route, sub: Submission, result: PollResult) -> None:
        """The watch ended at the approval point: previews read once, the stop recorded, then decided."""
        assert result.paused is not None
        previews = await self._previews(route, sub.request_id or "")
        stop = {"stage": result.paused.stage, "label": result.paused.label}
        sub = self.tracker.track(self.ctx.journal.awaiting(sub, {"paused": stop, "previews": previews}))
        await self.decide(st, route, sub)

    async def _previews(self, route: Route, rid: str) -> list[dict[str, object]]:
        """What the render made so far, from its provider's preview read (none when that read fails:
        the stop is recorded all the same)."""
        gate = _gate(route)
        client = self.ctx.clients[route.provider]
        path, params = gate.previews_request(route, rid)
        answer = await client.send("GET", route_url(client.base_url, route, path), params=params, label="previews")
        return [p.as_dict() for p in gate.previews(answer.payload)] if answer.ok else []

    async def decide(self, st: JobState, route: Route, sub: Submission) -> None:
        """A render at its approval point: continued when approved, else left there (no request at all)."""
        if self.approved_by(st, sub) is None:
            self.wait(st, sub)
            return
        await self.proceed(st, route, sub)

    def wait(self, st: JobState, sub: Submission, why: str | None = None) -> None:
        n = len(sub.response.get("previews") or ()) if isinstance(sub.response, dict) else 0
        st.sub, st.status = sub, JobStatus.AWAITING_APPROVAL
        st.error = why or (f"stopped at its approval point ({n} preview(s) in the manifest); nothing more is sent "
                           f"until it is approved: `renderer approve {self.ctx.plan.campaign.path} {st.inst.id}`, "
                           "then run again")

    async def proceed(self, st: JobState, route: Route, sub: Submission) -> None:
        """Approved: the budget admits the rest, the journal records the intent, one POST lets it go on."""
        ctx = self.ctx
        gate, client, module = _gate(route), ctx.clients[route.provider], providers.of(route)
        how = self.approved_by(st, sub)
        current = sub

        def prepare() -> bool:
            nonlocal current
            if ctx.control.blocked(route.provider):
                return False
            st.held_back = ctx.budget.admit(st.inst.id, route.family, sub.estimate_max, resend=sub.id)
            if st.held_back:
                return False
            with account_atomic(ctx.account):  # the account admits the rest too, with the intent (as a submission)
                if ctx.account is not None:
                    st.held_back = ctx.account.admit(st.inst.id, sub.idempotency_key,
                                                     ctx.budget.hold_for(route.family, sub.estimate_max))
                    if st.held_back:
                        return False
                if how == "flag" and ctx.options.on_approve is not None:
                    ctx.options.on_approve(st.inst.id, sub.request_id or "")  # recorded in the approvals file first
                ctx.journal.note("approved", f"{sub.request_id} continues ({how})", st.inst.id)
                if current.state != J.APPROVING:
                    current = self.tracker.track(ctx.journal.approving(current))
            ctx.budget.hold(current, route.family)
            return True

        path, body = gate.proceed(route, sub.request_id or "")
        answer = await client.send("POST", route_url(client.base_url, route, path), json_body=body,
                                   headers={"Idempotency-Key": sub.idempotency_key + "-approved"}, label="approve",
                                   prepare=prepare)
        if current.state != J.APPROVING:  # not sent: the budget, a 402 or a stop held it back
            why = st.held_back or ctx.control.blocked(route.provider) or answer.error
            self.wait(st, current, f"approved, but not continued: {why}; it stays at its approval point and a "
                                   "later run continues it")
            return
        if answer.ok:
            charge = read_charge(module, answer.headers, answer.payload)
            self.tracker.charge_problem(st, charge.problem)
            current = self.tracker.track(ctx.journal.approved(current, charge.credits))
            await self.collector.poll(st, route, current)
            return
        await self.settle(st, route, current, answer.error or f"HTTP {answer.status}")

    async def settle(self, st: JobState, route: Route, sub: Submission, why: str | None = None) -> None:
        """An approving POST without a clear answer (this run's, or a killed run's: ``why`` None): the
        render says whether it went on. Never a second render: at most the same POST again, same key."""
        ctx = self.ctx
        gate, client, module = _gate(route), ctx.clients[route.provider], providers.of(route)
        path, params = module.status_request(route, sub.request_id or "")
        answer = await client.send("GET", route_url(client.base_url, route, path), params=params, label="status")
        went_on = gate.proceeded(answer.payload) if answer.ok else None
        if went_on:
            sub = self.tracker.track(ctx.journal.approved(sub, None))  # what continuing cost: said later, or held
            await self.collector.poll(st, route, sub)
        elif went_on is False and why is None:  # a killed run's intent that never arrived: send it now
            await self.proceed(st, route, sub)
        elif went_on is False:
            sub = self.tracker.track(ctx.journal.awaiting(sub, sub.response))
            self.wait(st, sub, f"continuing was refused ({why}); it stays at its approval point and the approval "
                               "stands: a later run sends it again")
        elif why is None:
            await self.collector.poll(st, route, sub, first_read=0.0)  # unsure: a stop read there is the gate again
        else:
            st.sub, st.status = sub, sub.public_status
            st.error = (f"approved, and no answer said whether it continued ({why}); the next run reads the render "
                        "before sending anything")
