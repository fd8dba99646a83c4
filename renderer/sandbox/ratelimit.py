"""Per-key fixed-minute (and monthly) request windows, as a provider's ``RateTier`` publishes them.

``window`` shortens the minute for rehearsals (the same count per shorter window).
Every answer under a limit carries X-RateLimit-* headers (the
common form); one over it gets 429 with Retry-After and uses no quota.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    headers: dict[str, str]
    retry_after: int  # seconds until the minute window resets


class RateLimiter:
    def __init__(
        self,
        per_minute: float,
        per_month: int | None,
        now: Callable[[], float],
        wall: Callable[[], float],
        window: float = 60.0,
    ) -> None:
        self.per_minute = int(per_minute) if float(per_minute).is_integer() else per_minute
        self.window = window
        self.per_month = per_month
        self._now = now
        self._wall = wall
        self._minute: dict[str, tuple[int, float]] = {}  # owner -> (window index, used)
        self._month: dict[str, int] = {}  # the sandbox lives less than a month
        self.accepted_by_window: Counter[int] = Counter()  # window index -> requests let through (all keys)

    def _window(self, owner: str) -> tuple[int, float, float]:
        now = self._now()
        index = math.floor(now / self.window)
        seen, used = self._minute.get(owner, (index, 0))
        if seen != index:
            used = 0
        return index, used, (index + 1) * self.window - now

    def public(self) -> dict[str, float | int | None]:
        """What the control API shows of this limit."""
        return {"requests_per_minute": self.per_minute, "requests_per_month": self.per_month, "window": self.window}

    def exhaust(self, owner: str) -> None:
        """Use up the key's current minute window (the rate_limit_exhausted fault)."""
        index, _, _ = self._window(owner)
        self._minute[owner] = (index, self.per_minute)

    def hit(self, owner: str) -> Verdict:
        index, used, left = self._window(owner)
        month_used = self._month.get(owner, 0)
        allowed = used < self.per_minute and (self.per_month is None or month_used < self.per_month)
        if allowed:  # a refused request does not use quota
            self.accepted_by_window[index] += 1
            used += 1
            month_used += 1
            self._month[owner] = month_used
        self._minute[owner] = (index, used)
        retry_after = max(1, math.ceil(left))
        headers = {
            "X-RateLimit-Limit": str(self.per_minute),
            "X-RateLimit-Remaining": str(max(0, self.per_minute - used)),
            "X-RateLimit-Reset": str(int(self._wall() + left)),
        }
        if self.per_month is not None:
            headers["X-RateLimit-Limit-Month"] = str(self.per_month)
            headers["X-RateLimit-Remaining-Month"] = str(max(0, self.per_month - month_used))
        return Verdict(allowed, headers, retry_after)
