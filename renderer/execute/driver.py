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
from typing import TextIO

import anyio
import httpx

from renderer.execute.balance import balance_warnings
from renderer.execute.budget import Budget
from renderer.execute.checkpoint import Checkpoint
from renderer.execute.client import ProviderClient
from renderer.execute.inflight import Inflight
from renderer.execute.durable import first_error
from renderer.execute.console import RunOutput
from renderer.execute.progress import Reporter, Snapshot, reporter_for
from renderer.execute.scheduler import RunOptions, Scheduler
from renderer.execute.scrub import Scrubber
from renderer.execute.settings import ExecSettings, ProviderSettings
from renderer.execute.store import JournalStore
from renderer.manifest import Manifest
from renderer.plan.model import Plan
from renderer.results.runhooks import RunDownloads, downloading


Recorder = Callable[[Scheduler], Callable[[], None]]


def execute(plan: Plan, journal: JournalStore, conf: Mapping[str, ProviderSettings], xs: ExecSettings,
            options: RunOptions, previous: Manifest | None, out: TextIO, notes: Sequence[str],
            transports: Mapping[str, httpx.AsyncBaseTransport], box: list[Scheduler],
            downloads: RunDownloads | None = None, budget: Budget | None = None,
            scrubber: Scrubber | None = None, record: Recorder | None = None,
            inflight: Inflight | None = None) -> bool:
    """Run the plan; True when a second Ctrl-C aborted it. ``box`` receives the scheduler.
    ``downloads`` fetches each job's result files as it completes (``--outputs``);
    ``record(scheduler)`` builds the manifest and returns what writes it: the run keeps it
    on disk as it goes (``renderer.execute.checkpoint``); ``inflight`` names each POST
    beside it before it leaves.

    A task's own error (the journal's disk full...) is raised as itself, not in a group.
    """
    try:
        return anyio.run(_execute, plan, journal, conf, xs, options, previous, out, notes, transports, box,
                         downloads, budget, scrubber or Scrubber(), record, inflight)
    except BaseExceptionGroup as group:
        raise first_error(group) from None


async def _execute(plan: Plan, journal: JournalStore, conf: Mapping[str, ProviderSettings], xs: ExecSettings,
                   options: RunOptions, previous: Manifest | None, out: TextIO, notes: Sequence[str],
                   transports: Mapping[str, httpx.AsyncBaseTransport], box: list[Scheduler],
                   downloads: RunDownloads | None, budget: Budget | None, scrubber: Scrubber,
                   record: Recorder | None, inflight: Inflight | None) -> bool:
    clients = {name: ProviderClient(ps, xs.timeouts, transport=transports.get(name), scrubber=scrubber,
                                    max_wait=xs.retry.max_wait)
               for name, ps in conf.items()}
    sched = Scheduler(plan, journal, clients, xs, options, previous=previous, budget=budget)
    if record is not None:
        sched.checkpoint = Checkpoint(lambda: record(sched), xs.manifest_interval)
    sched.inflight = inflight
    sched.on_done = downloads.on_done if downloads is not None else None
    box.append(sched)
    if isinstance(out, RunOutput):
        out.on_broken = lambda: _reader_gone(sched)
    total = sum(1 for i in plan.instances if i.action != "skip")
    reporter = reporter_for(out, total, xs.progress_interval)
    for note in notes:
        reporter.note(f"note: {note}")
    interrupts = 0
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_progress, sched, reporter, xs, options)
            if sched.checkpoint is not None:
                tg.start_soon(sched.checkpoint.run)

            async def on_interrupt() -> None:
                nonlocal interrupts
                interrupts += 1
                if interrupts == 1:
                    reporter.note("interrupted: stopping; Ctrl-C again to stop at once")
                    sched.interrupt()
                else:
                    sched.abort()
                    if downloads is not None:
                        downloads.abort("interrupted")

            if threading.current_thread() is threading.main_thread():
                tg.start_soon(_signals, on_interrupt)
            if xs.run_timeout is not None:
                tg.start_soon(_deadline, sched, xs.run_timeout)
            if downloads is not None:
                tg.start_soon(_stop_downloads, sched, downloads)
            for warning in await _balance(plan, clients, sched, xs):
                reporter.note(warning)
            async with downloading(downloads):
                await sched.run()
            tg.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            for c in clients.values():
                await c.aclose()
        reporter.close(_snapshot(sched, options))
    return interrupts > 1


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
    rates = [c.bucket.rate for c in sched.clients.values()]
    rate = sum(r for r in rates if r is not None) if rates and None not in rates else None
    return Snapshot(sched.counts(), total, sched.budget.spent(), sched.spent_before, sched.clock() - sched.started,
                    options.detach, rate)


async def _progress(sched: Scheduler, reporter: Reporter, xs: ExecSettings, options: RunOptions) -> None:
    while True:
        reporter.update(_snapshot(sched, options))
        await anyio.sleep(min(1.0, xs.progress_interval))


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
