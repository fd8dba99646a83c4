"""A local stand-in of every registered provider's API, plugins included: free, offline.

    from renderer.sandbox import SandboxConfig, running_sandbox_sync

    with running_sandbox_sync(SandboxConfig(render_seconds=0)) as sb:
        sb.base_urls              # {"<provider>": "http://127.0.0.1:PORT/<its base path>", ...}
        sb.state.counters         # what it has seen

Each provider brings its stand-in (``Registered.SANDBOX``: its routes, answers and
validation, faithful to its docs); the sandbox around them is provider-neutral:
``app`` mounts them, ``gateway`` counts requests and enforces each provider's
``rate_tier``, ``pipeline`` runs seeded, switchable faults (``faults``, ``hostile``)
around a gate and a route, ``submit`` handles idempotency, checks and credits, and
``state`` remembers sessions, balances and windows (``persist`` keeps them on disk).
No network, no real credits.
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
