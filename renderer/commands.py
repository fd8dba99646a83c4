"""Commands as plain functions: the CLI builds their arguments and renders errors.

Each takes what it needs (paths, an output stream, the environment as a
mapping) and returns an exit code or raises a ``RendererError``; none reads
``os.environ`` or prints on its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence, TextIO

from renderer.errors import BudgetExceeded, Invalid, LoadError, Location, UserError
from renderer.plan.planner import PlanLimits, build_plan
from renderer.plan.report import budget_message, plan_json, plan_markdown, summarise
from renderer.spec.campaign import Campaign, load_campaign
from renderer.spec.yamlfile import Limits

STEP_SUMMARY_LIMIT = 1024 * 1024  # GitHub's cap on one step summary


@dataclass(frozen=True, slots=True)
class Settings:
    """Bounds for untrusted campaign files (see SECURITY.md)."""

    yaml: Limits = Limits()
    plan: PlanLimits = PlanLimits()


def validate(paths: Sequence[str], settings: Settings = Settings()) -> int:
    """Check every file; raise one ``Invalid`` with the errors of all of them."""
    errors: list[UserError] = []
    for path in paths:
        try:
            campaign = load_campaign(path, settings.yaml)
            build_plan(campaign, limits=settings.plan)
        except Invalid as exc:
            errors.extend(exc.errors)
    if errors:
        raise Invalid(errors)
    return 0


def default_manifest_path(campaign_path: str | Path) -> Path:
    p = Path(campaign_path)
    return p.with_name(p.stem + ".manifest.json")


def read_manifest(path: Path | None, required: bool) -> dict[str, Any] | None:
    """A previous results manifest, or None when there is none yet."""
    if path is None:
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        if required:
            raise Invalid([LoadError("manifest not found", Location(str(path)))]) from None
        return None
    except (OSError, ValueError) as exc:
        raise Invalid([LoadError(f"manifest is not readable JSON: {exc}", Location(str(path)))]) from None
    if not isinstance(data, dict) or not isinstance(data.get("jobs", {}), dict):
        raise Invalid([LoadError("manifest must be a JSON object with a `jobs` mapping", Location(str(path)))])
    return data


def plan(
    path: str,
    out: TextIO,
    *,
    fmt: str = "table",
    manifest: str | None = None,
    select: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    settings: Settings = Settings(),
    table_renderer: Any = None,
) -> int:
    """Expand, price and show a campaign. Exit 3 (BudgetExceeded) when over budget."""
    campaign = load_campaign(path, settings.yaml)
    manifest_path = Path(manifest) if manifest else default_manifest_path(path)
    previous = read_manifest(manifest_path, required=manifest is not None)
    the_plan, _ = build_plan(campaign, previous, select, settings.plan)
    summary = summarise(the_plan, previous)
    if fmt == "json":
        json.dump(plan_json(the_plan, summary), out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif fmt == "markdown":
        out.write(plan_markdown(the_plan, summary))
    elif table_renderer is not None:
        table_renderer(the_plan, summary, out)
    append_step_summary(env or {}, plan_markdown(the_plan, summary))
    if summary.over_budget:
        raise BudgetExceeded(budget_message(the_plan, summary))
    return 0


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
        data = data[: max(0, room - len(note))].decode("utf-8", "ignore").encode() + note
    with p.open("ab") as fh:
        fh.write(data + b"\n")


def load(path: str, settings: Settings = Settings()) -> Campaign:
    return load_campaign(path, settings.yaml)
