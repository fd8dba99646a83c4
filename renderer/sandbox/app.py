"""The sandbox as one ASGI app: the stand-in of every registered provider, and the control routes.

This is where the sandbox meets the registry: each provider with a stand-in
(``Registered.SANDBOX``, plugins included) is mounted below its paths behind the
gateway (request counts, its rate tier), and the stand-ins get what they need of the
rest of the renderer (prices, request checks) through the state's ``Catalogue``.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from renderer import providers
from renderer.providers.protocol import Registered
from renderer.sandbox import control
from renderer.sandbox.config import SandboxConfig
from renderer.sandbox.gateway import mounts
from renderer.sandbox.pipeline import Outer, message
from renderer.sandbox.state import Catalogue, SandboxState
from renderer.sandbox.validation import validate


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return message(exc.status_code, str(exc.detail), exc.headers)


class SandboxApp:
    """An ASGI app with its state attached (``app.state`` is what tests inspect)."""

    def __init__(self, config: SandboxConfig, stand_ins: Sequence[Registered] | None = None) -> None:
        self.config = config
        chosen = providers.all_providers() if stand_ins is None else tuple(stand_ins)
        self.providers = tuple(p for p in chosen if p.SANDBOX is not None)  # the ones it stands in for
        catalogue = Catalogue({p.NAME: p for p in chosen}, providers.price_table(config.pricing), validate)
        self.state = SandboxState(config, catalogue)
        state = self.state
        inner = Starlette(
            routes=[*(m for p in self.providers for m in mounts(state, p)), *control.routes(state)],
            exception_handlers={HTTPException: _http_error},
            max_body_size=config.max_body_bytes,
        )
        self._asgi = Outer(inner, state)

    @property
    def base_paths(self) -> dict[str, str]:
        """Each provider's API base below the sandbox's root, by provider name."""
        return {p.NAME: p.SANDBOX.base_path for p in self.providers if p.SANDBOX is not None}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._asgi(scope, receive, send)


def build_app(config: SandboxConfig | None = None) -> SandboxApp:
    return SandboxApp(config or SandboxConfig())
