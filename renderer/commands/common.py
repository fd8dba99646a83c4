"""What several commands share: their settings, and (from below) GitHub's step summary and the manifest's path."""

from __future__ import annotations

from dataclasses import dataclass

from renderer.manifest import default_path as default_manifest_path
from renderer.plan.planner import PlanLimits
from renderer.campaign.yamlfile import Limits
from renderer.results.step_summary import STEP_SUMMARY_LIMIT, append_step_summary

__all__ = ["STEP_SUMMARY_LIMIT", "Settings", "append_step_summary", "default_manifest_path"]


@dataclass(frozen=True, slots=True)
class Settings:
    """Bounds for untrusted campaign files (see SECURITY.md)."""

    yaml: Limits = Limits()
    plan: PlanLimits = PlanLimits()
