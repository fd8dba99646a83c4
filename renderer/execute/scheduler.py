"""The run itself: one task per instance, in one task group, gated by its upstreams.

An instance's task waits for its ``needs``, renders its body with their outputs
(the plan's ``Resolver``), looks itself up in the journal, and then does the one thing
the journal allows:

==============================  ==============================================
journal says                    the task
==============================  ==============================================
nothing, or failed/refused      submits (a new generation after a failure)
``prepared``                    sends again: the last attempt provably did nothing
``sending`` / ``unknown``       settles it: resend with the same Idempotency-Key
                                when the provider honours keys, else reconcile
                                (``renderer.execute.reconcile``), else ``unknown``
``accepted``                    polls; never submits again
``completed``                   reuses the outputs
==============================  ==============================================

Budget (``renderer.execute.budget``): every submission, of this run or an earlier
one, counts what it was charged or may still be; a POST is admitted right before
it is sent only if its hold still fits ``budget.max_credits``, and the first job of
a pricing family keeps its turn until its charge is known. Before the POST leaves,
a line beside the manifest names it (``renderer.execute.inflight``), and the manifest
follows within a second (``renderer.execute.checkpoint``). Until a provider
answers clearly, one of its submissions is in flight at a time
(``renderer.execute.slowstart``). Cancelled jobs stay
cancelled unless ``--rerun-cancelled``. A 402 stops submissions to that provider,
an interrupt (first Ctrl-C) stops all; what was accepted is still polled after a
402, and left pending after an interrupt (a later run resumes it).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Mapping

import anyio

from renderer import providers
from renderer.errors import ApiError, DataFileError, Invalid, StateError, UserError
from renderer.execute import journal as J
from renderer.execute.balance import remaining_credits, remaining_note
from renderer.execute.breaker import Breaker
from renderer.execute.budget import Budget, Turn, family_of
from renderer.execute.charges import read_charge
from renderer.execute.checkpoint import Checkpoint
from renderer.execute.inflight import Inflight
from renderer.execute.client import NOT_SENT, Answer, ProviderClient, route_url
from renderer.execute.journal import Submission
from renderer.execute.store import JournalStore
from renderer.execute.limits import Backoff
from renderer.execute.job_outputs import job_duration, outputs_of
from renderer.execute.poller import Poller
from renderer.execute.reconcile import Finding, can_reconcile, reconcile
from renderer.execute.scrub import keep_fields
from renderer.execute.settings import ExecSettings
from renderer.execute.slowstart import SlowStart
from renderer.execute.upload import needs_upload, upload_failure_is_final, upload_input
from renderer.manifest import Manifest, ManifestEntry
from renderer.plan.model import Instance, Plan
from renderer.plan.resolve import Resolved
from renderer.providers import shapes
from renderer.vocabulary import ApiState, Outputs, Price, Route, Status
from renderer.providers.shapes import ShapeError
from renderer.campaign.durations import format_duration

WAITING, QUEUED, SUBMITTING, PENDING = "waiting", "queued", "submitting", "pending"


def idempotency_key(campaign: str, instance_id: str, input_sha256: str, generation: int) -> str:
    """The same for every retry of one submission; new only for a deliberate re-render."""
    text = "\n".join((campaign, instance_id, input_sha256, str(generation)))
    return "renderer-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


@dataclass(frozen=True, slots=True)
class RunOptions:
    detach: bool = False
    resubmit_unknown: bool = False
    rerun_cancelled: bool = False


@dataclass(slots=True, eq=False)
class JobState:
    """One instance during a run (in memory; the journal holds what must survive)."""

    inst: Instance
    done: anyio.Event = field(default_factory=anyio.Event)
    status: str = WAITING
    error: str | None = None
    sha: str | None = None
    price: Price | None = None
    sub: Submission | None = None
    outputs: Outputs | None = None
    reused: ManifestEntry | None = None  # the previous manifest entry it reuses
    turn: Turn | None = None  # its pricing family's turn, while its POST is unanswered
    held_back: str | None = None  # why the budget did not admit its POST
    body: Any = None  # the rendered request body it sends (before any upload), once known
    changed: set[str] | None = None  # the scheduler's set of jobs changed since the last checkpoint

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        changed = getattr(self, "changed", None)  # unset while the dataclass initialises
        if changed is not None:
            changed.add(self.inst.id)  # the manifest's checkpoint rebuilds only what changed


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
        clock: Any = time.monotonic,
        budget: Budget | None = None,
    ) -> None:
        self.plan = plan
        self.journal = journal
        self.clients = clients
        self.settings = settings
        self.options = options
        self.previous = previous or Manifest()
        self.folder = campaign_folder or Path(plan.campaign.folder)
        self.rng = rng or random.Random(settings.seed)
        self.clock = clock
        self.campaign_name = plan.campaign.name
        self.pollers = {name: Poller(c, settings.poll, clock) for name, c in clients.items()}
        self.windows: dict[str, anyio.Semaphore] = {}  # per windowed list read: "<kind>_window" slots
        self.gates = {name: SubmissionGate() for name in clients}
        self.slow = {name: SlowStart() for name in clients}
        self.budget = budget or Budget(plan.campaign.budget, probe=plan.campaign.budget_probe)
        self.checkpoint: Checkpoint | None = None  # the manifest's coalesced writes (commands/run.py)
        self.inflight: Inflight | None = None  # each POST, named beside the manifest before it leaves
        self.stop_reason: str | None = None
        self.stopped_providers: dict[str, str] = {}
        self.breaker = Breaker(settings.breaker_threshold)
        self.timed_out = False  # the run timeout passed
        self.notes: list[str] = []
        self.jobs: dict[str, JobState] = {i.id: JobState(i) for i in plan.instances}
        self.changed: set[str] = set(self.jobs)  # jobs whose manifest entry may differ from the last checkpoint's
        for st in self.jobs.values():
            st.changed = self.changed
        self.started = clock()
        self._cancel: anyio.CancelScope | None = None
        self._known: dict[tuple[str, str], Submission] = {}
        self.journal_error: StateError | None = None
        self.spent_before = 0.0
        self._balance_noted: set[str] = set()
        self.on_done: Callable[[JobState], None] | None = None  # told as each job settles (downloads)
        self.halted = anyio.Event()  # set by ``stop``: every wait of the run ends now
        self.halt_cause = ""  # a few words for what ended the run early ("interrupted")
        for name, client in clients.items():
            client.on_throttle = functools.partial(self._throttled, name)

    # -- control ------------------------------------------------------------------

    def stop(self, reason: str, cause: str = "the run stopped") -> None:
        """No new submissions from now on, and no more waiting: waits for a turn, between retries
        and for renders end at once. POSTs on the wire get ``stop_grace`` seconds to be answered."""
        if self.stop_reason is None:
            self.stop_reason = reason
            self.halt_cause = cause
            self.notes.append(reason)
        for c in self.clients.values():
            c.halt(cause)
        self.halted.set()

    def interrupt(self) -> None:
        """First Ctrl-C: stop submitting, stop waiting for renders; finish within ``stop_grace``."""
        self.stop("interrupted: no further submissions; unfinished jobs stay pending and a later run resumes them",
                  "interrupted")
        for p in self.pollers.values():
            p.stop("interrupted")

    def abort(self) -> None:
        """Second Ctrl-C: stop at once. In-flight POSTs become `unknown` for the next run."""
        if self._cancel is not None:
            self._cancel.cancel()

    def time_out(self, seconds: float) -> None:
        """The run timeout: no new submissions, stop waiting; unfinished jobs stay resumable."""
        self.timed_out = True
        self.stop(f"run timeout ({format_duration(seconds)}) reached: no further submissions; "
                  "unfinished jobs stay pending and a later run resumes them", f"run timeout ({format_duration(seconds)})")
        for p in self.pollers.values():
            p.stop(f"run timeout ({format_duration(seconds)}) reached; left pending: run again to keep waiting")

    def _throttled(self, provider: str, why: str) -> None:
        """The provider asked for a wait past the cap: nothing more is sent to it in this run."""
        if provider not in self.stopped_providers:
            self.stopped_providers[provider] = (f"{provider} is throttled ({why}): no further {provider} requests "
                                                "in this run; unsent jobs stay not_submitted and a later run sends them")
            self.notes.append(self.stopped_providers[provider])
        self.pollers[provider].stop(f"{provider} is throttled; left pending: run again later to collect it")

    async def _pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less when the run stops meanwhile."""
        with anyio.move_on_after(seconds):
            await self.halted.wait()

    async def _grace(self) -> None:
        """Once the run stops, what is still on the wire gets ``stop_grace`` seconds, then is cut
        (a POST cut so stays `sending`: the next run settles it, never pays it twice)."""
        await self.halted.wait()
        await anyio.sleep(self.settings.stop_grace)
        self.abort()

    def _blocked(self, provider: str) -> str | None:
        return self.stop_reason or self.stopped_providers.get(provider)

    # -- the run ------------------------------------------------------------------

    async def run(self) -> None:
        self.journal.clear_verdicts()
        self._known = self.journal.current_all()
        self.budget.load(self.journal.all())
        # credits.spent as the record (the manifest) had it when this run started: "spent by this run"
        # is the manifest's figure less this one (renderer.figures)
        self.spent_before = self.previous.charged_in_all()
        for st in self.jobs.values():
            inst = st.inst
            if inst.action == "cancelled":
                st.reused = self.previous.get(inst.id)
                st.status, st.sha = "cancelled", inst.input_sha256
                st.error = st.reused.error if st.reused is not None else None
                st.done.set()
            elif inst.action == "reuse":
                st.reused = self.previous.get(inst.id)
                st.outputs = Outputs.from_manifest(st.reused or ManifestEntry())
                st.status, st.sha = "completed", inst.input_sha256
                st.done.set()
            elif inst.action == "skip":
                prev = self.previous.get(inst.id)
                if prev is not None and prev.completed:
                    st.reused, st.outputs, st.status = prev, Outputs.from_manifest(prev), "completed"
                else:
                    st.status, st.error = "not_submitted", "not selected (--select)"
                st.done.set()
        for st in self.jobs.values():
            if st.done.is_set() and self.on_done is not None:
                self.on_done(st)
        with anyio.CancelScope() as scope:
            self._cancel = scope
            async with anyio.create_task_group() as outer:
                for p in self.pollers.values():
                    outer.start_soon(p.run)
                outer.start_soon(self._grace)
                async with anyio.create_task_group() as tg:
                    for st in self.jobs.values():
                        if not st.done.is_set():
                            tg.start_soon(self._job, st)
                outer.cancel_scope.cancel()
        self._cancel = None
        if self.journal_error is not None:
            raise self.journal_error

    async def _job(self, st: JobState) -> None:
        try:
            await self._job_inner(st)
        except StateError as exc:
            # The journal refused a write (disk full...): no new submissions, no more waiting;
            # answers in flight still land (kept in memory for the manifest). Raised after the run.
            self.journal_error = self.journal_error or exc
            self.stop(f"stopped: {exc}")
            for p in self.pollers.values():
                p.stop("the journal cannot record results")
        finally:
            if st.status in (WAITING, QUEUED, SUBMITTING):
                # cancelled mid-way (second Ctrl-C), or the journal failed: say what it knows
                sub = self.journal.current(st.inst.id, st.sha) if st.sha else None
                cause = self.halt_cause or "interrupted"
                if sub is not None:
                    sub = self.journal.get(sub.id)  # with an answer the disk refused, if any
                    st.sub, st.status = sub, sub.public_status
                    if st.status == "unknown":
                        st.error = sub.error or (f"sent, and no answer came before the run stopped ({cause}); "
                                                 "the next run settles it")
                else:
                    st.status, st.error = "not_submitted", st.error or cause
            st.done.set()
            if self.on_done is not None:
                self.on_done(st)

    async def _job_inner(self, st: JobState) -> None:
        inst = st.inst
        for up in inst.needs:
            await self.jobs[up].done.wait()
        bad = [u for u in inst.needs if self.jobs[u].status != "completed"]
        if bad:
            first = self.jobs[bad[0]]
            why = f"upstream {bad[0]} is {first.status}" + (f" ({first.error})" if first.error and first.status != "pending" else "")
            if first.status == "pending":
                why = f"upstream {bad[0]} is still rendering; run again to continue"
            self._verdict(st, "not_submitted", why)
            return
        route = providers.route(inst.endpoint)
        assert route is not None
        sha: str | None
        if inst.pending:
            resolved = self._resolve(st)
            if resolved is None:
                return
            body, sha, price = resolved.body, resolved.input_sha256, resolved.price
            prev = self.previous.reusable(inst.id, sha) or self._cancelled_entry(inst.id, sha)
            if prev is not None:
                st.reused, st.outputs, st.status, st.sha = prev, Outputs.from_manifest(prev), prev.status or "", sha
                return
        else:
            body, sha, price = inst.body, inst.input_sha256, inst.price
        assert sha is not None
        st.sha, st.price, st.body = sha, price, body
        sub = self._known.get((inst.id, sha))
        if sub is not None and (sub.state == J.COMPLETED or self._stays_cancelled(sub.state)):
            self._finished(st, sub)
            return
        async with self._window(route):
            if sub is None:
                await self._submit(st, route, body, None, generation=1)
            elif sub.state in (J.FAILED, J.CANCELLED, J.REJECTED):
                await self._submit(st, route, body, None, generation=sub.generation + 1)
            elif sub.state == J.ACCEPTED:
                await self._poll(st, route, sub, first_read=0.0)
            elif sub.state == J.PREPARED:
                await self._submit(st, route, body, sub, generation=sub.generation)
            else:  # SENDING or UNKNOWN: a previous run may have been charged for it
                await self._settle(st, route, body, sub)

    def _stays_cancelled(self, state: str | None) -> bool:
        """A cancelled job is not sent again unless its input changed or --rerun-cancelled."""
        return state == J.CANCELLED and not self.options.rerun_cancelled

    def _cancelled_entry(self, iid: str, sha: str) -> ManifestEntry | None:
        entry = self.previous.get(iid)
        if entry is not None and entry.input_sha256 == sha and self._stays_cancelled(entry.status):
            return entry
        return None

    def _track(self, sub: Submission) -> Submission:
        """Every journal transition of a submission passes here: the budget sees it (and keeps
        what it learns of the family), and the manifest on disk follows."""
        self.budget.record(sub, family_of(sub))
        self.changed.add(sub.instance_id)
        for fam in self.budget.learned_families(changed_only=True):
            self.journal.set_family(fam)
            self.changed.update(self.jobs)  # a new factor: every hold of the family may be another
        self._changed()
        return sub

    def _changed(self) -> None:
        if self.checkpoint is not None:
            self.checkpoint.dirty()

    def _end_turn(self, st: JobState, family: str | None = None) -> None:
        """Its charge is known (``family``: only if so), or it is over: the other jobs of its
        pricing family may go, held at what it cost."""
        if st.turn is not None and (family is None or self.budget.knows(family)):
            st.turn.end()
            st.turn = None

    def _resolve(self, st: JobState) -> Resolved | None:
        """A pending body rendered with its upstreams' outputs; None (and a verdict) if it fails."""
        assert self.plan.resolver is not None, "a plan with pending instances carries a resolver"
        upstream = {u: self.jobs[u].outputs or Outputs() for u in st.inst.needs}
        try:
            return self.plan.resolver(st.inst.id, upstream)
        except Invalid as exc:
            self._verdict(st, "failed", "; ".join(str(e) for e in exc.errors))
        except UserError as exc:
            self._verdict(st, "failed", str(exc))
        return None

    @contextlib.asynccontextmanager
    async def _window(self, route: Route) -> AsyncIterator[None]:
        """Jobs a windowed list read answers for (the newest N) hold a slot while unfinished."""
        read = providers.batch_read(route)
        if read is not None and read.windowed:
            window = self.windows.get(read.kind)
            if window is None:
                size = getattr(self.settings.poll, f"{read.kind}_window", read.window)
                window = self.windows[read.kind] = anyio.Semaphore(size)
            async with window:
                yield
        else:
            yield

    # -- outcomes -------------------------------------------------------------------

    def _verdict(self, st: JobState, status: str, reason: str) -> None:
        st.status, st.error = status, reason
        self.journal.set_verdict(st.inst.id, status, reason)
        self._changed()

    def _leave(self, st: JobState, sub: Submission | None, reason: str) -> None:
        """Not sent (now): the journal's state of ``sub`` says what that means."""
        if sub is None or sub.state == J.PREPARED:
            if sub is not None:
                st.sub = sub
            self._verdict(st, "not_submitted", reason)
        else:
            st.sub, st.status, st.error = sub, sub.public_status, reason

    def _finished(self, st: JobState, sub: Submission) -> None:
        st.sub, st.status, st.error = sub, sub.public_status, sub.error
        if sub.state == J.COMPLETED:
            st.outputs = outputs_of(sub)
        self._track(sub)

    # -- submitting ---------------------------------------------------------------------

    async def _settle(self, st: JobState, route: Route, body: Any, sub: Submission) -> None:
        """A submission of an earlier run whose answer was never journaled."""
        client = self.clients[route.provider]
        if client.settings.idempotent_keys and sub.body is not None:  # None: adopted, the body sent is not known
            await self._submit(st, route, body, sub, generation=sub.generation)
            return
        finding = await self._reconcile(route, sub)
        if finding.request_id:
            await self._adopt(st, route, sub, finding)
        elif self.options.resubmit_unknown:
            self.notes.append(f"{st.inst.id}: resubmitting a submission of unknown fate (--resubmit-unknown); it may be charged twice")
            self.journal.note("resubmit_unknown", "resubmitted on request (--resubmit-unknown)", st.inst.id)
            # a new submission (new key, this run's body): the unknown one keeps counting at its estimate
            await self._submit(st, route, body, None, generation=sub.generation + 1)
        else:
            self._unknown(st, sub, sub.error or "the run that sent it ended before the answer was written", finding)

    async def _reconcile(self, route: Route, sub: Submission) -> Finding:
        if not can_reconcile(route):
            return Finding(None, f"{route.endpoint} has no list route that ties a session to a request")
        client = self.clients[route.provider]
        async with self.gates[route.provider].exclusive():  # no other POST of this provider in flight
            unsettled = [s for s in self.journal.latest_per_instance() if s.state in (J.SENDING, J.UNKNOWN)]
            finding = await reconcile(
                client, route, sub, claimed=self.journal.claimed_ids(), unsettled=unsettled,
                clock_skew=self.settings.clock_skew, now=time.time(), list_limit=self.settings.poll.image_list_limit,
            )
        self.journal.note("reconcile", finding.note, sub.instance_id)
        if finding.request_id:  # a claim on a session: said out loud, recorded with its evidence
            self.notes.append(f"{sub.instance_id}: reconciled to {finding.request_id}: {finding.note}")
            self.journal.note("reconciled", json.dumps(
                {"request_id": finding.request_id, "by": finding.by, "evidence": finding.evidence},
                sort_keys=True), sub.instance_id)
        return finding

    def _unknown(self, st: JobState, sub: Submission, why: str, finding: Finding) -> None:
        """Record that a submission's fate is not known, keeping its first cause."""
        first = (sub.error or "").split("; ")[0] if sub.state == J.UNKNOWN and sub.error else why
        text = f"{first}; {finding.note}" if first else finding.note
        if sub.state != J.UNKNOWN or sub.error != text:
            sub = self._track(self.journal.unknown(sub, text[:2000]))
        st.sub, st.status, st.error = sub, "unknown", sub.error

    async def _submit(self, st: JobState, route: Route, body: Any, sub: Submission | None, *, generation: int) -> None:
        """Admit, prepare, send (again only when provably not processed), and act on the answer."""
        if not self._admit(st, route, sub):
            return
        st.turn = await self.budget.turn(route.family)
        try:
            outgoing = await self._prepare(st, route, body, sub, generation)
            if outgoing is not None:
                await self._send(st, route, sub, outgoing)
        finally:
            self._end_turn(st)

    def _admit(self, st: JobState, route: Route, sub: Submission | None) -> bool:
        """May it be sent now? Not when its provider is stopped or the budget cannot hold it."""
        blocked = self._blocked(route.provider)
        if blocked:
            self._leave(st, sub, blocked)
            return False
        price = st.price or st.inst.price
        # a first look, so that nothing is uploaded for a job that cannot fit; the
        # admission that counts is made right before the POST (``_post``)
        refusal = self.budget.admit(st.inst.id, route.family, price.credits.max if price.credits is not None else None,
                                    resend=sub.id if sub is not None else None)
        if refusal:
            self._leave(st, sub, refusal)
            return False
        st.status = QUEUED
        return True

    async def _prepare(self, st: JobState, route: Route, body: Any, sub: Submission | None,
                       generation: int) -> Outgoing | None:
        """The exact body and Idempotency-Key to send (a local input file is uploaded first)."""
        if sub is not None:
            to_send = sub.body  # exactly what was sent before: the key's fingerprint must match
        elif needs_upload(route, body):
            try:
                to_send = await upload_input(self.clients[route.provider], self.journal, route, body, self.folder,
                                             self.settings, self.rng)
            except (DataFileError, ApiError) as exc:
                self._verdict(st, "failed" if upload_failure_is_final(exc) else "not_submitted", str(exc))
                return None
        else:
            to_send = body
        key = sub.idempotency_key if sub is not None else idempotency_key(
            self.campaign_name, st.inst.id, st.sha or "", generation)
        return Outgoing(to_send, key, generation, st.price or st.inst.price)

    async def _send(self, st: JobState, route: Route, sub: Submission | None, outgoing: Outgoing) -> None:
        """POST until an answer settles it, waiting between attempts as the answers say."""
        retry = self.settings.retry
        tries = Tries(Backoff(retry.base_delay, retry.max_delay, self.rng), self.clock(),
                      maybe_processed=sub is not None and sub.state in (J.SENDING, J.UNKNOWN))
        while True:
            tries.attempt += 1
            sub, answer = await self._post(st, route, sub, outgoing)
            if answer.kind in NOT_SENT:
                self._leave(st, sub, self._blocked(route.provider) or st.held_back or answer.error or "not sent")
                return
            assert sub is not None
            self._observe(route.provider, answer)
            again = await self._classify(st, route, sub, answer, tries)
            if again is None:
                return
            sub, wait = again
            tries.maybe_processed = tries.maybe_processed or answer.kind == "ambiguous"
            await self._pause(wait)

    async def _post(self, st: JobState, route: Route, sub: Submission | None,
                    outgoing: Outgoing) -> tuple[Submission | None, Answer]:
        """One POST. The journal records it (``begin``/``sending``) just before the bytes leave."""
        provider = route.provider
        client = self.clients[provider]
        current = sub
        credits = outgoing.price.credits

        def prepare() -> bool:
            """With the slot held, right before the POST: the budget's last word, the intent, and
            the line beside the manifest naming it."""
            nonlocal current
            if self._blocked(provider):
                return False
            st.held_back = self.budget.admit(st.inst.id, route.family, credits.max if credits is not None else None,
                                             resend=current.id if current is not None else None)
            if st.held_back:
                return False
            fresh = current is None or current.state == J.PREPARED  # nothing of it was processed yet
            if current is None:
                current = self.journal.begin(
                    instance_id=st.inst.id, endpoint=st.inst.endpoint, provider=provider, input_sha256=st.sha or "",
                    generation=outgoing.generation, idempotency_key=outgoing.key, body=outgoing.body,
                    estimate=(credits.min, credits.max) if credits is not None else (None, None),
                )
            else:
                current = self.journal.sending(current)
            self.budget.hold(current, route.family)
            st.status, st.sub = SUBMITTING, current
            if self._on_disk(st, current, fresh):
                return True
            current = st.sub  # marked not sent, when nothing of it was processed
            return False

        async with self.slow[provider].slot(), self.gates[provider].shared():
            answer = await client.send("POST", route_url(client.base_url, route), json_body=outgoing.body,
                                       headers={"Idempotency-Key": outgoing.key}, label="submit", prepare=prepare)
        return current, answer

    def _on_disk(self, st: JobState, sub: Submission, fresh: bool) -> bool:
        """Beside the manifest, a line names the submission before its POST leaves
        (``renderer.execute.inflight``). When it cannot be written nothing is sent (a fresh
        intent is marked not sent) and submissions stop."""
        if self.inflight is None:
            self._changed()
            return True
        try:
            self.inflight.record(sub)
        except StateError as exc:
            if fresh:
                st.sub = self._track(self.journal.retryable(sub, f"not sent: {exc}", None))
            self.stop(f"stopped: {exc}")
            return False
        self._changed()  # and in the manifest within a second
        return True

    async def _classify(self, st: JobState, route: Route, sub: Submission, answer: Answer,
                        tries: Tries) -> tuple[Submission, float] | None:
        """Act on an answer; (the submission, a wait) when it is to be sent again."""
        if answer.ok:
            await self._accepted(st, route, sub, answer)
            return None
        if answer.kind == "retry":
            return self._not_processed(st, sub, answer, tries)
        if answer.kind == "ambiguous":
            return await self._ambiguous(st, route, sub, answer, tries)
        self._refused(st, route, sub, answer, tries.maybe_processed)
        return None

    def _not_processed(self, st: JobState, sub: Submission, answer: Answer, tries: Tries) -> tuple[Submission, float] | None:
        """A 429/503-like answer: this attempt was not processed, so it may be sent again, within
        limits. When an earlier attempt may have been, the submission stays sending (counted)."""
        retry = self.settings.retry
        if not tries.maybe_processed:
            sub = self._track(self.journal.retryable(sub, answer.error or "not processed", answer.status))
        wait = answer.retry_after if answer.retry_after is not None else tries.backoff.delay(tries.attempt)
        elapsed = self.clock() - tries.started
        blocked = self._blocked(providers.provider_of(st.inst.endpoint))  # throttled by this very answer, say
        if tries.attempt >= retry.max_attempts or elapsed + wait > retry.max_elapsed or wait > retry.max_wait or blocked:
            if tries.maybe_processed:
                self._unknown_after(st, sub, f"gave up after {tries.attempt} attempt(s) with the same Idempotency-Key; "
                                             f"an earlier one may have been processed: {answer.error}")
            else:
                self._leave(st, sub, blocked or f"gave up after {tries.attempt} attempt(s), none processed: {answer.error}")
            return None
        return sub, wait

    def _unknown_after(self, st: JobState, sub: Submission, why: str) -> None:
        """A submission that may have been processed, and no answer says what became of it."""
        sub = self._track(self.journal.unknown(sub, why[:2000]))
        st.sub, st.status, st.error = sub, "unknown", sub.error

    async def _ambiguous(self, st: JobState, route: Route, sub: Submission, answer: Answer,
                         tries: Tries) -> tuple[Submission, float] | None:
        """No answer: the same key again where the API honours keys, else reconcile, else unknown."""
        retry = self.settings.retry
        if self.clients[route.provider].settings.idempotent_keys:
            wait = tries.backoff.delay(tries.attempt)
            elapsed = self.clock() - tries.started
            if tries.attempt < retry.max_attempts and elapsed + wait <= retry.max_elapsed \
                    and not self._blocked(route.provider):
                return sub, wait  # the same key again: the API answers once
            sub = self._track(self.journal.unknown(
                sub, f"no answer after {tries.attempt} attempt(s) with the same Idempotency-Key: {answer.error}"))
            st.sub, st.status, st.error = sub, "unknown", sub.error
            return None
        await self._pause(self.settings.reconcile_delay)
        finding = await self._reconcile(route, sub)
        if finding.request_id:
            await self._adopt(st, route, sub, finding)
        else:
            self._unknown(st, sub, answer.error or "no answer", finding)
        return None

    def _refused(self, st: JobState, route: Route, sub: Submission, answer: Answer, maybe_processed: bool) -> None:
        """This attempt was refused; a 402 or a refused key stops the provider's submissions.

        A refusal of a resend of an attempt that may have been processed (a 409/422 "key already
        used" even proves it arrived) does not say it was not charged: it stays unknown, counted,
        and the next run settles it with the same key."""
        provider = route.provider
        if maybe_processed:
            self._unknown_after(st, sub, f"a resend with the same Idempotency-Key was refused ({answer.error}); "
                                         "an earlier attempt may have been processed")
        else:
            sub = self._track(self.journal.rejected(sub, answer.error or "refused", answer.status))
            st.sub, st.error = sub, sub.error
            st.status = sub.public_status
        why = {"payment": f"{provider} answered 402 (insufficient credits)",
               "auth": f"{provider} refused the API key ({answer.error})"}.get(answer.kind)
        if why is not None:
            self.stopped_providers.setdefault(provider, f"{why}: no further {provider} submissions")
            self.notes.append(self.stopped_providers[provider])

    async def _adopt(self, st: JobState, route: Route, sub: Submission, finding: Finding) -> None:
        """Reconciliation found the session a lost answer created: it is accepted; poll it."""
        assert finding.request_id is not None
        sub = self._track(self.journal.accepted(sub, request_id=finding.request_id, session_id=finding.request_id,
                                                credits_charged=None, response=keep_fields(route.provider, finding.payload)))
        self._end_turn(st, route.family)
        await self._poll(st, route, sub, first_read=0.0)

    def _observe(self, provider: str, answer: Answer) -> None:
        """Feed the provider's circuit breaker; an open one stops its submissions."""
        if answer.kind == "ambiguous" and answer.payload is None:  # no JSON: a gateway, or nothing at all
            self.slow[provider].answered(False)
            why = self.breaker.failure(provider, answer.error or "no answer")
            if why is not None and provider not in self.stopped_providers:
                self.stopped_providers[provider] = why
                self.notes.append(why)
        elif answer.kind not in ("ambiguous", "retry", "skipped"):  # the API itself answered
            self.slow[provider].answered(True)
            self.breaker.success(provider)

    def _charge_problem(self, st: JobState, problem: str | None) -> None:
        if problem:
            self.notes.append(f"{st.inst.id}: the charge is unknown: the API's {problem}")

    async def _accepted(self, st: JobState, route: Route, sub: Submission, answer: Answer) -> None:
        module = providers.of(route)
        payload = answer.payload
        try:
            rid = module.parse_submit(route, payload)
        except ShapeError as exc:
            rid, why = None, f"the API answered 2xx with an unusable request id ({exc}); it may have been charged"
        else:
            why = "the API answered 2xx without a request id; it may have been charged"
        if rid is None:
            sub = self._track(self.journal.unknown(sub, why))
            st.sub, st.status, st.error = sub, "unknown", sub.error
            return
        session_id = shapes.optional_id(payload.get("session_id")) if isinstance(payload, Mapping) else None
        if answer.headers.get("idempotent-replayed"):
            self.journal.note("replayed", f"the API answered {rid} for the Idempotency-Key again", st.inst.id)
        charge = read_charge(module, answer.headers, payload)
        self._charge_problem(st, charge.problem)
        sub = self._track(self.journal.accepted(sub, request_id=rid, session_id=session_id, credits_charged=charge.credits,
                                                response=keep_fields(route.provider, payload),
                                                credits_reported=charge.reported))
        self._end_turn(st, route.family)  # when its charge is known, the others may go (held at it)
        self._balance_told(route.provider, answer)
        if not route.creates_session:  # cancel_render: the answer is the outcome
            self._complete(st, route, sub, Status(ApiState.COMPLETED), payload, None)
            return
        try:
            status = module.parse_status(route, payload)
        except ShapeError:
            status = Status(ApiState.PENDING)  # a submit answer is no status answer: the poll reads it
        if status.state == "completed" and status.result_url or status.state in ("failed", "cancelled"):
            self._complete(st, route, sub, status, payload, None)  # rollups can finish within the request
            return
        await self._poll(st, route, sub)

    def _balance_told(self, provider: str, answer: Answer) -> None:
        """Note once per provider when its balance is below what is still to submit."""
        left = remaining_credits(answer.headers)
        if left is None or provider in self._balance_noted:
            return
        to_come = 0.0
        for st in self.jobs.values():
            route = providers.route(st.inst.endpoint)
            price = st.price or st.inst.price
            if st.status in (WAITING, QUEUED) and route is not None and route.provider == provider and price.credits:
                to_come += self.budget.hold_for(route.family, price.credits.max) or 0.0
        note = remaining_note(provider, left, to_come)
        if note:
            self._balance_noted.add(provider)
            self.notes.append(note)

    # -- polling ------------------------------------------------------------------------

    async def _poll(self, st: JobState, route: Route, sub: Submission, first_read: float | None = None) -> None:
        st.sub = sub
        if self.options.detach:
            st.status, st.error = PENDING, "submitted (--detach); run again to collect the result"
            return
        st.status = PENDING
        result = await self.pollers[route.provider].watch(route, sub.request_id or "", first_read)
        if result.status is None:
            st.error = result.stopped
            return
        self._charge_problem(st, result.charge_problem)
        if result.hiccups:
            self.notes.append(f"{st.inst.id}: {result.hiccups}")
        self._complete(st, route, sub, result.status, result.payload, result.credits_charged, result.credits_reported)

    def _complete(self, st: JobState, route: Route, sub: Submission, status: Status, payload: Any, charged: float | None,
                  reported: Mapping[str, float | None] | None = None) -> None:
        charged = charged if charged is not None else sub.credits_charged
        duration = None
        if status.state == "completed":
            duration = job_duration(route, sub.body, st.price or st.inst.price, charged, self.plan.price_table)
        sub = self.journal.finish(
            sub, status.state, result_url=status.result_url, result_urls=status.result_urls,
            thumbnail_url=status.thumbnail_url, credits_charged=charged, duration=duration,
            response=keep_fields(route.provider, payload), error=status.error, credits_reported=reported,
        )
        self._finished(st, sub)

    # -- reading ------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for st in self.jobs.values():
            if st.inst.action == "skip":
                continue
            out[st.status] = out.get(st.status, 0) + 1
        return out
