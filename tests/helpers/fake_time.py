"""A clock and a sleep that tests drive: a rate limiter's waits are counted, never waited."""

from __future__ import annotations

from typing import Any

from renderer.execute.limits import TokenBucket


class FakeTime:
    """Monotonic and wall time that move only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return 1_700_000_000.0 + self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def bucket(rpm: float | None, t: FakeTime, **kw: Any) -> TokenBucket:
    """A token bucket on ``t``'s clock."""
    return TokenBucket(rpm, clock=t.clock, wall=t.wall, sleep=t.sleep, **kw)
