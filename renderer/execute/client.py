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
               5xx; 2xx whose body cannot be read; no whole
               answer within ``Timeouts.total``; a body past
               ``Timeouts.max_body_bytes`` (a GET: ``retry``)
``rejected``   400, 404, 409, 422, other 4xx                   refused
``payment``    402                                             refused (no credits)
``auth``       401, 403                                        refused (bad key)
``throttled``  the server asked for a wait past the cap        not sent
               (``limits.Throttled``): nothing more goes to
               this provider in this run
``stopped``    the run is ending (``halt``: its deadline,      not sent
               Ctrl-C) while the request waited for its turn
=============  ==============================================  ===================

Waiting for a turn ends early: a throttled provider answers ``throttled`` at once
(``on_throttle`` tells the scheduler the first time), and ``halt`` ends every wait
in progress and every later one with ``stopped``. A request already on the wire is
not cut by either; ``Timeouts.total`` bounds it (and the scheduler's grace after a halt).

The key lives only in the ``httpx.AsyncClient``'s default headers. Every answer is
scrubbed here (``renderer.execute.scrub``) of every credential of the environment
and of credential-named fields, and error texts are scrubbed whole before they are
cut, so a key echoed back by a server cannot reach a log, the journal or the manifest.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping

import anyio
import httpx

from renderer import providers
from renderer.errors import ConfigError
from renderer.execute.limits import Throttled, TokenBucket, retry_after
from renderer.execute.settings import ProviderSettings, Timeouts
from renderer.execute.scrub import Scrubber
from renderer.vocabulary import Route

Kind = Literal["ok", "retry", "ambiguous", "rejected", "payment", "auth", "not_found", "skipped", "throttled", "stopped"]
NOT_SENT: tuple[Kind, ...] = ("skipped", "throttled", "stopped")  # the request never left
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


def route_url(base_url: str, route: Route, path: str | None = None) -> str:
    """Absolute URL of a route's path (or another path of its API version)."""
    base = base_url.rstrip("/")
    if route.api_version != "v1":
        if base.endswith("/v1"):
            base = base[: -len("/v1")] + "/" + route.api_version
    return base + (path if path is not None else route.path)


class _TooLarge(Exception):
    pass


def _float(text: str) -> float | str:
    value = float(text)
    return value if math.isfinite(value) else text  # 1e400 is no number JSON can store again


def parse_json(body: bytes) -> Any:
    """An answer's JSON, or None. ``NaN``/``Infinity`` stay strings: they are not JSON."""
    if not body:
        return None
    try:
        return json.loads(body, parse_constant=str, parse_float=_float)
    except (ValueError, RecursionError):
        return None


class ProviderClient:
    """One httpx.AsyncClient per provider, with its limits. Close with ``aclose``."""

    def __init__(
        self,
        settings: ProviderSettings,
        timeouts: Timeouts = Timeouts(),
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        bucket: TokenBucket | None = None,
        scrubber: Scrubber | None = None,
        max_wait: float = 300.0,
    ) -> None:
        self.settings = settings
        self.name = settings.name
        self.base_url = settings.base_url
        self.timeouts = timeouts
        self.scrubber = (scrubber or Scrubber()).with_key(settings.api_key)
        submit_slots = settings.concurrency
        read_slots = max(2, settings.concurrency // 2)
        # Reads get slots of their own: a queue of submissions must not starve polling.
        self.submit_limiter = anyio.CapacityLimiter(submit_slots)
        self.read_limiter = anyio.CapacityLimiter(read_slots)
        self.bucket = bucket or TokenBucket(settings.requests_per_minute, ceiling=not settings.rate_is_guess,
                                            max_wait=max_wait)
        self.counts: Counter[str] = Counter()
        self.on_throttle: Callable[[str], None] | None = None  # told once, when the server's waits pass the cap
        self._throttle_told = False
        self._halted: str | None = None
        self._waiting: set[anyio.CancelScope] = set()
        self.http = httpx.AsyncClient(
            transport=transport,
            headers={**providers.get(settings.name).auth_headers(settings.api_key), "User-Agent": "renderer"},
            timeout=httpx.Timeout(connect=timeouts.connect, read=timeouts.read, write=timeouts.write, pool=timeouts.pool),
            limits=httpx.Limits(max_connections=submit_slots + read_slots, max_keepalive_connections=submit_slots + read_slots),
            follow_redirects=False,
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    def halt(self, reason: str) -> None:
        """The run is ending: every wait for a turn ends now, and later requests are not sent."""
        self._halted = reason
        for scope in list(self._waiting):
            scope.cancel()

    def _tell_throttle(self) -> None:
        if self.bucket.throttled and not self._throttle_told:
            self._throttle_told = True
            if self.on_throttle is not None:
                self.on_throttle(self.bucket.throttled)

    async def _turn(self) -> Answer | None:
        """Wait for the bucket; an Answer instead when nothing may be sent (throttled, halted)."""
        if self._halted is None:
            with anyio.CancelScope() as scope:
                self._waiting.add(scope)
                try:
                    await self.bucket.acquire()
                    return None
                except Throttled as exc:
                    self._tell_throttle()
                    return Answer("throttled", error=f"{self.name} is throttled: {exc}")
                finally:
                    self._waiting.discard(scope)
        return Answer("stopped", error=f"not sent: {self._halted}")

    def redact(self, text: str) -> str:
        return self.scrubber.text(text)

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
            refused = await self._turn()
            if refused is not None:
                return refused
            released = False

            def release() -> None:  # its headers are in: no longer in flight
                nonlocal released
                self.bucket.release()
                released = True

            try:
                if prepare is not None and not prepare():
                    return Answer("skipped")
                self.counts[label] += 1
                got = await self._exchange(method, url, json_body, params, files, headers, release,
                                           lost="ambiguous" if write else "retry")
            finally:
                if not released:
                    self.bucket.release()
        return got if isinstance(got, Answer) else self._classify(got[0], got[1], write)

    async def _exchange(self, method: str, url: str, json_body: Any, params: Mapping[str, Any] | None, files: Any,
                        headers: Mapping[str, str] | None, release: Callable[[], None],
                        lost: Kind) -> Answer | tuple[httpx.Response, bytes]:
        """The request on the wire: the response and its body, or an Answer for what went wrong
        (``lost``: the kind of an answer that never came whole)."""
        try:
            with anyio.fail_after(self.timeouts.total):
                async with self.http.stream(method, url, json=json_body, params=params, files=files,
                                            headers=headers) as response:
                    release()
                    return response, await self._read(response)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            return Answer("retry", error=self._exc_text(exc, "could not connect", url))
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise ConfigError(f"{self.name}: bad base URL {self.base_url} ({self._source()}): "
                              f"{self._exc_text(exc, 'invalid URL')}") from None
        except TimeoutError:
            return Answer(lost, error=f"no complete answer from {self._where(url)} within {self.timeouts.total:g} s")
        except _TooLarge:
            return Answer(lost, error=f"the answer from {self._where(url)} is larger than "
                                      f"{self.timeouts.max_body_bytes:,} bytes; not read")
        except httpx.TimeoutException as exc:
            return Answer(lost, error=self._exc_text(exc, "timed out", url))
        except httpx.TransportError as exc:  # reset, protocol error: after the request left
            return Answer(lost, error=self._exc_text(exc, "connection lost", url))

    async def _read(self, response: httpx.Response) -> bytes:
        """The whole body, or ``_TooLarge`` as soon as it passes the cap."""
        cap = self.timeouts.max_body_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise _TooLarge()
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > cap:
                raise _TooLarge()
            chunks.append(chunk)
        return b"".join(chunks)

    def _source(self) -> str:
        return f"from {self.settings.base_url_source}" if self.settings.base_url_source else "the base URL"

    def _where(self, url: str) -> str:
        return self.redact(f"{url.split('?', 1)[0]} ({self._source()})")

    def _exc_text(self, exc: Exception, fallback: str, url: str | None = None) -> str:
        detail = str(exc) or fallback
        where = f"{fallback} to {self._where(url)}: " if url else ""
        return self.redact(f"{where}{type(exc).__name__}: {detail}")[:1000]

    def _classify(self, response: httpx.Response, body: bytes, write: bool) -> Answer:
        headers = {k: self.redact(response.headers[k]) for k in _KEPT_HEADERS if k in response.headers}
        self.bucket.observe(headers)
        status = response.status_code
        payload = self.scrubber.value(parse_json(body))
        wait = retry_after(headers.get("retry-after"))
        if (status == 429 or status == 503) and wait is not None:
            self.bucket.pause(wait)  # the account's limit: every request of the provider waits (or it is throttled)
        self._tell_throttle()
        if 200 <= status < 300:
            if payload is None:
                return Answer("ambiguous" if write else "retry", status, None, headers, f"HTTP {status} with an unreadable body")
            return Answer("ok", status, payload, headers)
        error = f"HTTP {status}: {_message(payload, self.scrubber) or response.reason_phrase}"
        if status == 429 or (status == 503 and wait is not None):
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
        if status == 404:
            hint = providers.get(self.name).base_url_hint(self.base_url)
            if hint:
                error = f"{error} (hint: {hint})"
        return Answer("rejected", status, payload, headers, error)


def _message(payload: Any, scrubber: Scrubber) -> str | None:
    """The API's own error text, scrubbed whole, then cut."""
    if isinstance(payload, Mapping):
        for key in ("message", "detail", "error", "error_message"):
            value = payload.get(key)
            if isinstance(value, str) and value:
                return scrubber.text(value)[:500]
            if value:
                return scrubber.text(json.dumps(value))[:500]
    return None
