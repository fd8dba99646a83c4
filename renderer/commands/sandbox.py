"""`renderer sandbox`: serve the local stand-in of every API until interrupted."""

from __future__ import annotations

from renderer.sandbox.config import SandboxConfig
from renderer.sandbox.server import sandbox_command


def sandbox(host: str, port: int, config: SandboxConfig) -> int:
    """Serve on ``host:port`` until Ctrl-C; exit code 0."""
    return sandbox_command(host, port, config)
