"""The sandbox as one ASGI app: each registered provider's stand-in (Samsar under /v1 and
/v2, EnhanceCraft under /enhancecraft, ...), and the control routes."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from renderer import providers
from renderer.sandbox import control
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
                *(r for p in providers.all_providers() for r in p.sandbox_routes(state)),
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
