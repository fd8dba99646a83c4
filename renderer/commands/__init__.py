"""Commands as plain functions, one module each: the CLI parses argv, calls one, renders errors.

Each takes typed parameters (paths, an output stream, the environment as a
mapping) and returns an exit code or raises a ``RendererError``; none reads
``os.environ`` or prints on its own.
"""

from __future__ import annotations

from renderer.commands.common import STEP_SUMMARY_LIMIT, Settings, append_step_summary, default_manifest_path
from renderer.commands.validate import validate

__all__ = [
    "STEP_SUMMARY_LIMIT", "Settings", "append_step_summary", "default_manifest_path", "validate",
]
