"""The manifest on disk as soon as the money is: coalesced writes during a run.

The journal is the write-ahead record of every POST, but it lives in ``.renderer/``,
which a CI runner loses. The manifest travels with the campaign, so a run killed at
any moment must leave one that names everything the API accepted. What money needs is
on disk at once, in O(1) per event: each POST is named beside the manifest before it
leaves, and its request id the moment the API accepts it (``renderer.execute.inflight``).
The manifest itself, every change coalesced into one full rewrite (``dirty``), follows
within ``interval`` seconds, or, for a manifest whose write takes more than a twentieth of
that, ``SPACING`` times what the last write took: a rewrite costs O(jobs), so spacing it by
its cost keeps the time spent writing under 1/(SPACING + 1) of the run (about 5 %) and the
bytes written O(1) per job amortised (at 100,000 jobs a ~140 MB manifest is rewritten
about every 20 write-times instead of every 4). ``commands/run.py`` writes the last one on
every way out a process can handle.

Writes are atomic (``renderer.atomic``), and cost what changed: the manifest's text is
built on the event loop from the entries of the jobs that changed since the last write
(``renderer.execute.manifest_from_run.Snapshots``), then written in a worker thread. The wait
between writes is injected (``sleep``), so tests drive it without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio

from renderer.errors import StateError

SPACING = 20  # a full rewrite waits at least this many times what the last one took

class Checkpoint:
    """Coalesced manifest writes; ``run`` is the writer, started in the run's task group."""

    def __init__(self, write: Callable[[], Callable[[], None]], interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = anyio.sleep) -> None:
        """``write()`` builds the manifest (on the loop) and returns what writes it to disk
        (run in a worker thread); either may raise ``StateError``."""
        self._write = write
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._asked = 0  # changes asked to be written, numbered
        self._written = 0  # every change up to this one is on disk
        self._tried = 0  # every change up to this one was written, or tried
        self._wake = anyio.Event()
        self._last = -float("inf")
        self._cost = 0.0  # seconds the last write took, building included
        self.error: StateError | None = None
        self.writes = 0

    def dirty(self) -> None:
        """Something changed: on disk within ``interval`` seconds."""
        self._asked += 1
        self._wake.set()

    async def run(self) -> None:
        """Write whenever asked, at most once per ``interval``."""
        while True:
            while self._tried >= self._asked:  # all asked was tried (a failed write waits for a new ask)
                self._wake = anyio.Event()
                await self._wake.wait()
            # a manifest so large that writing it takes a while is written less often: at most a
            # 21st of the run's time goes to it (the POSTs and request ids of the meantime are named
            # in .inflight)
            wait = self._last + max(self.interval, SPACING * self._cost) - self._clock()
            if wait > 0:
                await self._sleep(wait)
            await self.write_now()

    async def write_now(self) -> None:
        """One write of everything asked so far (a failure is kept in ``error``; the next change
        tries again, and the run's last write raises it)."""
        target = self._tried = self._asked
        started = self._clock()
        try:
            finish = self._write()
            await anyio.to_thread.run_sync(finish)
        except StateError as exc:
            self.error = exc
        else:
            self.error = None
            self._written = max(self._written, target)
            self.writes += 1
        self._last = self._clock()
        self._cost = self._last - started
