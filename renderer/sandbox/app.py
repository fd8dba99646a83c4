"""The sandbox as one ASGI app: Samsar under /v1 and /v2, EnhanceCraft under /enhancecraft."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import Receive, Scope, Send

from renderer.sandbox import control, enhancecraft, samsar_image, samsar_status, samsar_video
from renderer.sandbox.config import SandboxConfig
from renderer.sandbox.pipeline import Outer, message
from renderer.sandbox.state import SandboxState


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return message(exc.status_code, str(exc.detail), exc.headers)


class SandboxApp:
    """An ASGI app with its state attached (``app.state`` is what tests inspect)."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.state = SandboxState(config)
        state = self.state
        inner = Starlette(
            routes=[
                # Status routes first: the router scans in order and polls outnumber submissions.
                Mount("/v1", routes=[
                    *samsar_status.routes(state, "v1"), *samsar_video.routes(state, "v1"), *samsar_image.routes(state),
                ]),
                Mount("/v2", routes=[*samsar_status.routes(state, "v2"), *samsar_video.routes(state, "v2")]),
                Mount(enhancecraft.MOUNT, routes=enhancecraft.routes(state)),
                *control.routes(state),
            ],
            exception_handlers={HTTPException: _http_error},
            max_body_size=config.max_body_bytes,
        )
        self._asgi = Outer(inner, state)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._asgi(scope, receive, send)


def build_app(config: SandboxConfig | None = None) -> SandboxApp:
    return SandboxApp(config or SandboxConfig())
