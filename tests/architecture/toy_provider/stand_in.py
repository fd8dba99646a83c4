"""Toy's stand-in: plain Starlette routes. The sandbox counts their requests and enforces its tier.

It keeps what it saw in ``SEEN`` (and the sandbox's state) so tests can count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.routing import Route as HttpRoute

SEEN: dict[str, Any] = {"submissions": [], "reads": 0, "state": None}


def routes(state: Any) -> Mapping[str, Sequence[BaseRoute]]:
    jobs: dict[str, str] = {}
    SEEN["state"] = state

    def authorised(request: Request) -> bool:
        return request.headers.get("authorization", "").startswith("Bearer ")

    async def echo(request: Request) -> Response:
        if not authorised(request):
            return JSONResponse({"error": "no key"}, 401)
        body = await request.json()
        rid = f"toy-{len(jobs) + 1}"
        jobs[rid] = f"https://toy.example/{body['text']}"
        SEEN["submissions"].append(body)
        return JSONResponse({"id": rid, "state": "queued"})

    async def job(request: Request) -> Response:
        SEEN["reads"] += 1
        rid = request.path_params["rid"]
        if rid not in jobs:
            return JSONResponse({"error": "unknown job"}, 404)
        return JSONResponse({"id": rid, "state": "done", "url": jobs[rid]})

    return {"/toy": [HttpRoute("/echo", echo, methods=["POST"]), HttpRoute("/jobs/{rid}", job)]}
