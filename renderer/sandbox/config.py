"""Settings of one sandbox run, and the clock it reads."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from renderer.sandbox.faults import FaultSettings


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    """Everything that shapes a sandbox's behaviour; the same config gives the same run."""

    render_seconds: float = 2.0  # from acceptance to COMPLETED/FAILED
    api_key: str | None = None  # None: any non-empty bearer key is valid
    credits: int | float = 100_000  # starting balance of every account (per key, per provider)
    seed: int = 0  # faults and ids
    faults: FaultSettings = field(default_factory=FaultSettings)
    # Each provider's settings as a campaign writes them under `providers.<name>`: its
    # `rate_tier` reads its tier there ({"<provider>": {"tier": "business"}}).
    provider_settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # Requests per minute to enforce for a provider, over its published tier (or where it
    # publishes none), to rehearse throttling (429 + Retry-After): {"<provider>": 30}.
    requests_per_minute: Mapping[str, float] = field(default_factory=dict)
    # Seconds of one rate-limit window (every provider): 60 as published; shorter to rehearse
    # a run across several windows in seconds. The count per window stays the per-minute one.
    rate_limit_window: float = 60.0
    # Campaign-style `pricing` overrides merged over the built-in table (e.g. for
    # operations whose prices are unpublished, otherwise charged as 0).
    pricing: Mapping[str, Any] = field(default_factory=dict)
    # Charge this many times the documented price (2: every job costs twice what the
    # docs say), to rehearse an API whose prices moved past the renderer's table.
    price_factor: float = 1.0
    clock: Callable[[], float] = time.monotonic  # injectable so tests advance time without sleeping
    wall_clock: Callable[[], float] = time.time  # only for timestamps shown to clients
    max_body_bytes: int = 32 * 1024 * 1024
    # Where the sandbox keeps its sessions, balances and ids between runs; None: in memory only.
    state_dir: Path | None = None

    def __post_init__(self) -> None:
        bad = [n for n, rpm in self.requests_per_minute.items() if isinstance(rpm, bool) or not rpm > 0]
        if bad:
            raise ValueError(f"requests_per_minute of {', '.join(bad)} must be > 0")
        if self.price_factor < 0:
            raise ValueError("price_factor must be >= 0")
        if not self.rate_limit_window > 0:
            raise ValueError("rate_limit_window must be > 0")
        if self.render_seconds < 0:
            raise ValueError("render_seconds must be >= 0")
        if self.api_key is not None and not self.api_key.strip():
            raise ValueError("api_key must be None or a non-empty string")

    def public(self) -> dict[str, Any]:
        """What the control API shows: never the key itself."""
        return {
            "render_seconds": self.render_seconds,
            "api_key_required": self.api_key is not None,
            "credits": self.credits,
            "seed": self.seed,
            "provider_settings": {name: dict(conf) for name, conf in self.provider_settings.items()},
            "requests_per_minute": dict(self.requests_per_minute),
            "persistent": self.state_dir is not None,
            "price_factor": self.price_factor,
            "rate_limit_window": self.rate_limit_window,
        }


def config_for_campaign(providers: Mapping[str, Any], pricing: Mapping[str, Any] | None,
                        render_seconds: float) -> SandboxConfig:
    """The stand-in `run --sandbox` starts for a campaign: its prices, its providers' settings (tiers)."""
    settings = {name: dict(conf) for name, conf in (providers or {}).items() if isinstance(conf, Mapping)}
    return SandboxConfig(render_seconds=render_seconds, provider_settings=settings, pricing=dict(pricing or {}))


class ManualClock:
    """A clock that moves only when told to: ``clock.advance(10)``."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
