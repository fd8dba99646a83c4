"""A local stand-in of every API in the docs: Samsar (video, image, create_movie) and EnhanceCraft.

    from renderer.sandbox import SandboxConfig, running_sandbox_sync

    with running_sandbox_sync(SandboxConfig(render_seconds=0)) as sb:
        sb.samsar_base_url        # http://127.0.0.1:PORT/v1
        sb.enhancecraft_base_url  # http://127.0.0.1:PORT/enhancecraft
        sb.state.counters         # what it has seen

Same routes, validation, prices (from ``renderer.providers``), auth rules and answers
as the docs, with seeded, switchable faults. No network, no real credits.
"""

from renderer.sandbox.app import SandboxApp, build_app
from renderer.sandbox.config import ManualClock, SandboxConfig
from renderer.sandbox.faults import KINDS as FAULT_KINDS
from renderer.sandbox.faults import FaultSettings
from renderer.sandbox.server import Sandbox, running_sandbox, running_sandbox_sync, sandbox_command, serve
from renderer.sandbox.state import Counters, SandboxState

__all__ = [
    "Counters", "FAULT_KINDS", "FaultSettings", "ManualClock", "Sandbox", "SandboxApp", "SandboxConfig",
    "SandboxState", "build_app", "running_sandbox", "running_sandbox_sync", "sandbox_command", "serve",
]
