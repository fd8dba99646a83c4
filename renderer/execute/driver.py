"""Driving a ``Scheduler`` on one anyio event loop: progress, the run's deadline, Ctrl-C, and
clients closed on every way out.

The deadline (``run_timeout``) and the first Ctrl-C end every wait of the run, the
downloads' included (``Scheduler.stop``: turns in the rate limiter, pauses between
retries, polling; ``RunDownloads.abort``); requests already on the wire get
``stop_grace`` seconds. The run then ends and the manifest is written, however the
API behaves. The deadline covers the whole run: downloads still going after the last
job finished are cut by it too.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

import anyio
import httpx

from renderer.errors import RendererError
from renderer.execute.account import AccountGate
from renderer.execute.balance import balance_warnings
from renderer.execute.budget import Budget
from renderer.execute.checkpoint import Checkpoint
from renderer.execute.client import ProviderClient
from renderer.execute.console import RunOutput
from renderer.execute.inflight import Inflight
from renderer.execute.progress import Reporter, Snapshot, reporter_for
from renderer.execute.scheduler import RunOptions, Scheduler
from renderer.execute.scrub import Scrubber
from renderer.execute.settings import ExecSettings, ProviderSettings
from renderer.execute.store import JournalStore
from renderer.manifest import Manifest
from renderer.plan.model import Plan
from renderer.results.runhooks import RunDownloads, downloading

if TYPE_CHECKING:
    from renderer.execute.ratewindow import SharedRates  # psycopg is imported only when a store is named


Recorder = Callable[[Scheduler], Callable[[], None]]  # builds the manifest now; what it returns writes it


@dataclass(frozen=True, slots=True)
class ExecuteRequest:
    """What a run drives: its plan against its journal, with each provider's settings."""

    plan: Plan
    journal: JournalStore
    providers: Mapping[str, ProviderSettings]  # by provider name: base URL, key, rate limits
    settings: ExecSettings
    options: RunOptions
    previous: Manifest | None = None  # the manifest the run resumes from
    notes: Sequence[str] = ()  # said before the first request
    transports: Mapping[str, httpx.AsyncBaseTransport] = field(default_factory=dict)  # tests: by provider
    downloads: RunDownloads | None = None  # each job's result files, fetched as it completes (--outputs)
    budget: Budget | None = None  # the opening budget (``spending.opening``)
    scrubber: Scrubber = field(default_factory=Scrubber)
    # the manifest kept on disk as the run goes (``renderer.execute.checkpoint``): ``record(scheduler)``
    # builds it and returns what writes it (in a worker thread)
    record: Recorder | None = None
    inflight: Inflight | None = None  # each POST named beside the manifest before it leaves
    account: AccountGate | None = None  # budget.account: each POST admitted against it too
    rates: SharedRates | None = None  # each provider's rate window, shared with every runner of the store


@dataclass(frozen=True, slots=True)
class Execution:
    """How a run went: the scheduler as it ended (its jobs, budget, notes, and why it stopped),
    and what cut it short. ``error`` is for the caller to raise once the manifest is written."""

    scheduler: Scheduler
    aborted: bool = False  # a second Ctrl-C stopped it at once
    error: BaseException | None = None  # a task's own error (the journal's disk full...), or Ctrl-C


def execute(request: ExecuteRequest, out: TextIO) -> Execution:
    """Run the plan. Once its scheduler exists every way out returns how the run went, an
    error included (a task's own error is itself, not in a group); before, errors are raised."""
    made: list[Scheduler] = []
    try:
        aborted = anyio.run(_execute, request, out, made.append)
    except BaseException as exc:
        error = first_error(exc) if isinstance(exc, BaseExceptionGroup) else exc
        if not made:
            raise error from None
        return Execution(made[0], error=error)
    return Execution(made[0], aborted=aborted)


async def _execute(request: ExecuteRequest, out: TextIO, made: Callable[[Scheduler], None]) -> bool:
    """True when a second Ctrl-C aborted the run."""
    xs, downloads = request.settings, request.downloads
    clients = {name: ProviderClient(ps, xs.timeouts, transport=request.transports.get(name),
                                    scrubber=request.scrubber, max_wait=xs.retry.max_wait)
               for name, ps in request.providers.items()}
    if request.rates is not None:
        for name, client in clients.items():
            client.bucket.shared = request.rates.window(name, client.base_url)  # N runners, one rate window
    sched = _scheduler(request, clients)
    made(sched)
    if isinstance(out, RunOutput):
        out.on_broken = lambda: _reader_gone(sched)
    reporter = reporter_for(out, sum(1 for i in request.plan.instances if i.action != "skip"), xs.progress_interval)
    for note in request.notes:
        reporter.note(f"note: {note}")
    interrupts = _Interrupts(sched, reporter, downloads)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_progress, sched, reporter, xs, request.options)
            if sched.checkpoint is not None:
                tg.start_soon(sched.checkpoint.run)
            if threading.current_thread() is threading.main_thread():
                tg.start_soon(_signals, interrupts.on_signal)
            if xs.run_timeout is not None:
                tg.start_soon(_deadline, sched, xs.run_timeout)
            if downloads is not None:
                tg.start_soon(_stop_downloads, sched, downloads)
            for warning in await _balance(request.plan, clients, sched, xs):
                reporter.note(warning)
            async with downloading(downloads):
                await sched.run()
            tg.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            for c in clients.values():
                await c.aclose()
        reporter.close(_snapshot(sched, request.options))
    return interrupts.count > 1


def _scheduler(request: ExecuteRequest, clients: Mapping[str, ProviderClient]) -> Scheduler:
    """The run's scheduler, with what it writes beside the journal as it goes (checkpoints, POSTs in
    flight) and what it does as each job ends (downloads)."""
    sched = Scheduler(request.plan, request.journal, clients, request.settings, request.options,
                      previous=request.previous, budget=request.budget, account=request.account)
    record = request.record
    if record is not None:
        sched.checkpoint = Checkpoint(lambda: record(sched), request.settings.manifest_interval)
    sched.inflight = request.inflight
    sched.on_done = request.downloads.on_done if request.downloads is not None else None
    return sched


class _Interrupts:
    """Ctrl-C (or SIGTERM): the first stops the run gently, the second at once."""

    def __init__(self, sched: Scheduler, reporter: Reporter, downloads: RunDownloads | None) -> None:
        self.sched, self.reporter, self.downloads = sched, reporter, downloads
        self.count = 0

    async def on_signal(self) -> None:
        self.count += 1
        if self.count == 1:
            self.reporter.note("interrupted: stopping; Ctrl-C again to stop at once")
            self.sched.interrupt()
            return
        self.sched.abort()
        if self.downloads is not None:
            self.downloads.abort("interrupted")


async def _balance(plan: Plan, clients: Mapping[str, ProviderClient], sched: Scheduler, xs: ExecSettings) -> list[str]:
    """The balance read before the run, cut like any request on the wire once the run stops."""
    warnings: list[str] = []
    async with anyio.create_task_group() as tg:

        async def cut() -> None:
            await sched.halted.wait()
            await anyio.sleep(xs.stop_grace)
            tg.cancel_scope.cancel()

        tg.start_soon(cut)
        warnings = await balance_warnings(plan, clients)
        tg.cancel_scope.cancel()
    return warnings


async def _deadline(sched: Scheduler, seconds: float) -> None:
    """The run timeout, from the start of the run: the scheduler stops, and with it every wait."""
    await anyio.sleep(seconds)
    sched.time_out(seconds)


async def _stop_downloads(sched: Scheduler, downloads: RunDownloads) -> None:
    """Downloads are waits too: they stop with the run (what is partial is resumed by the next)."""
    await sched.halted.wait()
    downloads.abort(sched.halt_cause)


def _reader_gone(sched: Scheduler) -> None:
    """`renderer run | head`: nobody reads on. Stop like a first Ctrl-C; the manifest is still written."""
    sched.stop("the output was closed (broken pipe): no further submissions; "
               "unfinished jobs stay pending and a later run resumes them", "the output was closed")
    for p in sched.pollers.values():
        p.stop("output closed; left pending")


async def _signals(handler: Callable[[], Awaitable[None]]) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as signals:
        async for _ in signals:
            await handler()


def _snapshot(sched: Scheduler, options: RunOptions) -> Snapshot:
    total = sum(1 for st in sched.jobs.values() if st.inst.action != "skip")
    rates = [c.bucket.rate for c in sched.ctx.clients.values()]
    rate = sum(r for r in rates if r is not None) if rates and None not in rates else None
    return Snapshot(sched.counts(), total, sched.budget.spent(), sched.spent_before, sched.clock() - sched.started,
                    options.detach, rate)


async def _progress(sched: Scheduler, reporter: Reporter, xs: ExecSettings, options: RunOptions) -> None:
    while True:
        reporter.update(_snapshot(sched, options))
        await anyio.sleep(min(1.0, xs.progress_interval))


def first_error(group: BaseExceptionGroup) -> BaseException:
    """The error a user should see from a failed task group: our own (a ``RendererError``) first."""
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            inner = first_error(exc)
            if isinstance(inner, RendererError):
                return inner
        elif isinstance(exc, RendererError):
            return exc
    return group


@contextlib.contextmanager
def sigint_deferred() -> Iterator[list[int]]:
    """Hold Ctrl-C while the manifest is written; yields a list that is non-empty if one came."""
    seen: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, previous)
