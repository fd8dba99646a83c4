"""What several commands share: their settings and GitHub's step summary."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from renderer.manifest import default_path as default_manifest_path
from renderer.plan.planner import PlanLimits
from renderer.campaign.yamlfile import Limits

__all__ = ["STEP_SUMMARY_LIMIT", "Settings", "append_step_summary", "default_manifest_path"]

STEP_SUMMARY_LIMIT = 1024 * 1024  # GitHub's cap on one step summary


@dataclass(frozen=True, slots=True)
class Settings:
    """Bounds for untrusted campaign files (see SECURITY.md)."""

    yaml: Limits = Limits()
    plan: PlanLimits = PlanLimits()


def append_step_summary(env: Mapping[str, str], markdown: str) -> None:
    """Append to GitHub's step summary when a workflow step provides one."""
    target = env.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    p = Path(target)
    used = p.stat().st_size if p.exists() else 0
    room = STEP_SUMMARY_LIMIT - used - 1
    if room <= 0:
        return
    data = markdown.encode("utf-8")
    if len(data) > room:
        note = "\n\n_(summary truncated: GitHub's 1 MiB step summary limit)_\n".encode()
        if room < len(note):  # not even the note fits
            return
        data = data[: room - len(note)].decode("utf-8", "ignore").encode() + note
    with p.open("ab") as fh:
        fh.write(data + b"\n")

