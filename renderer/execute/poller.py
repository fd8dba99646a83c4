"""Polling that costs little: one loop per provider, batch reads where the API has them.

Each accepted job is a ``Watch`` with its own next-read time; intervals start at
``PollSettings.initial`` and grow by ``factor`` (renders that take long are read
rarely). On every tick the loop reads what is due:

- jobs of a route its provider lists in batch (``Provider.BATCH_READS``): one list
  read answers for every job it shows (due or not). Jobs it does not show fall back
  to their own status read (every Nth miss, for lists that show finished jobs only).
  A *windowed* list shows the most recent sessions only, so the scheduler keeps at
  most ``PollSettings.<kind>_window`` such jobs unfinished (see ``Scheduler``).
- everything else: per-id reads. A per-id read that says finished but names no
  result is completed by the provider's latest-result read (``Provider.LATEST``).

Every read is a task of its own: a slow answer (the client bounds each request by
``Timeouts.total``) delays only the jobs it answers for; the loop keeps dispatching
the others. A watch with a read in flight is not read again until it returns.

Status hiccups are not verdicts: a read that fails (a timeout, a 5xx, a 404 from a
replica that has not seen the id yet) or whose values have the wrong shape
(``renderer.providers.shapes``) says nothing of the job, which was accepted and may be
charged. The watch backs off (its interval grows; a Retry-After is honoured) and
keeps what it saw, until the API says the job finished (failed included) or the job
timeout leaves it pending for a later run, saying what the reads answered.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup

from renderer import providers
from renderer.execute.charges import read_charge
from renderer.execute.client import ProviderClient, route_url
from renderer.execute.settings import PollSettings
from renderer.vocabulary import ApiState, Paused, Route, Status
from renderer.campaign.durations import format_duration
from renderer.providers.protocol import BatchRead
from renderer.providers.shapes import ShapeError

Clock = Callable[[], float]

@dataclass(frozen=True, slots=True)
class PollResult:
    """How a watch ended: a final status, or ``stopped`` (still rendering; read later)."""

    status: Status | None
    payload: Any = None
    credits_charged: float | None = None
    stopped: str | None = None
    charge_problem: str | None = None  # the API's credits figure was not a usable number
    credits_reported: Mapping[str, float | None] | None = None  # header and body, when they disagreed
    hiccups: str | None = None  # the reads that said nothing of the job, in words
    paused: Paused | None = None  # stopped at its approval point (``Provider.APPROVAL``): not finished


@dataclass(slots=True, eq=False)
class Watch:
    route: Route
    request_id: str
    next_due: float
    interval: float
    started: float
    done: anyio.Event = field(default_factory=anyio.Event)
    result: PollResult | None = None
    hiccups: dict[str, int] = field(default_factory=dict)  # what failed reads answered -> how often
    list_misses: int = 0
    reading: bool = False  # a read that answers for it is in flight

    batch_read: BatchRead | None = None

    @property
    def batch(self) -> str | None:
        return self.batch_read.kind if self.batch_read is not None else None


class Poller:
    """All watches of one provider. ``run`` is its loop; ``watch`` waits for one job."""

    def __init__(self, client: ProviderClient, settings: PollSettings, clock: Clock = time.monotonic) -> None:
        self.client = client
        self.settings = settings
        self.clock = clock
        self.watches: dict[str, Watch] = {}
        self._wake = anyio.Event()
        self._last_list: dict[str, float] = {}
        self.reads: dict[str, int] = {"per_id": 0, **{f"{b.kind}_list": 0 for b in providers.get(client.name).BATCH_READS}}
        self._batch_reads: dict[str, BatchRead] = {}
        self._stopped: str | None = None

    async def watch(self, route: Route, request_id: str, first_read: float | None = None) -> PollResult:
        if self._stopped is not None:  # accepted after the stop (its POST was in flight): read it later
            return PollResult(None, stopped=self._stopped)
        now = self.clock()
        delay = self.settings.initial if first_read is None else first_read
        w = Watch(route, request_id, now + delay, self.settings.initial, now, batch_read=providers.batch_read(route))
        if w.batch_read is not None:
            self._batch_reads[w.batch_read.kind] = w.batch_read
        self.watches[request_id] = w
        self._wake.set()
        try:
            await w.done.wait()
        finally:
            self.watches.pop(request_id, None)
        assert w.result is not None
        return w.result

    def stop(self, reason: str) -> None:
        """End every watch now, and any later one, leaving the jobs pending (first Ctrl-C, timeouts)."""
        self._stopped = reason
        for w in list(self.watches.values()):
            self._end(w, PollResult(None, stopped=reason))

    def _end(self, w: Watch, result: PollResult) -> None:
        if w.result is None:
            w.result = result
            w.done.set()

    async def run(self) -> None:
        """Read what is due, forever; cancelled by the scheduler when every job is done."""
        async with anyio.create_task_group() as tg:
            while True:
                await anyio.lowlevel.checkpoint()  # let ended watchers leave before looking again
                now = self.clock()
                self._expire(now)
                idle = [w for w in self.watches.values() if w.result is None and not w.reading]
                self._wake = anyio.Event()
                if not idle:
                    await self._wake.wait()  # a new watch, or a read in flight came back
                    continue
                next_due = min(w.next_due for w in idle)
                if next_due > now:
                    with anyio.move_on_after(next_due - now):
                        await self._wake.wait()
                    continue
                self._dispatch(tg, now)

    def _expire(self, now: float) -> None:
        for w in list(self.watches.values()):
            if w.result is None and now - w.started > self.settings.job_timeout:
                self._end(w, PollResult(None, stopped=timeout_text(self.settings.job_timeout, w.hiccups)))

    def _dispatch(self, tg: TaskGroup, now: float) -> None:
        """Start the reads of every due watch, each as a task of its own."""
        due = [w for w in self.watches.values() if w.next_due <= now and w.result is None and not w.reading]
        groups: dict[str, list[Watch]] = {}
        for w in due:
            kind = w.batch
            if kind is None:
                self._start_read(tg, w)
            else:
                groups.setdefault(kind, []).append(w)
        for kind, ws in groups.items():
            last = self._last_list.get(kind, -1e18)
            watching = sum(1 for w in self.watches.values() if w.batch == kind and w.result is None)
            if watching < self.settings.list_min_jobs:
                for w in ws:  # one job: its own status read costs the same as a list
                    self._start_read(tg, w)
            elif now - last < self.settings.list_interval:
                for w in ws:  # the next list read is close; wait for it
                    w.next_due = last + self.settings.list_interval
            else:
                self._last_list[kind] = now
                for w in ws:
                    w.reading = True
                tg.start_soon(self._list_task, tg, kind, ws)

    def _start_read(self, tg: TaskGroup, w: Watch) -> None:
        w.reading = True
        tg.start_soon(self._read_task, w)

    async def _read_task(self, w: Watch) -> None:
        try:
            await self._read_one(w)
        finally:
            w.reading = False
            self._wake.set()

    async def _list_task(self, tg: TaskGroup, kind: str, ws: list[Watch]) -> None:
        left: list[Watch] = list(ws)
        try:
            left = await self._list_read(kind, ws)
        finally:
            for w in ws:
                w.reading = False
            self._wake.set()
        for w in left:
            if w.result is None and not w.reading:
                self._start_read(tg, w)

    def _reschedule(self, w: Watch, at_least: float = 0.0) -> None:
        w.next_due = self.clock() + max(w.interval, at_least)
        w.interval = min(self.settings.max_interval, w.interval * self.settings.factor)
        if self.clock() - w.started > self.settings.job_timeout:
            self._end(w, PollResult(None, stopped=timeout_text(self.settings.job_timeout, w.hiccups)))

    async def _list_read(self, kind: str, due: list[Watch]) -> list[Watch]:
        """One batch read; returns the due watches it could not answer for."""
        c = self.client
        read = self._batch_reads[kind]
        params = {"limit": str(getattr(self.settings, f"{kind}_list_limit", read.limit))}
        answer = await c.send("GET", route_url(c.base_url, due[0].route, read.path), params=params, label=f"{kind}_list")
        self.reads[f"{kind}_list"] += 1
        if not answer.ok:
            return due  # fall back to per-id reads this time
        items = read.items(answer.payload)
        if items is None:
            return due
        by_id: dict[str, Mapping[str, Any]] = {}
        for item in items:
            if isinstance(item, Mapping):
                for key in ("request_id", "session_id"):
                    if isinstance(item.get(key), str):
                        by_id[item[key]] = item
        left: list[Watch] = []
        due_set = set(map(id, due))
        for w in list(self.watches.values()):
            if w.batch != kind or w.result is not None:
                continue
            item = by_id.get(w.request_id)
            if item is None:
                if id(w) in due_set:
                    w.list_misses += 1
                    # a list of finished jobs only misses the unfinished and the failed:
                    # those are read by id every Nth miss
                    if w.list_misses % read.missing_read_every == 0:
                        left.append(w)
                    else:
                        self._reschedule(w)
                continue
            payload = read.as_status(item, w.request_id)
            self._apply(w, payload, reschedule=id(w) in due_set)
        return left

    async def _read_one(self, w: Watch) -> None:
        c = self.client
        module = providers.of(w.route)
        path, params = module.status_request(w.route, w.request_id)
        answer = await c.send("GET", route_url(c.base_url, w.route, path), params=params, label="status")
        self.reads["per_id"] += 1
        if answer.ok:
            self._apply(w, await self._latest(w, answer.payload), reschedule=True)
        elif answer.kind == "auth":
            self._end(w, PollResult(None, stopped=f"status reads refused: {answer.error}"))
        else:  # a 404 (not replicated yet?), a 5xx, a timeout: nothing said of the job
            self._hiccup(w, answer.error or f"HTTP {answer.status}")
            self._reschedule(w, at_least=answer.retry_after or 0.0)

    def _hiccup(self, w: Watch, seen: str) -> None:
        seen = seen[:200]
        w.hiccups[seen] = w.hiccups.get(seen, 0) + 1

    async def _latest(self, w: Watch, payload: Any) -> Any:
        """A finished answer that names no result: the provider's latest-result read completes it."""
        latest = providers.of(w.route).LATEST
        if latest is None or not latest.wanted(w.route, payload):
            return payload
        c = self.client
        answer = await c.send("GET", route_url(c.base_url, w.route, latest.path), params=latest.params(w.request_id),
                              label="latest")
        self.reads["latest"] = self.reads.get("latest", 0) + 1
        return latest.merge(payload, answer.status or 0, answer.payload) if answer.ok else payload

    def _apply(self, w: Watch, payload: Any, reschedule: bool) -> None:
        provider = providers.of(w.route)
        try:
            status = provider.parse_status(w.route, payload)
        except ShapeError as exc:  # says nothing of the job: read again, and say so if it lasts
            self._hiccup(w, f"an answer of the wrong shape ({exc})")
            status = Status(ApiState.PENDING)
        gate = provider.APPROVAL
        if status.state == ApiState.PENDING and gate is not None and gate.applies(w.route):
            paused = gate.paused(payload)
            if paused is not None:  # it waits for an approval: reading it again would teach nothing
                self._end(w, PollResult(None, payload, paused=paused, hiccups=hiccups_text(w.hiccups)))
                return
        if status.state == ApiState.PENDING:
            if reschedule:
                self._reschedule(w)
            return
        charge = read_charge(provider, {}, payload)
        self._end(w, PollResult(status, payload, charge.credits, charge_problem=charge.problem,
                                credits_reported=charge.reported, hiccups=hiccups_text(w.hiccups)))


def hiccups_text(hiccups: Mapping[str, int]) -> str | None:
    """What failed status reads answered, in words: "status reads failed 3 times (HTTP 404: ... x3)"."""
    if not hiccups:
        return None
    seen = "; ".join(f"{what} x{n}" if n > 1 else what for what, n in sorted(hiccups.items(), key=lambda kv: -kv[1])[:3])
    return f"{sum(hiccups.values())} status read(s) said nothing of the job ({seen})"


def timeout_text(seconds: float, hiccups: Mapping[str, int] | None = None) -> str:
    seen = hiccups_text(hiccups or {})
    return (f"still rendering after the job timeout ({format_duration(seconds)}); left pending: "
            "run again to keep waiting, or raise timeouts.job / --job-timeout"
            + (f"; {seen}" if seen else ""))
