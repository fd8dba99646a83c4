"""Politeness: a token bucket per provider, backoff with full jitter, Retry-After.

The bucket starts from the published (or configured) requests per minute and is
corrected by what the API says about itself: ``X-RateLimit-Remaining`` of 0 closes
it until ``X-RateLimit-Reset``; a 429 or 503 with ``Retry-After`` closes it for
every job of that provider, not only the one that was refused, since the limit is
the account's.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from dataclasses import dataclass
from typing import Awaitable, Callable, Mapping

import anyio

_EPSILON = 1e-9
_MIN_WAIT = 0.001
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class TokenBucket:
    """At most ``rate`` requests per second on average, bursts of at most ``capacity``.

    ``rate=None`` means no known limit: only pauses (Retry-After, Remaining: 0) apply.
    Waiters are served first come, first served.
    """

    def __init__(
        self,
        requests_per_minute: float | None,
        *,
        capacity: float | None = None,
        clock: Clock = time.monotonic,
        wall: Clock = time.time,
        sleep: Sleep = anyio.sleep,
    ) -> None:
        self._clock = clock
        self._wall = wall
        self._sleep = sleep
        self._lock = anyio.Lock()
        self.rate: float | None = None
        self.capacity = 1.0
        self._tokens = 1.0
        self._stamp = clock()
        self._paused_until = 0.0
        self.pauses = 0
        self._configured = requests_per_minute is not None
        self.set_rate(requests_per_minute, capacity)
        self._tokens = self.capacity

    def set_rate(self, requests_per_minute: float | None, capacity: float | None = None) -> None:
        if requests_per_minute is None:
            self.rate = None
            return
        self._refill()
        self.rate = requests_per_minute / 60.0
        # A small burst: a per-minute window allows `rpm` at once, but spreading them
        # keeps room for status reads and for other clients of the same key.
        self.capacity = float(capacity) if capacity is not None else max(1.0, min(10.0, requests_per_minute / 10.0))
        self._tokens = min(self._tokens, self.capacity)

    def _refill(self) -> None:
        now = self._clock()
        if self.rate is not None:
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def pause(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (Retry-After, or an exhausted window)."""
        until = self._clock() + max(0.0, seconds)
        if until > self._paused_until:
            self._paused_until = until
            self.pauses += 1

    def observe(self, headers: Mapping[str, str]) -> None:
        """Learn from X-RateLimit-* headers of any answer."""
        limit = _number(headers.get("x-ratelimit-limit"))
        if limit and not self._configured and (self.rate is None or abs(self.rate * 60 - limit) > 1e-9):
            self.set_rate(limit)
        remaining = _number(headers.get("x-ratelimit-remaining"))
        if remaining is None:
            return
        self._refill()
        self._tokens = min(self._tokens, remaining)
        if remaining <= 0:
            reset = _number(headers.get("x-ratelimit-reset"))
            wait = reset - self._wall() if reset is not None else 60.0
            self.pause(min(max(wait, 0.0), 60.0) + 0.05)

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                if now < self._paused_until:
                    await self._sleep(max(_MIN_WAIT, self._paused_until - now))
                    continue
                if self.rate is None:
                    return
                self._refill()
                if self._tokens >= 1.0 - _EPSILON:  # refills are floats: 0.9999999 is a token
                    self._tokens = max(0.0, self._tokens - 1.0)
                    return
                # never a sub-millisecond sleep: it may not move a clock at all
                await self._sleep(max(_MIN_WAIT, (1.0 - self._tokens) / self.rate))


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        x = float(value)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def retry_after(value: str | None, wall: Clock = time.time) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent/bad."""
    if value is None:
        return None
    value = value.strip()
    x = _number(value)
    if x is not None:
        return max(0.0, x)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - wall())


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter; the RNG is injected so tests are repeatable."""

    base: float
    cap: float
    rng: random.Random

    def delay(self, attempt: int) -> float:
        """Delay before retry number ``attempt`` (1 for the first retry)."""
        ceiling = min(self.cap, self.base * (2 ** max(0, attempt - 1)))
        return self.rng.uniform(0.0, ceiling)
