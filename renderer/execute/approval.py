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

from typing import TYPE_CHECKING, Any

from renderer import providers
from renderer.execute import journal as J
from renderer.execute.approvals import matches
from renderer.execute.charges import read_charge
from renderer.execute.client import route_url
from renderer.execute.journal import Submission
from renderer.execute.poller import PollResult
from renderer.providers.protocol import Approval
from renderer.vocabulary import Route

if TYPE_CHECKING:
    from renderer.execute.scheduler import JobState, Scheduler

AWAITING = J.AWAITING  # the job's status, as the manifest, `status` and the report say it


def approved_by(sched: Scheduler, st: JobState, sub: Submission) -> str | None:
    """Who lets this paused render continue: "file" (the approvals file names it and this render),
    "flag" (``run --approve``), or None: nobody yet."""
    if sub.request_id is not None and sched.options.approved.get(st.inst.id) == sub.request_id:
        return "file"
    if any(matches(p, st.inst.id) for p in sched.options.approve):
        return "flag"
    return None


def _gate(route: Route) -> Approval:
    gate = providers.of(route).APPROVAL
    assert gate is not None and gate.applies(route), f"{route.endpoint} cannot stop for approval"
    return gate


async def stopped(sched: Scheduler, st: JobState, route: Route, sub: Submission, result: PollResult) -> None:
    """The watch ended at the approval point: previews read once, the stop recorded, then decided."""
    assert result.paused is not None
    previews = await _previews(sched, route, sub.request_id or "")
    stop = {"stage": result.paused.stage, "label": result.paused.label}
    sub = sched._track(sched.journal.awaiting(sub, {"paused": stop, "previews": previews}))
    await decide(sched, st, route, sub)


async def _previews(sched: Scheduler, route: Route, rid: str) -> list[dict[str, Any]]:
    """What the render made so far, from its provider's preview read (none when that read fails:
    the stop is recorded all the same)."""
    gate = _gate(route)
    client = sched.clients[route.provider]
    path, params = gate.previews_request(route, rid)
    answer = await client.send("GET", route_url(client.base_url, route, path), params=params, label="previews")
    return [p.as_dict() for p in gate.previews(answer.payload)] if answer.ok else []


async def decide(sched: Scheduler, st: JobState, route: Route, sub: Submission) -> None:
    """A render at its approval point: continued when approved, else left there (no request at all)."""
    if approved_by(sched, st, sub) is None:
        wait(sched, st, sub)
        return
    await proceed(sched, st, route, sub)


def wait(sched: Scheduler, st: JobState, sub: Submission, why: str | None = None) -> None:
    n = len(sub.response.get("previews") or ()) if isinstance(sub.response, dict) else 0
    st.sub, st.status = sub, AWAITING
    st.error = why or (f"stopped at its approval point ({n} preview(s) in the manifest); nothing more is sent until "
                       f"it is approved: `renderer approve {sched.plan.campaign.path} {st.inst.id}`, then run again")


async def proceed(sched: Scheduler, st: JobState, route: Route, sub: Submission) -> None:
    """Approved: the budget admits the rest, the journal records the intent, one POST lets it go on."""
    gate, client, module = _gate(route), sched.clients[route.provider], providers.of(route)
    how = approved_by(sched, st, sub)
    current = sub

    def prepare() -> bool:
        nonlocal current
        if sched._blocked(route.provider):
            return False
        st.held_back = sched.budget.admit(st.inst.id, route.family, sub.estimate_max, resend=sub.id)
        if st.held_back:
            return False
        if how == "flag" and sched.options.on_approve is not None:
            sched.options.on_approve(st.inst.id, sub.request_id or "")  # recorded in the approvals file first
        sched.journal.note("approved", f"{sub.request_id} continues ({how})", st.inst.id)
        if current.state != J.APPROVING:
            current = sched._track(sched.journal.approving(current))
        sched.budget.hold(current, route.family)
        return True

    path, body = gate.proceed(route, sub.request_id or "")
    answer = await client.send("POST", route_url(client.base_url, route, path), json_body=body,
                               headers={"Idempotency-Key": sub.idempotency_key + "-approved"}, label="approve",
                               prepare=prepare)
    if current.state != J.APPROVING:  # not sent: the budget, a 402 or a stop held it back
        wait(sched, st, current, f"approved, but not continued: {st.held_back or sched._blocked(route.provider) or answer.error}; it stays at its approval "
                          "point and a later run continues it")
        return
    if answer.ok:
        charge = read_charge(module, answer.headers, answer.payload)
        sched._charge_problem(st, charge.problem)
        current = sched._track(sched.journal.approved(current, charge.credits))
        await sched._poll(st, route, current)
        return
    await settle(sched, st, route, current, answer.error or f"HTTP {answer.status}")


async def settle(sched: Scheduler, st: JobState, route: Route, sub: Submission, why: str | None = None) -> None:
    """An approving POST without a clear answer (this run's, or a killed run's): the render says
    whether it went on. Never a second render: at most the same POST again, with the same key."""
    gate, client, module = _gate(route), sched.clients[route.provider], providers.of(route)
    path, params = module.status_request(route, sub.request_id or "")
    answer = await client.send("GET", route_url(client.base_url, route, path), params=params, label="status")
    went_on = gate.proceeded(answer.payload) if answer.ok else None
    if went_on:
        sub = sched._track(sched.journal.approved(sub, None))  # what continuing cost: said later, or held
        await sched._poll(st, route, sub)
    elif went_on is False and why is None:  # a killed run's intent that never arrived: send it now
        await proceed(sched, st, route, sub)
    elif went_on is False:
        sub = sched._track(sched.journal.awaiting(sub, sub.response))
        wait(sched, st, sub, f"continuing was refused ({why}); it stays at its approval point and the approval stands: "
                      "a later run sends it again")
    elif why is None:
        await sched._poll(st, route, sub, first_read=0.0)  # unsure: a stop read there is the gate again
    else:
        st.sub, st.status = sub, J.public_status(sub.state)
        st.error = (f"approved, and no answer said whether it continued ({why}); the next run reads the render "
                    "before sending anything")
