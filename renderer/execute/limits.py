"""Politeness: a request window per provider, backoff with full jitter, Retry-After.

Before a provider has said anything, its published (or configured) requests per
minute is the guess: a token bucket with a small burst. Once an answer carries
``X-RateLimit-Remaining`` and ``X-RateLimit-Reset``, the server's window is the
truth: up to what remains goes out at once (status reads count too: one
window per provider), then nothing until the reset; then the window's limit
again, starting with one request whose answer confirms the new window. A reset
the server rounds down shows as that request landing in the old window: from
then on the bucket waits a second past each reset (at most one 429 to learn it).
A 429 or 503 with ``Retry-After`` pauses every job of the provider, since the
limit is the account's. A rate the campaign sets itself stays a ceiling.

Every wait the server asks for is capped at ``max_wait`` (``RetrySettings.max_wait``,
5 minutes unless ``RENDERER_MAX_WAIT`` says otherwise). A server asking for longer,
or for a wait that cannot be read (``Retry-After: 1e9``, an HTTP date in 9999, a
reset that is no number, ``X-RateLimit-Limit: 0.0001``), *throttles* the provider:
``acquire`` raises ``Throttled`` from then on, at once, for every request of it, and
the run reports it (its unsent jobs stay ``not_submitted``; a later run sends them).
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from dataclasses import dataclass
from typing import Awaitable, Callable, Mapping, Protocol

import anyio

_EPSILON = 1e-9
_MIN_WAIT = 0.001
_RECHECK = 0.02  # while the answer that tells a new window is on its way
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class Shared(Protocol):
    """A rate window shared with other runners (``renderer.execute.ratewindow``)."""

    def claim(self, now: float) -> float | None:
        """0: a request may go (its slot is taken); > 0: seconds to wait; None: out of reach."""
        ...

    def seen(self, limit: float, remaining: float, reset: float) -> None: ...

    def no_window(self) -> None:
        """An answer without a window: the provider publishes none (nothing to share)."""
        ...


class Throttled(Exception):
    """The server asked for a wait past the cap: nothing more is sent to this provider in this run."""


def wait_text(seconds: float) -> str:
    """A wait as people read it, absurd ones included (this module imports nothing of ours)."""
    if not math.isfinite(seconds):
        return "an unreadable time"
    return f"{seconds:.3g} s" if seconds >= 1e6 else f"{seconds:g} s"


@dataclass(slots=True)
class _Window:
    """The server's current window, as its answers describe it."""

    left: float  # requests we may still send before it resets
    reset_wall: float  # X-RateLimit-Reset: when it ends, on the server's clock (epoch seconds)
    reset_at: float  # the same on our clock (monotonic), plus the rounding margin
    confirmed: bool = True  # an answer from this window was seen; else one request at a time
    probing: bool = False


class TokenBucket:
    """The requests one provider allows: a guessed rate, then the server's window.

    ``requests_per_minute=None``: no guess (only the server's answers and pauses
    apply). ``ceiling``: the rate is the campaign's own and holds even when the
    window would allow more; else it is only the guess before the first answer.
    Waiters are served first come, first served.
    """

    def __init__(
        self,
        requests_per_minute: float | None,
        *,
        capacity: float | None = None,
        ceiling: bool = True,
        clock: Clock = time.monotonic,
        wall: Clock = time.time,
        sleep: Sleep = anyio.sleep,
        max_wait: float = 300.0,
    ) -> None:
        self.max_wait = max_wait
        self.throttled: str | None = None  # why the server's waits are past the cap; then nothing is sent
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
        self._configured = requests_per_minute is not None and ceiling
        self.set_rate(requests_per_minute, capacity)
        self._tokens = self.capacity
        self.window: _Window | None = None
        self.limit: float | None = None  # X-RateLimit-Limit: requests a window allows
        self.margin = 0.0  # seconds past each reset: 1 once resets are found rounded down
        self._inflight = 0
        self.shared: Shared | None = None  # the window every runner of a shared store takes its slots from
        self.shared_lost = False  # the store was out of reach: this runner keeps to its own window
        self._shared_seen = False

    def set_rate(self, requests_per_minute: float | None, capacity: float | None = None) -> None:
        if requests_per_minute is None:
            self.rate = None
            return
        self._refill()
        self.rate = requests_per_minute / 60.0
        # A small burst until the server says what its window allows.
        self.capacity = float(capacity) if capacity is not None else max(1.0, min(10.0, requests_per_minute / 10.0))
        self._tokens = min(self._tokens, self.capacity)

    def _refill(self) -> None:
        now = self._clock()
        if self.rate is not None:
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def throttle(self, why: str) -> None:
        if self.throttled is None:
            self.throttled = why

    def _past_cap(self, seconds: float, what: str) -> bool:
        if seconds > self.max_wait:  # inf and nan alike: nan > x is False, so nan never gets here
            self.throttle(f"{what} asks to wait {wait_text(seconds)}, more than the {wait_text(self.max_wait)} "
                          "cap (RENDERER_MAX_WAIT)")
            return True
        return False

    def pause(self, seconds: float, what: str = "Retry-After") -> None:
        """Send nothing for ``seconds`` (Retry-After); past the cap, or unreadable, throttled instead."""
        if math.isnan(seconds):
            seconds = math.inf
        if self._past_cap(seconds, what):
            return
        until = self._clock() + max(0.0, seconds)
        if until > self._paused_until:
            self._paused_until = until
            self.pauses += 1

    def release(self) -> None:
        """A request ``acquire`` let through has its answer (or failed): call before ``observe``."""
        self._inflight = max(0, self._inflight - 1)
        if self.window is not None and not self.window.confirmed:
            self.window.probing = False

    def observe(self, headers: Mapping[str, str]) -> None:
        """Learn from X-RateLimit-* headers of any answer."""
        limit = _number(headers.get("x-ratelimit-limit"))
        if limit is not None and limit < 1:  # a window that allows no request: as good as closed
            self.throttle(f"X-RateLimit-Limit {headers['x-ratelimit-limit']!r} allows less than one request")
            return
        if limit and limit > 0:
            self.limit = limit
            if not self._configured and self.window is None and (self.rate is None or abs(self.rate * 60 - limit) > 1e-9):
                self.set_rate(limit)
        remaining = _number(headers.get("x-ratelimit-remaining"))
        reset = _number(headers.get("x-ratelimit-reset"))
        if remaining is None:
            if self.shared is not None:
                self._share(remaining, reset)
            return
        if self.shared is not None:
            self._share(remaining, reset)
        if reset is None:  # a count without a window: only ever slows down
            self._refill()
            self._tokens = min(self._tokens, remaining)
            if remaining <= 0:  # no reset: a minute; a reset that is no number: as if past the cap
                self.pause(60.0 if headers.get("x-ratelimit-reset") is None else math.inf, "X-RateLimit-Reset")
            return
        self._window_answer(remaining, reset)

    def _share(self, remaining: float | None, reset: float | None) -> None:
        """An answer's window, for every runner; before any window was seen, an answer without one
        means the provider publishes none: this runner stops sharing (and lets another learn)."""
        assert self.shared is not None
        if remaining is not None and reset is not None and self.limit:
            self.shared.seen(self.limit, remaining, reset)
            self._shared_seen = True
        elif not self._shared_seen:
            self.shared.no_window()
            self.shared = None

    def _window_answer(self, remaining: float, reset: float) -> None:
        """An answer from the window ending at ``reset`` (server time), with ``remaining`` left in it."""
        w = self.window
        left = max(0.0, remaining - self._inflight)  # those in flight may not be counted yet
        reset_at = self._clock() + max(reset - self._wall(), 0.0)
        if w is not None and reset <= w.reset_wall:
            if w.confirmed and reset == w.reset_wall:
                w.left = min(w.left, left)
                return
            if w.confirmed or remaining > 0:
                return  # a late answer from a window that is over
            # the request meant for the next window found the last one used up: resets are rounded down
            self.margin = 1.0
        self.window = _Window(left, reset, reset_at + self.margin)

    def _window_wait(self, now: float) -> float:
        """Seconds to wait for the window; 0: a request may go."""
        w = self.window
        if w is None:
            return 0.0
        if now >= w.reset_at and w.confirmed:  # over: the next one allows its limit, as far as we know
            w = self.window = _Window(self.limit or 1.0, w.reset_wall, math.inf, confirmed=False)
        if not w.confirmed:
            return _RECHECK if w.probing else 0.0
        if w.left >= 1.0 - _EPSILON:
            return 0.0
        return w.reset_at - now

    def _take(self) -> None:
        w = self.window
        if w is not None:
            if w.confirmed:
                w.left = max(0.0, w.left - 1.0)
            else:
                w.probing = True
        self._inflight += 1

    async def acquire(self) -> None:
        """Wait until a request may go; ``Throttled`` when the server's waits are past the cap."""
        async with self._lock:
            while True:
                if self.throttled is not None:
                    raise Throttled(self.throttled)
                now = self._clock()
                if now < self._paused_until:
                    await self._sleep(max(_MIN_WAIT, self._paused_until - now))
                    continue
                wait = self._window_wait(now) if self.shared is None else 0.0
                if wait > 0 and self._past_cap(wait, "X-RateLimit-Reset"):
                    continue
                if wait > 0:
                    await self._sleep(max(_MIN_WAIT, wait))
                    continue
                if self.rate is not None and (self.window is None or self._configured):
                    self._refill()
                    if self._tokens < 1.0 - _EPSILON:  # refills are floats: 0.9999999 is a token
                        # never a sub-millisecond sleep: it may not move a clock at all
                        await self._sleep(max(_MIN_WAIT, (1.0 - self._tokens) / self.rate))
                        continue
                    self._tokens = max(0.0, self._tokens - 1.0)
                if self.shared is not None:
                    wait = self._shared_wait()
                    if wait > 0 and not self._past_cap(wait, "X-RateLimit-Reset"):
                        await self._sleep(max(_MIN_WAIT, wait))
                    if wait > 0:
                        continue
                self._take()
                return

    def _shared_wait(self) -> float:
        """The shared window's word (0: go); a store out of reach leaves this runner on its own window."""
        assert self.shared is not None
        wait = self.shared.claim(self._wall())
        if wait is None:
            self.shared, self.shared_lost = None, True
            return 0.0
        return wait


def least_wall_seconds(requests: int, per_window: float, window_seconds: float = 60.0) -> int:
    """The least time ``requests`` take where a window allows ``per_window`` of them at once:
    the first window's share goes now, each further share when a window resets."""
    windows = math.ceil(requests / per_window) if requests > 0 else 1
    return math.ceil((windows - 1) * window_seconds)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        x = float(value)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def retry_after(value: str | None, wall: Clock = time.time) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent, and
    ``math.inf`` (past any cap) if it cannot be read."""
    if value is None:
        return None
    value = value.strip()
    x = _number(value)
    if x is not None:
        return max(0.0, x)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):
        return math.inf
    if when is None:
        return math.inf
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
