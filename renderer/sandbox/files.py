"""Result files the sandbox hands out: real media, served as a CDN would.

Every result URL (``/files/<name>``) answers with a small real file shipped as package
data: a PNG for images, an H.264 MP4 (or a VP9 WebM for ``.webm``) for videos, with
its content type, ``Accept-Ranges: bytes`` and single-range ``Range`` requests
(``206``/``416``), so downloads can resume and browsers can seek. ``GET /files``
requests are counted under ``counters.requests["GET /files"]``.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route as HttpRoute

from renderer.sandbox.state import SandboxState

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


def routes(state: SandboxState) -> list[HttpRoute]:
    async def get_file(request: Request) -> Response:
        state.counters.requests[f"{request.method} /files"] += 1
        body, kind = file_for(request.path_params["name"])
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
