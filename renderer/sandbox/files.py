"""Result files the sandbox hands out: real media, served as a CDN would.

Every result URL (``/files/<name>``) answers with a small real file shipped as package
data: a PNG for images, an H.264 MP4 (or a VP9 WebM for ``.webm``) for videos, with
its content type, ``Accept-Ranges: bytes`` and single-range ``Range`` requests
(``206``/``416``), so downloads can resume and browsers can seek. ``GET /files``
requests are counted under ``counters.requests["GET /files"]``.

The file fault kinds (``faults.FILE_KINDS``) make a result file hostile: ``huge_file``
streams ``huge_bytes`` from a generator (no length announced, nothing allocated),
``trickle_file`` sends a byte every ``trickle_interval`` seconds, ``redirect_file``
answers 302 to ``redirect_to``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from functools import cache
from importlib import resources

import anyio.lowlevel
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route as HttpRoute

from renderer.sandbox.faults import FaultPlan
from renderer.sandbox.hostile import trickle
from renderer.sandbox.state import SandboxState

_BLOCK = 256 * 1024

_MEDIA = {".mp4": ("sample.mp4", "video/mp4"), ".webm": ("sample.webm", "video/webm")}
_IMAGE = ("sample.png", "image/png")


@cache
def media_bytes(name: str) -> bytes:
    return resources.files("renderer.sandbox").joinpath("media", name).read_bytes()


def file_for(name: str) -> tuple[bytes, str]:
    """The bytes and content type served for the result file ``name``."""
    for suffix, (asset, kind) in _MEDIA.items():
        if name.endswith(suffix):
            return media_bytes(asset), kind
    return media_bytes(_IMAGE[0]), _IMAGE[1]


def byte_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """``(first, last)`` of one ``bytes=`` range; None without one; "bad" when unsatisfiable."""
    if not header:
        return None
    m = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", header)
    if not m or (not m.group(1) and not m.group(2)):
        return None  # not a single byte range: RFC 9110 lets a server ignore it
    if not m.group(1):
        n = int(m.group(2))
        return (max(size - n, 0), size - 1) if n > 0 and size else "bad"
    first = int(m.group(1))
    last = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
    return (first, last) if first <= last and first < size else "bad"


async def _huge(size: int) -> AsyncIterator[bytes]:
    block = b"\0" * _BLOCK  # one block, sent again and again: nothing of the size is allocated
    sent = 0
    while sent < size:
        piece = block if size - sent >= _BLOCK else block[: size - sent]
        yield piece
        sent += len(piece)
        await anyio.lowlevel.checkpoint()


def _hostile_file(state: SandboxState, plan: FaultPlan, body: bytes, kind: str) -> Response | None:
    settings = state.faults.settings
    for fault in plan.kinds:
        state.counters.faults[fault] += 1
    if "redirect_file" in plan:
        return RedirectResponse(settings.redirect_to, 302)
    if "huge_file" in plan:
        return StreamingResponse(_huge(settings.huge_bytes), 200, media_type=kind)
    if "trickle_file" in plan:
        return StreamingResponse(trickle(body, settings.trickle_interval), 200, media_type=kind)
    return None


def routes(state: SandboxState) -> list[HttpRoute]:
    async def get_file(request: Request) -> Response:
        state.counters.requests[f"{request.method} /files"] += 1
        body, kind = file_for(request.path_params["name"])
        plan = state.faults.file_plan()
        hostile = _hostile_file(state, plan, body, kind) if plan.kinds else None
        if hostile is not None:
            return hostile
        headers = {"Accept-Ranges": "bytes", "Cache-Control": "public, max-age=3600"}
        wanted = byte_range(request.headers.get("range"), len(body))
        if wanted == "bad":
            return Response(b"", 416, {**headers, "Content-Range": f"bytes */{len(body)}"}, media_type=kind)
        if isinstance(wanted, tuple):
            first, last = wanted
            headers["Content-Range"] = f"bytes {first}-{last}/{len(body)}"
            part = body[first:last + 1] if request.method == "GET" else b""
            return Response(part, 206, headers, media_type=kind)
        return Response(body if request.method == "GET" else b"", 200, headers, media_type=kind)

    return [HttpRoute("/files/{name}", get_file, methods=["GET", "HEAD"])]
