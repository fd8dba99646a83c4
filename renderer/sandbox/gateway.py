"""What stands in front of every provider's stand-in: request counts by route, and its rate tier.

The sandbox mounts each provider's routes (``StandIn.routes``) wrapped in a ``Gateway``
route: it counts the request under ``counters.requests`` ("POST /v1/video/text_to_video",
the route's template), and when the provider has a rate limit (its ``rate_tier`` for
the configured settings, or ``SandboxConfig.requests_per_minute``) it counts the
request against the key's window. Over the limit it answers 429 itself, in the
provider's error shape, with Retry-After; under it the stand-in answers, with the
X-RateLimit-* headers added. A plugin's stand-in gets both without doing anything.

The key is read the way the provider's ``auth_headers`` writes it; a request without
one, or with a key the sandbox refuses, passes to the stand-in (which answers 401)
without using quota.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount
from starlette.routing import Route as HttpRoute
from starlette.types import Message, Receive, Scope, Send

from renderer.providers.protocol import Registered
from renderer.sandbox.ratelimit import RateLimiter, Verdict
from renderer.sandbox.session import owner_of
from renderer.sandbox.state import SandboxState

RATE_LIMIT = "renderer.sandbox.rate_limit"  # scope key: the request's ``RateLimit`` (faults exhaust it)
_MARK = "\x00"


def mounts(state: SandboxState, provider: Registered) -> list[Mount]:
    """The provider's stand-in, mounted below the sandbox's root behind its gateway."""
    if provider.SANDBOX is None:
        return []
    limiter = state.limiters.get(provider.NAME)
    return [Mount(path, routes=[Gateway(route, path, state, provider, limiter) for route in routes])
            for path, routes in provider.SANDBOX.routes(state).items()]


def api_key(provider: Registered, headers: Mapping[str, str]) -> str | None:
    """The key a request carries, read the way ``provider.auth_headers`` writes one; None without one."""
    for name, value in provider.auth_headers(_MARK).items():
        before, _, after = value.partition(_MARK)
        got = headers.get(name)
        if got is None or not got.lower().startswith(before.lower()) or not got.endswith(after):
            return None
        key = got[len(before):len(got) - len(after)].strip()
        if key:
            return key
    return None


def key_is_valid(state: SandboxState, key: str) -> bool:
    """A key the sandbox accepts: any non-empty one, or only the configured one."""
    expected = state.config.api_key
    return bool(key) and (expected is None or key == expected)


class RateLimit:
    """One request's place in its key's window: the ``rate_limit_exhausted`` fault uses it up."""

    def __init__(self, state: SandboxState, limiter: RateLimiter, owner: str, provider: Registered) -> None:
        self.state, self.limiter, self.owner, self.provider = state, limiter, owner, provider

    def exhaust(self) -> Response:
        """Use up the key's window and answer as the limit does."""
        self.limiter.exhaust(self.owner)
        return self.refusal(self.limiter.hit(self.owner))

    def refusal(self, verdict: Verdict) -> Response:
        self.state.counters.rate_limited += 1
        text = f"Rate limit exceeded: {self.limiter.per_minute} requests per minute"
        headers = {**verdict.headers, "Retry-After": str(verdict.retry_after)}
        body = json.dumps(self.provider.SANDBOX.error(text) if self.provider.SANDBOX else {"message": text})
        return Response(body.encode("utf-8"), 429, headers, media_type="application/json")


class Gateway(BaseRoute):
    """A stand-in's route with its request counted and its provider's rate limit in front."""

    def __init__(self, inner: BaseRoute, mount: str, state: SandboxState, provider: Registered,
                 limiter: RateLimiter | None) -> None:
        self.inner, self.state, self.provider, self.limiter = inner, state, provider, limiter
        self.template = mount + (inner.path if isinstance(inner, (HttpRoute, Mount)) else "")

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        return self.inner.matches(scope)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        return self.inner.url_path_for(name, **path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.state.counters.requests[f"{scope['method']} {self.template}"] += 1
        limit = self._limit(scope)
        if limit is None:
            await self.inner.handle(scope, receive, send)
            return
        verdict = limit.limiter.hit(limit.owner)
        if not verdict.allowed:
            await limit.refusal(verdict)(scope, receive, send)
            return
        scope[RATE_LIMIT] = limit
        await self.inner.handle(scope, receive, _with_headers(send, verdict.headers))

    def _limit(self, scope: Scope) -> RateLimit | None:
        if self.limiter is None:
            return None
        key = api_key(self.provider, Headers(scope=scope))
        if key is None or not key_is_valid(self.state, key):
            return None
        return RateLimit(self.state, self.limiter, owner_of(key), self.provider)


def _with_headers(send: Send, headers: Mapping[str, str]) -> Send:
    """``send`` with ``headers`` added to the answer's start, where the stand-in set none of them."""
    extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            have = {k.lower() for k, _ in message.get("headers", ())}
            message = {**message, "headers": [*message.get("headers", ()), *(h for h in extra if h[0] not in have)]}
        await send(message)

    return sending
