"""The sandbox's hostile mode: answers shaped the way broken gateways and APIs shape them.

``before`` runs ahead of the route (nothing is processed): an HTML 502 page, a request
that hangs, a long error quoting the key. ``after`` rewrites a route's JSON answer:
echoed ``Authorization`` headers, values of the wrong type, statuses that never
finish, finished records without their result URL, impossible charges, charges said
late (only once a job finished), wrongly (0 in the header) or never, strings holding
lone surrogates, and bodies that trickle or bloat. Pacing comes from the fault settings
(``trickle_interval``), so tests choose how slow "slow" is. (``ignore_keys`` acts in
``renderer.sandbox.submit``.)
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import anyio.lowlevel
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from renderer.sandbox.faults import HOSTILE, FaultPlan
from renderer.sandbox.session import COMPLETED, FAILED, Session
from renderer.sandbox.state import SandboxState

Style = Callable[..., Response]

HTML_502 = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
_CHUNK = 64 * 1024
HOSTILE_AFTER = frozenset(HOSTILE) - {"hang", "html_502", "headers", "ignore_keys"}  # the kinds that rewrite an answer
LONE = "\ud800"  # half of a surrogate pair: no UTF-8 encoder takes it
_CHARGE_LATE = ("charge_late", "charge_zero_then_late", "charge_hidden")


def _key(request: Request) -> str:
    """The bearer key the request carried (what a careless server echoes back)."""
    return request.headers.get("authorization", "").strip().partition(" ")[2].strip()


def long_error(key: str) -> str:
    """An error text that quotes the key across the 500th character (where texts get cut)."""
    return "upstream rejected the request: " + "x" * 460 + f" key={key} " + "trace " * 100


async def before(state: SandboxState, request: Request, plan: FaultPlan, submission: bool, style: Style) -> Response | None:
    faults = state.counters.faults
    settings = state.faults.settings
    if "hang" in plan:
        faults["hang"] += 1
        await request.body()
        with anyio.move_on_after(settings.hang_seconds):
            while not await request.is_disconnected():
                await anyio.sleep(0.01)
        return style(504, "sandbox fault: hung")
    if "html_502" in plan:
        faults["html_502"] += 1
        return Response(HTML_502, 502, media_type="text/html")
    if "long_error_key" in plan and submission:
        faults["long_error_key"] += 1
        return style(422, long_error(_key(request)))
    return None


def _records(payload: Any) -> Iterator[dict[str, Any]]:
    """The session-like objects of an answer: itself, or the items of a list answer."""
    if isinstance(payload, dict):
        yield payload
        sessions = payload.get("sessions")
        if isinstance(sessions, list):
            yield from (s for s in sessions if isinstance(s, dict))
    elif isinstance(payload, list):
        yield from (s for s in payload if isinstance(s, dict))


_RESULT_KEYS = ("result_url", "output_url", "videoLink", "remoteURL")


def _point_results(rec: dict[str, Any], url: str) -> None:
    """A finished record's result URL(s), wherever its shape keeps them, become ``url``."""
    for k in _RESULT_KEYS:
        if rec.get(k) is not None:
            rec[k] = url
    if isinstance(rec.get("result_urls"), list) and rec["result_urls"]:
        rec["result_urls"] = [url]


def _session_of(state: SandboxState, rec: dict[str, Any]) -> Session | None:
    for k in ("session_id", "request_id", "id", "job_id"):
        sid = rec.get(k)
        if isinstance(sid, str) and sid in state.sessions:
            return state.sessions[sid]
    return None


def _charges(state: SandboxState, rec: dict[str, Any], plan: FaultPlan, submission: bool) -> None:
    """Where an answer says what a job cost: late, wrongly, or never."""
    if submission:
        if any(k in plan for k in _CHARGE_LATE):
            rec.pop("creditsCharged", None)
        if "charge_zero_then_late" in plan:
            rec["creditsCharged"] = 0
        return
    if not any(k in plan for k in _CHARGE_LATE) or "charge_hidden" in plan:
        return
    session = _session_of(state, rec)
    if session is not None and session.status(state.now()) in (COMPLETED, FAILED):
        rec["creditsCharged"] = session.credits_charged


def _odd_values(rec: dict[str, Any], plan: FaultPlan) -> None:
    if "surrogate_text" in plan:
        for k in ("message", "error_message", "expressGenerationError"):
            rec[k] = f"upstream said {LONE} here"
    if "surrogate_id" in plan:
        for k in ("request_id", "session_id"):
            if isinstance(rec.get(k), str):
                rec[k] += LONE
    if "surrogate_url" in plan:
        for k in ("result_url", "output_url"):
            if isinstance(rec.get(k), str):
                rec[k] += LONE
    if "credits_huge" in plan:
        rec["creditsCharged"] = 10**400
    if "credits_1e308" in plan:
        rec["creditsCharged"] = 1e308


def _rewrite(state: SandboxState, payload: Any, plan: FaultPlan, key: str,
             submission: bool) -> tuple[Any, dict[str, str], tuple[str, ...]]:
    """The rewritten payload, headers to set, and headers to drop."""
    settings = state.faults.settings
    headers: dict[str, str] = {}
    dropped: tuple[str, ...] = ()
    if "never_complete" in plan and isinstance(payload, list):
        payload = []  # the completed-sessions list: nothing ever completes
    for rec in _records(payload):
        if "echo_auth" in plan:
            rec["headers"] = {"Authorization": f"Bearer {key}", "User-Agent": "renderer"}
            rec["debug"] = f"request had Authorization: Bearer {key}"
        if "never_complete" in plan:
            rec["status"] = "PENDING"
            for k in ("result_url", "result_urls", "output_url", "videoLink", "remoteURL"):
                rec.pop(k, None)
        if "no_result_url" in plan and str(rec.get("status", "")).upper() == "COMPLETED":
            for k in ("result_url", "result_urls", "output_url", "videoLink", "remoteURL"):
                rec.pop(k, None)
        if "long_error_key" in plan and not submission:
            rec["status"] = "FAILED"
            rec["message"] = rec["error_message"] = long_error(key)
        if "bad_thumbnail" in plan:
            rec["thumbnail_url"] = {"url": "https://cdn.example.com/t.png", "width": 64}
        if "int_result_urls" in plan:
            rec["result_urls"] = 7
        if "str_result_urls" in plan:
            rec["result_urls"] = "https://cdn.example.com/r.mp4"
        if "bad_status" in plan:
            rec["status"] = {"state": "COMPLETED"}
        if "bad_id" in plan:
            for k in ("request_id", "session_id", "id"):
                if k in rec:
                    rec[k] = {"id": rec[k]}
        if "credits_inf" in plan:
            rec["creditsCharged"] = float("inf")
        if "credits_negative" in plan:
            rec["creditsCharged"] = -25
        if "result_url" in plan:
            _point_results(rec, settings.result_url)
        if "merge" in plan:
            rec.update(json.loads(json.dumps(settings.merge)))  # a copy per record
        _charges(state, rec, plan, submission)
        _odd_values(rec, plan)
    if "credits_inf" in plan:
        headers["x-credits-charged"] = "inf"
    if "credits_negative" in plan:
        headers["x-credits-charged"] = "-25"
    if "credits_huge" in plan:
        headers["x-credits-charged"] = "1e400"
    if "credits_1e308" in plan:
        headers["x-credits-charged"] = "1e308"
    if submission and ("charge_zero_then_late" in plan or "charge_header_zero" in plan):
        headers["x-credits-charged"] = "0"
    elif submission and any(k in plan for k in _CHARGE_LATE):
        dropped = ("x-credits-charged",)
    return payload, headers, dropped


async def after(state: SandboxState, request: Request, plan: FaultPlan, response: Response, submission: bool) -> Response:
    faults = state.counters.faults
    for kind in plan.kinds & HOSTILE_AFTER:  # the others are counted where they act
        if not (kind == "long_error_key" and submission):
            faults[kind] += 1
    body = bytes(response.body) if not isinstance(response, StreamingResponse) else b""
    try:
        payload = json.loads(body) if body else None
    except ValueError:
        payload = None
    headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-type")}
    if payload is not None and 200 <= response.status_code < 300:
        payload, extra, dropped = _rewrite(state, payload, plan, _key(request), submission)
        headers = {k: v for k, v in headers.items() if k.lower() not in dropped}
        headers.update(extra)
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")  # Infinity stays Infinity: hostile
    settings = state.faults.settings
    if "huge_body" in plan:
        return StreamingResponse(_huge(settings.huge_bytes), response.status_code, headers, media_type="application/json")
    if "trickle" in plan:
        return StreamingResponse(trickle(body, settings.trickle_interval), response.status_code, headers,
                                 media_type="application/json")
    return Response(body, response.status_code, headers, media_type="application/json")


def add_headers(state: SandboxState, plan: FaultPlan, response: Response) -> Response:
    """The "headers" kind: the configured headers on whatever the answer is."""
    if "headers" in plan:
        state.counters.faults["headers"] += 1
        for k, v in state.faults.settings.headers.items():
            response.headers[k] = v
    return response


async def trickle(body: bytes, interval: float) -> AsyncIterator[bytes]:
    """``body`` a byte at a time, ``interval`` seconds apart."""
    for i in range(len(body)):
        yield body[i:i + 1]
        await anyio.sleep(interval)


async def _huge(size: int) -> AsyncIterator[bytes]:
    yield b'{"status":"PENDING","padding":"'
    sent = 0
    block = b"x" * _CHUNK
    while sent < size:
        yield block
        sent += len(block)
        await anyio.lowlevel.checkpoint()
    yield b'"}'
