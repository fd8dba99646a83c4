"""What the sandbox remembers: sessions, balances, idempotency answers, rate windows, and counters.

Everything here is mutated on the server's event loop only; tests read it from
another thread. Counters are plain dicts, so copying one is atomic under the GIL.
What it knows of the providers it stands in for comes in as a ``Catalogue`` (built by
``app.py`` from the registry): nothing here names one.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from renderer.providers.protocol import Registered
from renderer.sandbox.config import SandboxConfig
from renderer.sandbox.faults import FaultInjector, FaultSettings
from renderer.sandbox.persist import SandboxStore
from renderer.sandbox.ratelimit import RateLimiter
from renderer.sandbox.session import Number, Session, Stored, owner_of
from renderer.vocabulary import Range, Route

@dataclass(slots=True)
class Counters:
    requests: Counter[str] = field(default_factory=Counter)  # "POST /v1/video/text_to_video"
    responses: Counter[str] = field(default_factory=Counter)  # "200", "402", "dropped"
    accepted: Counter[str] = field(default_factory=Counter)  # by endpoint
    status_reads: Counter[str] = field(default_factory=Counter)  # by status route
    status_reads_by_id: Counter[str] = field(default_factory=Counter)  # by request id
    duplicates: Counter[str] = field(default_factory=Counter)  # by documented endpoint (aliases folded)
    idempotent_replays: int = 0
    faults: Counter[str] = field(default_factory=Counter)  # by kind, when applied
    rate_limited: int = 0  # 429s from a rate limit (not from faults)
    credits_charged: Counter[str] = field(default_factory=Counter)  # by provider
    unpriced: Counter[str] = field(default_factory=Counter)  # accepted with no published price

    def snapshot(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in (
            "requests", "responses", "accepted", "status_reads", "status_reads_by_id",
            "duplicates", "faults", "credits_charged", "unpriced",
        ):
            values = dict(getattr(self, name))
            out[name] = values
            out[f"{name}_total"] = sum(values.values())
        out["idempotent_replays"] = self.idempotent_replays
        out["rate_limited"] = self.rate_limited
        return out


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The providers a sandbox stands in for, and what it takes from the rest of the renderer."""

    providers: Mapping[str, Registered]
    table: Mapping[str, Any]  # every provider's prices, the config's `pricing` merged in
    check: Callable[[Route, Any], str | None]  # a request body's problems, worded as `renderer validate` words them


class SandboxState:
    def __init__(self, config: SandboxConfig, catalogue: Catalogue) -> None:
        self.config = config
        self.catalogue = catalogue
        self.providers = catalogue.providers
        self.table = catalogue.table
        self.counters = Counters()
        self.sessions: dict[str, Session] = {}
        self.uploads: dict[str, str] = {}  # storage_key -> owner
        self.balances: dict[tuple[str, str], Number] = {}  # (provider, owner) -> credits
        self.idempotency: dict[tuple[str, str], Stored] = {}  # (owner, key)
        self.bodies_seen: Counter[tuple[str, str, str]] = Counter()  # (owner, endpoint, sha)
        # where it served its result files ("http://127.0.0.1:8765"): a persistent sandbox
        # started again elsewhere still knows its earlier URLs (renderer.execute.sandboxed)
        self.origins: set[str] = set()
        self.faults = FaultInjector(config.faults, config.seed)
        self._ids = random.Random(f"ids:{config.seed}")
        self._offset = 0.0
        self._lock = threading.Lock()
        # each provider's rate windows, from its published tier (or the config's requests_per_minute)
        self.limiters = {name: lim for name, p in self.providers.items() if (lim := self._limiter(p)) is not None}
        self._dirty_sessions: set[str] = set()
        self._dirty_answers: set[tuple[str, str]] = set()
        self._dirty_seen: set[tuple[str, str, str]] = set()
        self._dirty_kv = False
        self.store: SandboxStore | None = None
        if config.state_dir is not None:
            self.store = SandboxStore(Path(config.state_dir))
            self.store.load(self)

    def _limiter(self, provider: Registered) -> RateLimiter | None:
        config = self.config
        tier = provider.rate_tier(config.provider_settings.get(provider.NAME) or {}, self.table)
        per_minute = config.requests_per_minute.get(provider.NAME) or (tier.requests_per_minute if tier else None)
        if not per_minute:
            return None
        per_month = tier.requests_per_month if tier is not None else None
        return RateLimiter(per_minute, per_month, self.now, config.wall_clock, config.rate_limit_window)

    def provider(self, route: Route) -> Registered:
        return self.providers[route.provider]

    # -- persistence (renderer.sandbox.persist) -------------------------------------

    def touch(self, session: Session) -> None:
        """A session changed after its request: save it with the next flush."""
        self._dirty_sessions.add(session.id)

    def remember_answer(self, owner: str, key: str, stored: Stored) -> None:
        self.idempotency[(owner, key)] = stored
        self._dirty_answers.add((owner, key))

    def saw(self, seen: tuple[str, str, str]) -> int:
        """Count one accepted body; how many times this owner sent it to this endpoint."""
        self.bodies_seen[seen] += 1
        self._dirty_seen.add(seen)
        return self.bodies_seen[seen]

    def served_from(self, origin: str) -> None:
        """Result files are handed out under this origin (kept with the state)."""
        if origin not in self.origins:
            self.origins.add(origin)
            self._dirty_kv = True

    def add_upload(self, storage_key: str, owner: str) -> None:
        self.uploads[storage_key] = owner
        self._dirty_kv = True

    def flush(self) -> None:
        """Save what changed (persistent sandboxes only); called before an answer leaves."""
        if self.store is None or not (self._dirty_sessions or self._dirty_answers or self._dirty_seen or self._dirty_kv):
            return
        self.store.save(self, self._dirty_sessions, self._dirty_answers, self._dirty_seen, self._dirty_kv)
        self._dirty_sessions, self._dirty_answers, self._dirty_seen = set(), set(), set()
        self._dirty_kv = False

    def close(self) -> None:
        if self.store is not None:
            self.flush()
            self.store.close()
            self.store = None

    # -- time ------------------------------------------------------------------

    def now(self) -> float:
        return self.config.clock() + self._offset

    def advance(self, seconds: float) -> None:
        """Move sandbox time forward (on top of the injected clock)."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        with self._lock:
            self._offset += seconds

    # -- ids and sessions --------------------------------------------------------

    def new_id(self, prefix: str, bits: int = 48) -> str:
        self._dirty_kv = True  # the id generator moved on
        while True:
            candidate = f"{prefix}{self._ids.getrandbits(bits):0{bits // 4}x}"
            if candidate not in self.sessions:
                return candidate

    def add(self, session: Session) -> Session:
        self.sessions[session.id] = session
        self._dirty_sessions.add(session.id)
        return session

    def find(self, owner: str, session_id: Any, kinds: tuple[str, ...] | None = None) -> Session | None:
        """A session of this owner; None for unknown ids and other keys' ids alike."""
        if not isinstance(session_id, str):
            return None
        s = self.sessions.get(session_id)
        if s is None or s.owner != owner or (kinds is not None and s.kind not in kinds):
            return None
        return s

    def duration_of(self, owner: str, ref: Any) -> Range | None:
        s = self.find(owner, ref)
        return Range.exact(s.duration) if s is not None and s.duration is not None else None

    # -- credits -----------------------------------------------------------------

    def balance(self, provider: str, owner: str) -> Number:
        return self.balances.get((provider, owner), self.config.credits)

    def charge(self, provider: str, owner: str, amount: Number) -> bool:
        """Deduct `amount` if the balance covers it; nothing happens otherwise."""
        have = self.balance(provider, owner)
        if amount > have:
            return False
        self.balances[(provider, owner)] = have - amount
        self._dirty_kv = True
        self.counters.credits_charged[provider] += amount  # type: ignore[assignment]  # a Counter of credits
        return True

    def remaining(self, api_key: str, provider: str) -> Number:
        return self.balance(provider, owner_of(api_key))

    # -- faults ------------------------------------------------------------------

    def set_faults(self, settings: FaultSettings, seed: int | None = None) -> None:
        self.faults.replace(settings, seed)

    # -- reading -----------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        now = self.now()
        sessions = list(self.sessions.values())
        by_status = Counter(s.status(now) for s in sessions)
        out = self.counters.snapshot()
        out["now"] = now
        out["config"] = self.config.public()
        out["sessions"] = {"total": len(sessions), "by_status": dict(by_status)}
        out["credits_remaining"] = {f"{p}/{o}": v for (p, o), v in dict(self.balances).items()}
        out["rate_limits"] = {name: lim.public() for name, lim in self.limiters.items()}
        return out
