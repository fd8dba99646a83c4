"""Submissions: the requests that create paid work.

``submission()`` turns a route handler into a process for ``pipeline.handle``: it
reads the JSON body (flat or wrapped; a stand-in may read another form with ``read``),
lets the stand-in fold what its official client adds into the documented body
(``normalise``), replays an Idempotency-Key's first answer, validates, lets the handler
charge and create, then counts the acceptance (and duplicates) and adds the credit headers.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response

from renderer.sandbox.faults import FaultPlan
from renderer.sandbox.pipeline import Process, Style, message
from renderer.sandbox.session import Number, Session, Stored
from renderer.sandbox.state import SandboxState
from renderer.vocabulary import PriceContext, Route


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
        """Credits for this request from the provider's own pricing (None price: 0, counted),
        times the configured ``price_factor``."""
        state, owner = self.state, self.owner
        ctx = PriceContext(
            table=state.table,
            estimate=dict(estimate or {}),
            duration_of=lambda ref: state.duration_of(owner, ref),
        )
        price = state.provider(self.route).price(self.route, self.body, ctx)
        if price.credits is None:
            state.counters.unpriced[self.route.endpoint] += 1
            return 0
        charged = price.credits.min * state.config.price_factor  # exact whenever the sandbox pinned what the server decides
        return int(charged) if float(charged).is_integer() else charged

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
        self.state.served_from(f"http://{host}")
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
# a body read from a request (None: read it as JSON), or the message of a 400
Reader = Callable[[Request], Awaitable["dict[str, Any] | str | None"]]
# the documented body from what a client sent (its aliases and duplicates folded in), or the message of a 400
Normaliser = Callable[[dict[str, Any]], "dict[str, Any] | str"]


def canonical(route: Route, body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The wrapped form of a body: the docs accept flat JSON where they show {"input": ...}."""
    if not route.wrap_input:
        return body, None
    if "input" in body:
        if not isinstance(body["input"], dict):
            return body, "input must be an object"
        return body, None
    beside = (*route.job_keys, *(k for k, _ in route.beside))
    wrapped: dict[str, Any] = {"input": {k: v for k, v in body.items() if k not in beside}}
    wrapped.update({k: body[k] for k in beside if k in body})
    return wrapped, None


def fingerprint(body: Any) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


async def _json_body(request: Request) -> dict[str, Any] | str:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        return "Request body must be JSON"
    return body if isinstance(body, dict) else "Request body must be a JSON object"


def submission(state: SandboxState, route: Route, handler: Handler, style: Style = message, *,
               read: Reader | None = None, normalise: Normaliser | None = None) -> Process:
    async def process(request: Request, owner: str | None, plan: FaultPlan) -> Response:
        assert owner is not None  # gates admit only known owners
        body = await read(request) if read is not None else None
        if body is None:
            body = await _json_body(request)
        if isinstance(body, str):
            return style(400, body)
        body, problem = canonical(route, body)
        if problem:
            return style(400, problem)
        if normalise is not None:
            folded = normalise(body)
            if isinstance(folded, str):
                return style(400, folded)
            body = folded
        sha = fingerprint(body)
        idem = request.headers.get("idempotency-key")
        if idem and "ignore_keys" in plan:  # an API that promises nothing about keys
            state.counters.faults["ignore_keys"] += 1
            idem = None
        if idem:
            stored = state.idempotency.get((owner, idem))
            if stored is not None:
                if stored.fingerprint != (route.endpoint, sha):
                    return style(422, "Idempotency-Key was already used with a different request")
                state.counters.idempotent_replays += 1
                headers = {**stored.headers, "Idempotent-Replayed": "true"}
                return Response(stored.body, stored.status, headers, media_type="application/json")
        problem = state.catalogue.check(route, body)
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
    documented = route.alias_of or route.endpoint  # /video/create repeats /video/text_to_video
    seen = (owner, documented, sha)
    if state.saw(seen) > 1:
        counters.duplicates[documented] += 1
    headers: dict[str, str] = {}
    if result.charged is not None:
        headers["x-credits-charged"] = str(result.charged)
        headers["x-credits-remaining"] = str(result.remaining)
    payload = json.dumps(result.body, separators=(",", ":")).encode("utf-8")
    if idem:
        state.remember_answer(owner, idem, Stored((route.endpoint, sha), result.status, payload, headers))
    return Response(payload, result.status, headers, media_type="application/json")
