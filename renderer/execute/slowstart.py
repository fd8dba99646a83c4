"""Slow start: a provider that has not answered clearly gets one submission at a time.

A gateway storm (every POST answered by an HTML 502, or connections cut once the
request left) turns each submission in flight into one whose fate is unknown: it
may have been charged, and settling it takes a reconciliation or the user's word.
With ``providers.<name>.concurrency`` POSTs on the wire from the first moment, a
storm leaves that many to settle before the circuit breaker (``breaker.py``) opens
after three. So, as TCP does: until the provider has answered one submission
clearly (accepted or refused, with its own JSON), at most ``first`` are in flight;
then concurrency opens up. An answer that is not clear closes it again.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import anyio


class SlowStart:
    def __init__(self, first: int = 1) -> None:
        self.first = first
        self.open = False
        self.in_flight = 0
        self._changed = anyio.Event()

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Held around one POST."""
        while not self.open and self.in_flight >= self.first:
            await self._changed.wait()
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1
            self._notify()

    def answered(self, clear: bool) -> None:
        """A submission's answer came back: clear (the API itself answered) or not."""
        if clear != self.open:
            self.open = clear
            self._notify()

    def _notify(self) -> None:
        changed, self._changed = self._changed, anyio.Event()
        changed.set()
