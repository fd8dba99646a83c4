"""The path every request takes: faults, auth, idempotency, validation, charge, answer.

A route module supplies a *gate* (auth and rate limits of its provider) and a
*process* (what the route does). Submissions, the requests that create paid work,
go through ``submission()``, which adds Idempotency-Key replay, schema validation,
duplicate counting and the credit headers.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as HttpRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from renderer import providers
from renderer.providers.base import PriceContext, Route
from renderer.sandbox.faults import NO_FAULTS, FaultPlan
from renderer.sandbox.state import Number, SandboxState, Session, Stored, owner_of
from renderer.sandbox.validation import validate

RAW_SEND = "renderer.sandbox.raw_send"
Style = Callable[..., Response]


def _json(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return Response(body, status, dict(headers or {}), media_type="application/json")


def message(status: int, text: str, headers: Mapping[str, str] | None = None) -> Response:
    """Samsar's error shape: {"message": ...}."""
    return _json(status, {"message": text}, headers)


def detail(status: int, text: str, headers: Mapping[str, str] | None = None) -> Response:
    """EnhanceCraft's error shape (a FastAPI service): {"detail": ...}."""
    return _json(status, {"detail": text}, headers)


def ok(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return _json(status, payload, headers)


class DropConnection(Response):
    """Close the socket without answering: the client sees a protocol error, not a status."""

    def __init__(self) -> None:
        super().__init__(b"")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cycle = getattr(scope.get(RAW_SEND), "__self__", None)
        transport = getattr(cycle, "transport", None)
        if transport is None:  # not served by uvicorn's h11 protocol: fail loudly instead
            raise ConnectionAbortedError("sandbox dropped the connection")
        transport.close()
        cycle.disconnected = True  # uvicorn then neither logs nor sends a 500 for us


class Outer:
    """Outermost ASGI layer: remembers the server's own `send` and counts answers."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope[RAW_SEND] = send
        responses = self.state.counters.responses
        answered = False

        async def counting_send(msg: Any) -> None:
            nonlocal answered
            if msg["type"] == "http.response.start":
                answered = True
                responses[str(msg["status"])] += 1
            await send(msg)

        await self.app(scope, receive, counting_send)
        if not answered:
            responses["dropped"] += 1


# -- gates ------------------------------------------------------------------------


@dataclass(slots=True)
class Admission:
    owner: str | None = None
    reject: Response | None = None
    headers: dict[str, str] = field(default_factory=dict)  # added to every answer


Gate = Callable[[SandboxState, Request, FaultPlan], Admission]
Process = Callable[[Request, "str | None", FaultPlan], Awaitable[Response]]


def bearer(request: Request) -> tuple[str, str]:
    """(scheme, key) of the Authorization header; empty strings when absent."""
    scheme, _, key = request.headers.get("authorization", "").strip().partition(" ")
    return scheme.lower(), key.strip()


def key_is_valid(state: SandboxState, key: str) -> bool:
    expected = state.config.api_key
    return bool(key) and (expected is None or key == expected)


def samsar_gate(state: SandboxState, request: Request, plan: FaultPlan) -> Admission:
    scheme, key = bearer(request)
    if not scheme or (scheme == "bearer" and not key):
        return Admission(reject=message(400, "Missing API key: send Authorization: Bearer <API_KEY>"))
    if scheme != "bearer" or not key_is_valid(state, key):
        return Admission(reject=message(401, "Invalid API key"))
    owner = owner_of(key)
    limiter = state.samsar_limiter
    if limiter is not None:
        verdict = limiter.hit(owner)
        if not verdict.allowed:
            state.counters.rate_limited += 1
            return Admission(reject=message(429, "Too many requests", {"Retry-After": str(verdict.retry_after)}))
    return Admission(owner)


def open_gate(state: SandboxState, request: Request, plan: FaultPlan) -> Admission:
    return Admission()


# -- the common path ----------------------------------------------------------------


async def handle(
    state: SandboxState,
    request: Request,
    gate: Gate,
    process: Process,
    *,
    endpoint: str | None = None,
    submission: bool = False,
    style: Style = message,
) -> Response:
    plan = state.faults.plan(endpoint, submission)
    if plan is not NO_FAULTS:
        early = await _before(state, plan, style)
        if early is not None:
            return early
    admission = gate(state, request, plan)
    if admission.reject is not None:
        admission.reject.headers.update(admission.headers)
        return admission.reject
    response = await process(request, admission.owner, plan)
    response.headers.update(admission.headers)
    if "drop_after" in plan:
        state.counters.faults["drop_after"] += 1
        return DropConnection()
    return response


async def _before(state: SandboxState, plan: FaultPlan, style: Style) -> Response | None:
    faults = state.counters.faults
    settings = state.faults.settings
    if "slow" in plan:
        faults["slow"] += 1
        await anyio.sleep(settings.delay_seconds)
    if "drop_before" in plan:
        faults["drop_before"] += 1
        return DropConnection()
    status = plan.http_status()
    if status is not None:
        faults[f"http_{status}"] += 1
        headers = {"Retry-After": str(settings.retry_after_seconds)} if status in (429, 503) else {}
        return style(status, f"sandbox fault: HTTP {status}", headers)
    return None


def endpoint(state: SandboxState, method: str, mount: str, path: str, fn: Callable[[Request], Awaitable[Response]]) -> HttpRoute:
    """A Starlette route under `mount` that counts its requests by template."""
    label = f"{method} {mount}{path}"
    requests = state.counters.requests

    async def counted(request: Request) -> Response:
        requests[label] += 1
        return await fn(request)

    return HttpRoute(path, counted, methods=[method])


# -- submissions -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Accepted:
    body: Any
    charged: Number | None = None  # None: the route shows no credit headers
    remaining: Number | None = None
    status: int = 200


@dataclass(slots=True)
class Call:
    """One submission being processed, with the helpers route handlers share."""

    state: SandboxState
    request: Request
    route: Route
    owner: str
    body: dict[str, Any]  # canonical: wrapped under "input" where the docs wrap it
    inp: dict[str, Any]  # body["input"], or the body itself
    plan: FaultPlan
    style: Style

    def price(self, estimate: Mapping[str, Any] | None = None) -> Number:
        """Credits for this request from the provider's own pricing (None price: 0, counted)."""
        state, owner = self.state, self.owner
        ctx = PriceContext(
            table=state.table,
            estimate=dict(estimate or {}),
            duration_of=lambda ref: state.duration_of(owner, ref),
        )
        price = providers.module(self.route).price(self.route, self.body, ctx)
        if price.credits is None:
            state.counters.unpriced[self.route.endpoint] += 1
            return 0
        return price.credits.min  # exact whenever the sandbox pinned what the server decides

    def charge(self, amount: Number) -> Response | None:
        """Deduct or answer 402 (nothing charged, nothing created)."""
        provider = self.route.provider
        if not self.state.charge(provider, self.owner, amount):
            have = self.state.balance(provider, self.owner)
            return self.style(402, f"Insufficient credits: this request costs {amount} credits; {have} remain")
        return None

    @property
    def remaining(self) -> Number:
        return self.state.balance(self.route.provider, self.owner)

    def file_url(self, name: str) -> str:
        host = self.request.headers.get("host", "127.0.0.1")
        return f"http://{host}/files/{name}"

    def new_session(self, session_id: str, kind: str, **fields: Any) -> Session:
        state = self.state
        now = state.now()
        fail = "render_failure" in self.plan
        if fail:
            state.counters.faults["render_failure"] += 1
        return state.add(Session(
            id=session_id, owner=self.owner, endpoint=self.route.endpoint, kind=kind,
            created_at=now, ready_at=now + state.config.render_seconds,
            created_wall=state.config.wall_clock(), fail=fail, **fields,
        ))


Handler = Callable[[Call], "Response | Accepted"]


def canonical(route: Route, body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The wrapped form of a body: the docs accept flat JSON where they show {"input": ...}."""
    if not route.wrap_input:
        return body, None
    if "input" in body:
        if not isinstance(body["input"], dict):
            return body, "input must be an object"
        return body, None
    wrapped: dict[str, Any] = {"input": {k: v for k, v in body.items() if k not in route.job_keys}}
    wrapped.update({k: body[k] for k in route.job_keys if k in body})
    return wrapped, None


def fingerprint(body: Any) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def submission(state: SandboxState, route: Route, handler: Handler, style: Style = message) -> Process:
    async def process(request: Request, owner: str | None, plan: FaultPlan) -> Response:
        assert owner is not None  # gates admit only known owners
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return style(400, "Request body must be JSON")
        if not isinstance(body, dict):
            return style(400, "Request body must be a JSON object")
        body, problem = canonical(route, body)
        if problem:
            return style(400, problem)
        sha = fingerprint(body)
        idem = request.headers.get("idempotency-key")
        if idem:
            stored = state.idempotency.get((owner, idem))
            if stored is not None:
                if stored.fingerprint != (route.endpoint, sha):
                    return style(422, "Idempotency-Key was already used with a different request")
                state.counters.idempotent_replays += 1
                headers = {**stored.headers, "Idempotent-Replayed": "true"}
                return Response(stored.body, stored.status, headers, media_type="application/json")
        problem = validate(route, body, state.table)
        if problem:
            return style(400, problem)
        inp = body["input"] if route.wrap_input else body
        result = handler(Call(state, request, route, owner, body, inp, plan, style))
        if isinstance(result, Response):
            return result
        return _accept(state, route, owner, sha, idem, result)

    return process


def _accept(state: SandboxState, route: Route, owner: str, sha: str, idem: str | None, result: Accepted) -> Response:
    counters = state.counters
    counters.accepted[route.endpoint] += 1
    seen = (owner, route.endpoint, sha)
    state.bodies_seen[seen] += 1
    if state.bodies_seen[seen] > 1:
        counters.duplicates[route.endpoint] += 1
    headers: dict[str, str] = {}
    if result.charged is not None:
        headers["x-credits-charged"] = str(result.charged)
        headers["x-credits-remaining"] = str(result.remaining)
    payload = json.dumps(result.body, separators=(",", ":")).encode("utf-8")
    if idem:
        state.idempotency[(owner, idem)] = Stored((route.endpoint, sha), result.status, payload, headers)
    return Response(payload, result.status, headers, media_type="application/json")
