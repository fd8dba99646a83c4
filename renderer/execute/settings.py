"""Knobs of `renderer run`, as small frozen records.

Defaults suit the real APIs (renders take seconds to minutes, rate limits are per
minute). Tests and the benchmark pass tighter values instead of sleeping, or
``RENDERER_EXEC_SETTINGS`` in the environment a command is given (never
``os.environ`` itself).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from renderer import providers
from renderer.campaign.durations import parse_duration
from renderer.errors import ConfigError

DEFAULT_CONCURRENCY = 8


@dataclass(frozen=True, slots=True)
class RetrySettings:
    """Retries of one request that provably did nothing (connect error, 429, 503 + Retry-After).

    Delays are exponential with full jitter (``uniform(0, min(max_delay, base * 2**n))``)
    so many jobs that failed together do not come back together; a Retry-After header
    wins over the computed delay. ``max_elapsed`` caps the time one request may spend
    retrying, so a dead API ends a run instead of hanging it. ``max_wait`` caps every
    wait a server asks for (Retry-After, X-RateLimit-Reset): asking for longer throttles
    the provider for the rest of the run (``renderer.execute.limits``).
    """

    max_attempts: int = 8
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_elapsed: float = 300.0
    max_wait: float = 300.0  # RENDERER_MAX_WAIT


@dataclass(frozen=True, slots=True)
class PollSettings:
    """How often to ask about accepted jobs.

    A job is first read ``initial`` seconds after acceptance, then at intervals that
    grow by ``factor`` up to ``max_interval``. Batch reads (``/image/list``,
    ``/video/list_completed_video_sessions``) answer for many jobs at once and are
    made at most every ``list_interval`` seconds.
    """

    initial: float = 2.0
    factor: float = 1.5
    max_interval: float = 30.0
    list_interval: float = 1.0
    list_min_jobs: int = 2  # with fewer jobs of a kind in flight, per-id reads are as cheap
    image_list_limit: int = 500  # the documented maximum of /image/list
    # /image/list shows the most recent sessions only: keep at most this many image
    # jobs unfinished so every one of them stays visible to the batch read.
    image_window: int = 450
    video_list_limit: int = 5000
    job_timeout: float = 6 * 3600.0  # after this, a job is left pending for a later run


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Per-phase timeouts of httpx, and what bounds a whole request.

    ``total`` bounds one request from its first byte out to the last byte of the
    answer (a body trickled a byte at a time cannot hold a slot for longer), and an
    answer larger than ``max_body_bytes`` is not read on (the docs' answers are small).
    """

    connect: float = 10.0
    read: float = 60.0
    write: float = 60.0
    pool: float = 120.0
    total: float = 120.0
    max_body_bytes: int = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    """One provider as this run talks to it. ``api_key`` never shows in a repr."""

    name: str
    base_url: str
    api_key: str = field(repr=False)
    concurrency: int = DEFAULT_CONCURRENCY
    requests_per_minute: float | None = None
    idempotent_keys: bool = False
    rate_is_guess: bool = False  # a tier's published rate: the server's X-RateLimit-* headers replace it
    base_url_source: str = ""  # where base_url came from, for error messages: its ENV_BASE_URL


@dataclass(frozen=True, slots=True)
class ExecSettings:
    retry: RetrySettings = RetrySettings()
    poll: PollSettings = PollSettings()
    timeouts: Timeouts = Timeouts()
    progress_interval: float = 5.0  # seconds between plain progress lines
    reconcile_delay: float = 1.0  # wait before reading a list to settle an ambiguous POST
    clock_skew: float = 300.0  # tolerated difference between our clock and the API's
    sandbox_render_seconds: float = 0.5  # --sandbox: quick enough for a demo, slow enough to show polling
    seed: int | None = None  # jitter; None: unpredictable
    durable_intents: bool = True  # fsync the journal when an intent is written
    # ambiguous submission failures in a row (5xx without JSON, connection lost after
    # sending) after which a provider is taken as down: no further submissions to it
    breaker_threshold: int = 3
    run_timeout: float | None = 24 * 3600.0  # then no new submissions; unfinished jobs stay pending
    manifest_interval: float = 1.0  # the manifest on disk is at most this many seconds behind the journal
    # after the run timeout or a first Ctrl-C, requests already on the wire get this long to be
    # answered; one that is not is left `unknown` (sending) for the next run to settle
    stop_grace: float = 5.0

    def for_sandbox(self) -> "ExecSettings":
        """The local stand-in renders in about a second: read it often, it costs nothing."""
        quick = self.sandbox_render_seconds / 4
        poll = replace(self.poll, initial=min(self.poll.initial, quick), list_interval=min(self.poll.list_interval, quick),
                       max_interval=min(self.poll.max_interval, max(quick, 0.05) * 4))
        return replace(self, poll=poll)


def provider_settings(
    campaign_providers: Mapping[str, Any],
    name: str,
    env: Mapping[str, str],
    *,
    sandbox_url: str | None = None,
    price_table: Mapping[str, Any] | None = None,
) -> ProviderSettings:
    """Settings of one provider from the campaign's ``providers`` block and the environment.

    Keys and base URLs come only from ``env``; with the sandbox a dummy key is used and
    keys are always honoured (the sandbox replays Idempotency-Key answers).
    """
    module = providers.get(name)
    conf = campaign_providers.get(name) or {}
    if not isinstance(conf, Mapping):
        conf = {}
    if sandbox_url is not None:
        base_url, key, idempotent, source = sandbox_url, "sandbox-key", True, "--sandbox"
    else:
        key = env.get(module.ENV_KEY, "").strip()
        if not key:
            raise ConfigError(
                f"{module.ENV_KEY} is not set: the campaign has {name} jobs "
                f"(or use --sandbox to run against the local stand-in)"
            )
        base_url = env.get(module.ENV_BASE_URL, "").strip()
        source = module.ENV_BASE_URL if base_url else f"the default; set {module.ENV_BASE_URL} to change it"
        base_url = base_url or module.DEFAULT_BASE_URL
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"{module.ENV_BASE_URL} must be an http(s) URL")
        idempotent = bool(conf.get("idempotent_keys", False))
    rpm = conf.get("requests_per_minute")
    guess = rpm is None  # a published rate is only the guess before the server's headers
    if rpm is None:  # the provider's published limit for the campaign's tier, if it has tiers
        tier = module.rate_tier(conf, price_table or providers.price_table())
        rpm = tier.requests_per_minute if tier is not None else None
    concurrency = conf.get("concurrency", DEFAULT_CONCURRENCY)
    if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
        raise ConfigError(f"providers.{name}.concurrency must be a positive integer")
    if rpm is not None and (isinstance(rpm, bool) or not isinstance(rpm, (int, float)) or rpm <= 0):
        raise ConfigError(f"providers.{name}.requests_per_minute must be a positive number")
    return ProviderSettings(name, base_url.rstrip("/"), key, concurrency, rpm, idempotent, rate_is_guess=guess,
                            base_url_source=source)


def all_provider_settings(
    campaign_providers: Mapping[str, Any],
    names: list[str],
    env: Mapping[str, str],
    *,
    sandbox_urls: Mapping[str, str] | None = None,
    price_table: Mapping[str, Any] | None = None,
) -> dict[str, ProviderSettings]:
    """``provider_settings`` of every provider a run needs; every problem in one ConfigError."""
    out: dict[str, ProviderSettings] = {}
    problems: list[str] = []
    for name in names:
        try:
            out[name] = provider_settings(campaign_providers, name, env, sandbox_url=(sandbox_urls or {}).get(name),
                                          price_table=price_table)
        except ConfigError as exc:
            problems.append(str(exc))
    if len(problems) == 1:
        raise ConfigError(problems[0])
    if problems:
        raise ConfigError(f"{len(problems)} problems with the providers' settings: " + "; ".join(problems))
    return out


def with_timeouts(xs: ExecSettings, campaign: Mapping[str, float], job: float | None = None,
                  run: float | None = None) -> ExecSettings:
    """The job and run timeouts: the command line's over the campaign's ``timeouts`` over the defaults."""
    job = job if job is not None else campaign.get("job")
    run = run if run is not None else campaign.get("run")
    if job is not None:
        xs = replace(xs, poll=replace(xs.poll, job_timeout=float(job)))
    if run is not None:
        xs = replace(xs, run_timeout=float(run))
    return xs


# -- tuning for tests and benchmarks -----------------------------------------------

SETTINGS_ENV = "RENDERER_EXEC_SETTINGS"
MAX_WAIT_ENV = "RENDERER_MAX_WAIT"


def settings_from_env(env: Mapping[str, str], base: ExecSettings | None = None) -> ExecSettings:
    """``ExecSettings`` with ``RENDERER_MAX_WAIT`` (a duration: ``5m``) and the JSON of
    ``RENDERER_EXEC_SETTINGS`` (if set) merged in, e.g. ``{"poll": {"initial": 0.05}}``."""
    base = base or ExecSettings()
    wait = env.get(MAX_WAIT_ENV, "").strip()
    if wait:
        try:
            base = replace(base, retry=replace(base.retry, max_wait=parse_duration(wait)))
        except ValueError as exc:
            raise ConfigError(f"{MAX_WAIT_ENV}: {exc}") from None
    raw = env.get(SETTINGS_ENV)
    if not raw:
        return base
    try:
        data = json.loads(raw)
        return _merge(base, data)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{SETTINGS_ENV} is not valid: {exc}") from None


def _merge(obj: Any, data: Mapping[str, Any]) -> Any:
    if not isinstance(data, Mapping):
        raise TypeError("expected a JSON object")
    changes: dict[str, Any] = {}
    names = {f.name for f in dataclasses.fields(obj)}
    for key, value in data.items():
        if key not in names:
            raise TypeError(f"unknown setting {key!r}")
        current = getattr(obj, key)
        changes[key] = _merge(current, value) if dataclasses.is_dataclass(current) else value
    return dataclasses.replace(obj, **changes)
