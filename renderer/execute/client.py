"""HTTP to one provider, and what an answer (or its absence) proves.

Every request goes through ``ProviderClient.send``: it waits for the provider's
concurrency limiter and token bucket, sends, and classifies the outcome. The
classification is the heart of "never pay twice":

=============  ==============================================  ===================
kind           when                                            a POST was...
=============  ==============================================  ===================
``ok``         2xx with a JSON body                            accepted
``retry``      connect error, pool timeout, 429, 503 with      not processed:
               Retry-After                                     safe to send again
``ambiguous``  read/write timeout, reset or protocol error     maybe processed
               once the request may have been written; other
               5xx; 2xx whose body cannot be read
``rejected``   400, 404, 409, 422, other 4xx                   refused
``payment``    402                                             refused (no credits)
``auth``       401, 403                                        refused (bad key)
=============  ==============================================  ===================

The key lives only in the ``httpx.AsyncClient``'s default headers. Error texts are
built here from status codes and the API's own message, then passed through
``redact`` so that a key echoed back by a server cannot reach a log or the journal.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping

import anyio
import httpx

from renderer.errors import ConfigError
from renderer.execute.limits import TokenBucket, retry_after
from renderer.execute.settings import ProviderSettings, Timeouts
from renderer import providers
from renderer.providers.base import Route, credits_from

Kind = Literal["ok", "retry", "ambiguous", "rejected", "payment", "auth", "not_found", "skipped"]
_KEPT_HEADERS = (
    "x-credits-charged", "x-credits-remaining", "retry-after", "idempotent-replayed",
    "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset",
)


@dataclass(frozen=True, slots=True)
class Answer:
    kind: Kind
    status: int | None = None
    payload: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.kind == "ok"

    def credits_charged(self) -> float | None:
        """Credits the answer says it cost, as most APIs say it (the scheduler asks the provider)."""
        return credits_from(self.headers, self.payload)


def redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    return text


def route_url(base_url: str, route: Route, path: str | None = None) -> str:
    """Absolute URL of a route's path (or another path of its API version)."""
    base = base_url.rstrip("/")
    if route.api_version != "v1":
        if base.endswith("/v1"):
            base = base[: -len("/v1")] + "/" + route.api_version
    return base + (path if path is not None else route.path)


class ProviderClient:
    """One httpx.AsyncClient per provider, with its limits. Close with ``aclose``."""

    def __init__(
        self,
        settings: ProviderSettings,
        timeouts: Timeouts = Timeouts(),
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        bucket: TokenBucket | None = None,
    ) -> None:
        self.settings = settings
        self.name = settings.name
        self.base_url = settings.base_url
        self._secrets = (settings.api_key,)
        submit_slots = settings.concurrency
        read_slots = max(2, settings.concurrency // 2)
        # Reads get slots of their own: a queue of submissions must not starve polling.
        self.submit_limiter = anyio.CapacityLimiter(submit_slots)
        self.read_limiter = anyio.CapacityLimiter(read_slots)
        self.bucket = bucket or TokenBucket(settings.requests_per_minute, ceiling=not settings.rate_is_guess)
        self.counts: Counter[str] = Counter()
        self.http = httpx.AsyncClient(
            transport=transport,
            headers={**providers.get(settings.name).auth_headers(settings.api_key), "User-Agent": "renderer"},
            timeout=httpx.Timeout(connect=timeouts.connect, read=timeouts.read, write=timeouts.write, pool=timeouts.pool),
            limits=httpx.Limits(max_connections=submit_slots + read_slots, max_keepalive_connections=submit_slots + read_slots),
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    async def send(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        params: Mapping[str, Any] | None = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        label: str = "read",
        prepare: Callable[[], bool] | None = None,
    ) -> Answer:
        """One HTTP request under the provider's limits, classified (never raises on HTTP errors).

        ``prepare`` runs once a slot and a token are held, right before sending: it
        writes the journal's intent, or returns False to send nothing ("skipped").
        """
        write = method != "GET"
        limiter = self.submit_limiter if write else self.read_limiter
        async with limiter:
            await self.bucket.acquire()
            try:
                if prepare is not None and not prepare():
                    return Answer("skipped")
                self.counts[label] += 1
                try:
                    response = await self.http.request(
                        method, url, json=json_body, params=params, files=files, headers=headers,
                    )
                except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                    return Answer("retry", error=self._exc_text(exc, "could not connect"))
                except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
                    raise ConfigError(f"{self.name}: bad base URL: {self._exc_text(exc, 'invalid URL')}") from None
                except httpx.TimeoutException as exc:
                    return Answer("ambiguous" if write else "retry", error=self._exc_text(exc, "timed out"))
                except httpx.TransportError as exc:  # reset, protocol error: after the request left
                    return Answer("ambiguous" if write else "retry", error=self._exc_text(exc, "connection lost"))
            finally:
                self.bucket.release()  # before its headers are read: no longer in flight
        return self._classify(response, write)

    def _exc_text(self, exc: Exception, fallback: str) -> str:
        detail = str(exc) or fallback
        return self.redact(f"{type(exc).__name__}: {detail}")

    def _classify(self, response: httpx.Response, write: bool) -> Answer:
        headers = {k: response.headers[k] for k in _KEPT_HEADERS if k in response.headers}
        self.bucket.observe(headers)
        status = response.status_code
        try:
            payload = response.json()
        except (ValueError, json.JSONDecodeError):
            payload = None
        wait = retry_after(headers.get("retry-after"))
        if 200 <= status < 300:
            if payload is None:
                return Answer("ambiguous" if write else "retry", status, None, headers, f"HTTP {status} with an unreadable body")
            return Answer("ok", status, payload, headers)
        error = self.redact(f"HTTP {status}: {_message(payload) or response.reason_phrase}")
        if status == 429 or (status == 503 and wait is not None):
            if wait is not None:
                self.bucket.pause(wait)
            return Answer("retry", status, payload, headers, error, wait)
        if not write:
            if status == 404:
                return Answer("not_found", status, payload, headers, error)
            if status in (401, 403):
                return Answer("auth", status, payload, headers, error)
            return Answer("retry", status, payload, headers, error, wait)
        if status >= 500:
            return Answer("ambiguous", status, payload, headers, error)
        if status == 402:
            return Answer("payment", status, payload, headers, error)
        if status in (401, 403):
            return Answer("auth", status, payload, headers, error)
        return Answer("rejected", status, payload, headers, error)


def _message(payload: Any) -> str | None:
    if isinstance(payload, Mapping):
        for key in ("message", "detail", "error", "error_message"):
            value = payload.get(key)
            if isinstance(value, str) and value:
                return value[:500]
            if value:
                return json.dumps(value)[:500]
    return None
