"""The path a stand-in's request takes: faults, then the provider's gate, then the route.

A stand-in supplies a *gate* (its provider's authentication) and a *process* (what
the route does); ``handle()`` runs faults around them. Submissions, the requests that
create paid work, build their process with ``submit.submission()``. Rate limits and
request counts are the gateway's (``gateway.py``), in front of every stand-in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from renderer.sandbox import hostile
from renderer.sandbox.faults import HOSTILE, NO_FAULTS, FaultPlan
from renderer.sandbox.gateway import RATE_LIMIT
from renderer.sandbox.state import SandboxState

RAW_SEND = "renderer.sandbox.raw_send"
Style = Callable[..., Response]


def _json(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    return Response(body, status, dict(headers or {}), media_type="application/json")


def message(status: int, text: str, headers: Mapping[str, str] | None = None) -> Response:
    """An error as {"message": ...} (an Express service's shape; the control routes' too)."""
    return _json(status, {"message": text}, headers)


def detail(status: int, text: str, headers: Mapping[str, str] | None = None) -> Response:
    """An error as {"detail": ...} (a FastAPI service's shape)."""
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
        if cycle is None or transport is None:  # not served by uvicorn's h11 protocol: fail loudly instead
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


Gate = Callable[[SandboxState, Request, FaultPlan], Admission]
Process = Callable[[Request, "str | None", FaultPlan], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def bearer(request: Request) -> tuple[str, str]:
    """(scheme, key) of the Authorization header; empty strings when absent."""
    scheme, _, key = request.headers.get("authorization", "").strip().partition(" ")
    return scheme.lower(), key.strip()


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
    response = await _handle(state, request, gate, process, plan, submission, style)
    return hostile.add_headers(state, plan, response) if plan is not NO_FAULTS else response


async def _handle(state: SandboxState, request: Request, gate: Gate, process: Process, plan: FaultPlan,
                  submission: bool, style: Style) -> Response:
    hostile_plan = plan is not NO_FAULTS and not plan.kinds.isdisjoint(HOSTILE)
    if plan is not NO_FAULTS:
        early = await _before(state, plan, style)
        if early is None and hostile_plan:
            early = await hostile.before(state, request, plan, submission, style)
        if early is not None:
            return early
    admission = gate(state, request, plan)
    if admission.reject is not None:
        return admission.reject
    limit = request.scope.get(RATE_LIMIT)
    if "rate_limit_exhausted" in plan and limit is not None:  # a provider with a rate limit only
        state.counters.faults["rate_limit_exhausted"] += 1
        return limit.exhaust()
    response = await process(request, admission.owner, plan)
    state.flush()  # a persistent sandbox saves what it accepted before it answers
    if "drop_after" in plan:
        state.counters.faults["drop_after"] += 1
        return DropConnection()
    if hostile_plan:
        return await hostile.after(state, request, plan, response, submission)
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
