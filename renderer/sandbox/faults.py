"""Injected failures: what can go wrong between a client and a paid API, on demand.

Each request that reaches the sandbox gets a ``FaultPlan``: a set of fault kinds drawn
from the configured probabilities (seeded, so a run is repeatable) plus any kinds the
schedule names for this submission ("the 3rd submission drops after processing").
The schedule counts submissions from the moment the settings took effect.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping

HTTP_FAULTS = {"http_429": 429, "http_500": 500, "http_502": 502, "http_503": 503}
KINDS: tuple[str, ...] = (
    "slow",  # answer after delay_seconds (for client timeouts)
    "drop_before",  # close the connection before processing: nothing happened
    *HTTP_FAULTS,  # 429 and 503 carry Retry-After
    "rate_limit_exhausted",  # EnhanceCraft only: the key's minute window is used up
    "render_failure",  # accepted and charged, then the render ends FAILED
    "drop_after",  # processed (accepted, charged) but the client gets no answer
)
SCOPES = ("submissions", "all")


@dataclass(frozen=True, slots=True)
class FaultSettings:
    # kind -> probability per eligible request
    rates: Mapping[str, float] = field(default_factory=dict)
    # Nth submission (1-based) -> kinds; a single kind may be given as a string
    schedule: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    # which requests `rates` apply to: submissions only, or every request (status reads too)
    scope: str = "submissions"
    delay_seconds: float = 2.0
    retry_after_seconds: int = 1
    # restrict faults to these endpoints ("samsar/video/join_videos"); empty: all of them
    endpoints: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        rates = {str(k): float(v) for k, v in dict(self.rates).items()}
        for kind, p in rates.items():
            _known(kind)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"fault rate for {kind} must be between 0 and 1, not {p}")
        schedule: dict[int, tuple[str, ...]] = {}
        for n, kinds in dict(self.schedule).items():
            kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
            for kind in kinds:
                _known(kind)
            if int(n) < 1:
                raise ValueError("schedule counts submissions from 1")
            schedule[int(n)] = kinds
        if self.scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
        if self.delay_seconds < 0 or self.retry_after_seconds < 0:
            raise ValueError("delay_seconds and retry_after_seconds must be >= 0")
        # frozen: normalise through object.__setattr__
        object.__setattr__(self, "rates", rates)
        object.__setattr__(self, "schedule", schedule)
        object.__setattr__(self, "endpoints", tuple(self.endpoints))

    @classmethod
    def from_json(cls, data: Any) -> "FaultSettings":
        """From the control API's JSON; raises ValueError with a readable message."""
        if not isinstance(data, Mapping):
            raise ValueError("fault settings must be a JSON object")
        allowed = {"rates", "schedule", "scope", "delay_seconds", "retry_after_seconds", "endpoints"}
        unknown = sorted(set(data) - allowed - {"seed"})
        if unknown:
            raise ValueError(f"unknown fault setting {unknown[0]}; allowed: {', '.join(sorted(allowed))}")
        kwargs = {k: data[k] for k in allowed if k in data}
        try:
            if "schedule" in kwargs:
                kwargs["schedule"] = {int(k): v for k, v in dict(kwargs["schedule"]).items()}
            return cls(**kwargs)
        except (TypeError, AttributeError) as exc:
            raise ValueError(f"bad fault settings: {exc}") from None

    def as_json(self) -> dict[str, Any]:
        return {
            "rates": dict(self.rates),
            "schedule": {str(n): list(k) for n, k in sorted(self.schedule.items())},
            "scope": self.scope,
            "delay_seconds": self.delay_seconds,
            "retry_after_seconds": self.retry_after_seconds,
            "endpoints": list(self.endpoints),
        }


def _known(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; use one of: {', '.join(KINDS)}")


@dataclass(frozen=True, slots=True)
class FaultPlan:
    kinds: frozenset[str] = frozenset()

    def __contains__(self, kind: str) -> bool:
        return kind in self.kinds

    def http_status(self) -> int | None:
        for kind, status in HTTP_FAULTS.items():
            if kind in self.kinds:
                return status
        return None


NO_FAULTS = FaultPlan()


class FaultInjector:
    def __init__(self, settings: FaultSettings, seed: int) -> None:
        self._settings = settings
        self._rng = random.Random(seed)
        self._submissions = 0
        self._lock = threading.Lock()  # settings may be replaced from a test's thread

    @property
    def settings(self) -> FaultSettings:
        return self._settings

    def replace(self, settings: FaultSettings, seed: int | None = None) -> None:
        with self._lock:
            self._settings = settings
            self._submissions = 0
            if seed is not None:
                self._rng = random.Random(seed)

    def plan(self, endpoint: str | None, submission: bool) -> FaultPlan:
        s = self._settings
        if not s.rates and not s.schedule:
            return NO_FAULTS  # the common case stays cheap
        if s.endpoints and endpoint not in s.endpoints:
            return NO_FAULTS
        kinds: set[str] = set()
        with self._lock:
            if submission:
                self._submissions += 1
                kinds.update(s.schedule.get(self._submissions, ()))
            if submission or s.scope == "all":
                for kind in KINDS:  # fixed order: the same seed draws the same faults
                    p = s.rates.get(kind, 0.0)
                    if p > 0.0 and self._rng.random() < p:
                        kinds.add(kind)
        return FaultPlan(frozenset(kinds)) if kinds else NO_FAULTS
