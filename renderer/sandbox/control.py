"""The sandbox's own routes: state and fault control for tests, and the result files.

    GET  /_sandbox/state    counters, balances, sessions by status (no keys: accounts are hashes)
    GET  /_sandbox/faults   the fault settings in force
    POST /_sandbox/faults   replace them: {"rates": {...}, "schedule": {"2": "drop_after"}, ...,
                            "seed": N}; the schedule counts submissions from now, and
                            "read_schedule" the other requests. Hostile kinds (faults.HOSTILE)
                            take "trickle_interval", "huge_bytes" and "hang_seconds", and
                            "result_url", "merge", "headers"; the result-file kinds
                            (faults.FILE_KINDS) take "huge_bytes", "trickle_interval" and
                            "redirect_to"; "scope" is "submissions", "reads" or "all"
    POST /_sandbox/clock    {"advance": seconds}: move sandbox time forward
    GET  /files/{name}      a real image or video for every result URL (renderer.sandbox.files)
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as HttpRoute

from renderer.sandbox import files
from renderer.sandbox.faults import FaultSettings
from renderer.sandbox.pipeline import message, ok
from renderer.sandbox.state import SandboxState


async def _json_body(request: Request) -> object:
    raw = await request.body()
    try:
        return json.loads(raw) if raw else {}
    except ValueError:
        raise ValueError("body must be JSON") from None


def routes(state: SandboxState) -> list[HttpRoute]:
    async def get_state(request: Request) -> Response:
        return ok(state.snapshot())

    async def get_faults(request: Request) -> Response:
        return ok(state.faults.settings.as_json())

    async def post_faults(request: Request) -> Response:
        try:
            data = await _json_body(request)
            settings = FaultSettings.from_json(data)
        except ValueError as exc:
            return message(400, str(exc))
        seed = data.get("seed") if isinstance(data, dict) else None
        if seed is not None and not isinstance(seed, int):
            return message(400, "seed must be an integer")
        state.set_faults(settings, seed)
        return ok(settings.as_json())

    async def post_clock(request: Request) -> Response:
        try:
            data = await _json_body(request)
        except ValueError as exc:
            return message(400, str(exc))
        seconds = data.get("advance") if isinstance(data, dict) else None
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
            return message(400, "advance must be a number of seconds >= 0")
        state.advance(seconds)
        return ok({"now": state.now()})

    return [
        HttpRoute("/_sandbox/state", get_state, methods=["GET"]),
        HttpRoute("/_sandbox/faults", get_faults, methods=["GET"]),
        HttpRoute("/_sandbox/faults", post_faults, methods=["POST"]),
        HttpRoute("/_sandbox/clock", post_clock, methods=["POST"]),
        *files.routes(state),
    ]
