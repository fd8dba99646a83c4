"""The manifest on disk as soon as the money is: coalesced writes during a run.

The journal is the write-ahead record of every POST, but it lives in ``.renderer/``,
which a CI runner loses. The manifest travels with the campaign, so a run killed at
any moment must leave one that names everything the API may have accepted:

- Before a POST leaves, its submission is in the manifest on disk (``barrier``), as
  ``unknown`` with the body it sends: a run that finds it without a journal settles it
  (same key, or proof from a listing) and never sends it blindly. The POSTs that wait
  for one write share it (group commit).
- Every other change (a request id, an outcome) reaches the disk within ``interval``
  seconds (``dirty``), coalesced into one write; ``commands/run.py`` writes the last
  one on every way out a process can handle.

Writes are atomic (``renderer.atomic``). The manifest is built on the event loop (it
reads the run's state), then written and fsynced in a worker thread. The wait between
coalesced writes is injected (``sleep``), so tests drive it without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio

from renderer.errors import StateError


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
        self._urgent = 0  # the highest numbered change a POST waits for
        self._written = 0  # every change up to this one is on disk
        self._tried = 0  # every change up to this one was written, or tried
        self._wake = anyio.Event()
        self._done = anyio.Event()
        self._last = -float("inf")
        self.error: StateError | None = None
        self.writes = 0

    def dirty(self) -> None:
        """Something changed: on disk within ``interval`` seconds."""
        self._asked += 1
        self._wake.set()

    async def barrier(self) -> None:
        """Return once what changed so far is on disk (a POST follows); raise if it cannot be."""
        self._asked += 1
        target = self._urgent = self._asked
        self._wake.set()
        while self._written < target:
            await self._done.wait()
            if self._written < target and self.error is not None:
                raise self.error

    async def run(self) -> None:
        """Write whenever asked: at once for a barrier, else at most once per ``interval``."""
        while True:
            while self._tried >= self._asked:  # all asked was tried (a failed write waits for a new ask)
                self._wake = anyio.Event()
                await self._wake.wait()
            wait = self._last + self.interval - self._clock()
            if wait > 0 and self._urgent <= self._written:
                await self._coalesce(wait)
            await self.write_now()

    async def _coalesce(self, wait: float) -> None:
        """Wait out the interval, unless a barrier asks for a write sooner."""
        async with anyio.create_task_group() as tg:
            async def urgent() -> None:
                while self._urgent <= self._written:
                    self._wake = anyio.Event()
                    await self._wake.wait()
                tg.cancel_scope.cancel()

            async def elapsed() -> None:
                await self._sleep(wait)
                tg.cancel_scope.cancel()

            tg.start_soon(urgent)
            tg.start_soon(elapsed)

    async def write_now(self) -> None:
        """One write of everything asked so far (a failure is kept: barriers raise it)."""
        target = self._tried = self._asked
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
        done, self._done = self._done, anyio.Event()
        done.set()
