"""Injected failures: what can go wrong between a client and a paid API, on demand.

Each request that reaches the sandbox gets a ``FaultPlan``: a set of fault kinds drawn
from the configured probabilities (seeded, so a run is repeatable) plus any kinds the
schedule names for this submission ("the 3rd submission drops after processing").
The schedule counts submissions from the moment the settings took effect;
``read_schedule`` counts every other request (status and list reads) the same way.

The *hostile* kinds (``HOSTILE``) misbehave the way real gateways and APIs do: they
echo the key, quote it in long errors, answer with values of the wrong type, trickle
or bloat bodies, storm with HTML 502s, hang, never finish, or report impossible
charges. ``renderer.sandbox.hostile`` carries them out.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping

HTTP_FAULTS = {"http_404": 404, "http_429": 429, "http_500": 500, "http_502": 502, "http_503": 503}
KINDS: tuple[str, ...] = (
    "slow",  # answer after delay_seconds (for client timeouts)
    "drop_before",  # close the connection before processing: nothing happened
    *HTTP_FAULTS,  # 429 and 503 carry Retry-After; a 404 to a read: "not replicated yet"
    "rate_limit_exhausted",  # providers with a rate limit only: the key's minute window is used up
    "render_failure",  # accepted and charged, then the render ends FAILED
    "drop_after",  # processed (accepted, charged) but the client gets no answer
)
HOSTILE: tuple[str, ...] = (
    "html_502",  # a gateway's HTML error page with status 502, nothing processed behind it
    "hang",  # no answer at all until the client gives up (or hang_seconds pass)
    "echo_auth",  # the answer echoes the request's Authorization header
    "long_error_key",  # a long error text quoting the key past the 500th character
    "bad_thumbnail",  # thumbnail_url is an object
    "int_result_urls",  # result_urls is an integer
    "str_result_urls",  # result_urls is a string
    "bad_status",  # status is an object
    "bad_id",  # the submit answer's request id is an object
    "trickle",  # the body arrives one byte every trickle_interval seconds
    "huge_body",  # the body is huge_bytes long
    "never_complete",  # statuses stay PENDING
    "no_result_url",  # a record that says COMPLETED names no result URL (as the docs allow older sessions' to)
    "credits_inf",  # x-credits-charged: inf (and creditsCharged: Infinity)
    "credits_negative",  # x-credits-charged: -25
    "result_url",  # a finished job's result URL(s) are ``result_url`` (file://..., an internal address)
    "merge",  # ``merge`` (a JSON object) is merged into every session-like record of an answer
    "headers",  # ``headers`` are added to the answer, error answers included (Retry-After: 1e9)
    "ignore_keys",  # the Idempotency-Key is ignored: a resend is processed (and charged) again
    "charge_late",  # the submit answer says nothing of the charge; finished statuses carry it
    "charge_zero_then_late",  # the submit answer says 0 (header and body); finished statuses the real charge
    "charge_header_zero",  # x-credits-charged: 0 while the body's creditsCharged is the real charge
    "charge_hidden",  # no answer ever says what was charged
    "surrogate_text",  # messages and error texts hold a lone surrogate ("\ud800")
    "surrogate_id",  # request and session ids end in a lone surrogate
    "surrogate_url",  # result URLs end in a lone surrogate
    "credits_huge",  # creditsCharged is 10^400 (an integer past float range), the header 1e400
    "credits_1e308",  # x-credits-charged and creditsCharged: 1e308 (two of them overflow a float sum)
)
# What a result file (``GET /files/...``) may do instead of being served plainly
FILE_KINDS: tuple[str, ...] = (
    "huge_file",  # ``huge_bytes`` long, streamed without a length
    "trickle_file",  # one byte every ``trickle_interval`` seconds
    "redirect_file",  # a 302 to ``redirect_to``
)
KINDS = KINDS + HOSTILE + FILE_KINDS
SCOPES = ("submissions", "reads", "all")


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
    # restrict faults to these endpoints ("<provider>/<route>"); empty: all of them
    endpoints: tuple[str, ...] = ()
    # Nth read (1-based: status and list reads, uploads) -> kinds
    read_schedule: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    trickle_interval: float = 1.0  # seconds between two bytes of a trickled body
    huge_bytes: int = 64 * 1024 * 1024
    hang_seconds: float = 600.0
    result_url: str = ""  # the "result_url" kind's URL
    merge: Mapping[str, Any] = field(default_factory=dict)  # the "merge" kind's fields
    headers: Mapping[str, str] = field(default_factory=dict)  # the "headers" kind's headers
    redirect_to: str = ""  # the "redirect_file" kind's Location

    def __post_init__(self) -> None:
        rates = {str(k): float(v) for k, v in dict(self.rates).items()}
        for kind, p in rates.items():
            _known(kind)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"fault rate for {kind} must be between 0 and 1, not {p}")
        if self.scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}")
        if self.delay_seconds < 0 or self.retry_after_seconds < 0:
            raise ValueError("delay_seconds and retry_after_seconds must be >= 0")
        if self.trickle_interval < 0 or self.hang_seconds < 0 or int(self.huge_bytes) < 0:
            raise ValueError("trickle_interval, hang_seconds and huge_bytes must be >= 0")
        # frozen: normalise through object.__setattr__
        object.__setattr__(self, "rates", rates)
        object.__setattr__(self, "schedule", _schedule(self.schedule, "submissions"))
        object.__setattr__(self, "read_schedule", _schedule(self.read_schedule, "reads"))
        object.__setattr__(self, "huge_bytes", int(self.huge_bytes))
        object.__setattr__(self, "endpoints", tuple(self.endpoints))
        if not isinstance(self.merge, Mapping) or not isinstance(self.headers, Mapping):
            raise ValueError("merge and headers must be JSON objects")
        object.__setattr__(self, "headers", {str(k): str(v) for k, v in self.headers.items()})

    @classmethod
    def from_json(cls, data: Any) -> "FaultSettings":
        """From the control API's JSON; raises ValueError with a readable message."""
        if not isinstance(data, Mapping):
            raise ValueError("fault settings must be a JSON object")
        allowed = {"rates", "schedule", "scope", "delay_seconds", "retry_after_seconds", "endpoints", "read_schedule",
                   "trickle_interval", "huge_bytes", "hang_seconds", "result_url", "merge", "headers", "redirect_to"}
        unknown = sorted(set(data) - allowed - {"seed"})
        if unknown:
            raise ValueError(f"unknown fault setting {unknown[0]}; allowed: {', '.join(sorted(allowed))}")
        kwargs = {k: data[k] for k in allowed if k in data}
        try:
            for key in ("schedule", "read_schedule"):
                if key in kwargs:
                    kwargs[key] = {int(k): v for k, v in dict(kwargs[key]).items()}
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
            "read_schedule": {str(n): list(k) for n, k in sorted(self.read_schedule.items())},
            "trickle_interval": self.trickle_interval,
            "huge_bytes": self.huge_bytes,
            "hang_seconds": self.hang_seconds,
            "result_url": self.result_url,
            "merge": dict(self.merge),
            "headers": dict(self.headers),
            "redirect_to": self.redirect_to,
        }


def _schedule(raw: Mapping[int, Any], what: str) -> dict[int, tuple[str, ...]]:
    schedule: dict[int, tuple[str, ...]] = {}
    for n, kinds in dict(raw).items():
        kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
        for kind in kinds:
            _known(kind)
        if int(n) < 1:
            raise ValueError(f"a schedule counts {what} from 1")
        schedule[int(n)] = kinds
    return schedule


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
        self._reads = 0
        self._lock = threading.Lock()  # settings may be replaced from a test's thread

    @property
    def settings(self) -> FaultSettings:
        return self._settings

    def replace(self, settings: FaultSettings, seed: int | None = None) -> None:
        with self._lock:
            self._settings = settings
            self._submissions = 0
            self._reads = 0
            if seed is not None:
                self._rng = random.Random(seed)

    def plan(self, endpoint: str | None, submission: bool) -> FaultPlan:
        s = self._settings
        if not s.rates and not s.schedule and not s.read_schedule:
            return NO_FAULTS  # the common case stays cheap
        if s.endpoints and endpoint not in s.endpoints:
            return NO_FAULTS
        kinds: set[str] = set()
        with self._lock:
            if submission:
                self._submissions += 1
                kinds.update(s.schedule.get(self._submissions, ()))
            else:
                self._reads += 1
                kinds.update(s.read_schedule.get(self._reads, ()))
            if s.scope == "all" or s.scope == ("submissions" if submission else "reads"):
                for kind in _ANSWER_KINDS:  # fixed order: the same seed draws the same faults
                    p = s.rates.get(kind, 0.0)
                    if p > 0.0 and self._rng.random() < p:
                        kinds.add(kind)
        return FaultPlan(frozenset(kinds)) if kinds else NO_FAULTS

    def file_plan(self) -> FaultPlan:
        """What a result file request does (``FILE_KINDS``); it counts as no read."""
        s = self._settings
        with self._lock:
            kinds = {k for k in FILE_KINDS if s.rates.get(k, 0.0) > 0.0 and self._rng.random() < s.rates[k]}
        return FaultPlan(frozenset(kinds)) if kinds else NO_FAULTS


_ANSWER_KINDS = tuple(k for k in KINDS if k not in FILE_KINDS)
