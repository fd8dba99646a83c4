"""`renderer plan FILE`: expand, price and show what a run would do."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal, TextIO

from renderer import manifest as M
from renderer.commands.common import Settings, append_step_summary
from renderer.errors import BudgetExceeded, Invalid, LoadError, Location, UsageError, UserError
from renderer.execute.moved import find_moved
from renderer.plan import planfile
from renderer.plan.inputs import inputs_text
from renderer.plan.model import Plan
from renderer.plan.planner import build_plan, collector_paused
from renderer.plan.price_overrides import below_documented
from renderer.plan.report import (
    Summary,
    budget_message,
    plan_json_text,
    plan_markdown,
    summarise,
)
from renderer.campaign.campaign import load_campaign

STATE_DIR = ".renderer"  # run's default state directory, where a moved campaign's old journal is
PlanFormat = Literal["table", "json", "markdown"]
TableRenderer = Callable[[Plan, Summary, TextIO], None]


def plan(
    path: str,
    out: TextIO,
    *,
    fmt: PlanFormat = "table",
    manifest: str | None = None,
    select: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    settings: Settings = Settings(),
    table_renderer: TableRenderer | None = None,
    show_inputs: bool = False,
    warnings: list[UserError] | None = None,
    plan_out: str | None = None,
    rerun_cancelled: bool = False,
) -> int:
    """Expand, price and show a campaign. Exit 3 (BudgetExceeded) when over budget.

    ``show_inputs``: also the request body of every job to run and, for one the
    manifest holds, the fields that changed. Warnings are appended to ``warnings``.
    ``plan_out``: save the plan for ``run --plan`` (also when over budget: the run
    refuses it then). ``rerun_cancelled``: plan cancelled jobs to be sent again."""
    if show_inputs and fmt == "markdown":
        raise UsageError("renderer plan: --show-inputs shows bodies in the table or in --json, not in --markdown")
    campaign = load_campaign(path, settings.yaml)
    if warnings is not None:
        warnings.extend(below_documented(campaign))
    manifest_path = Path(manifest) if manifest else M.default_path(path)
    if manifest is None and not manifest_path.exists():  # moved (git mv)? the record it left behind, as run reads it
        manifest_path = find_moved(path, campaign.name, STATE_DIR, manifest_path).manifest or manifest_path
    previous = M.load(manifest_path, required=manifest is not None)
    other = _other_campaign(previous, campaign.name, manifest_path)
    if other is not None:
        raise Invalid([other])
    the_plan, _ = build_plan(campaign, previous, select, settings.plan)
    if warnings is not None:
        warnings.extend(the_plan.warnings)
    if rerun_cancelled:
        the_plan = the_plan.rerun_cancelled()
    summary = summarise(the_plan, previous)
    if plan_out:
        planfile.save(Path(plan_out), planfile.plan_record(the_plan, summary, manifest_path))
    wants_summary = bool((env or {}).get("GITHUB_STEP_SUMMARY"))
    markdown = plan_markdown(the_plan, summary) if fmt == "markdown" or wants_summary else ""
    if fmt == "json":
        inputs_of = M.Manifest.coerce(previous) if show_inputs else None
        with collector_paused():  # a few large writes: one per token was a system call each, unbuffered
            for text in plan_json_text(the_plan, summary, inputs_of):
                out.write(text)
        out.write("\n")
    elif fmt == "markdown":
        out.write(markdown)
    else:
        if table_renderer is not None:
            table_renderer(the_plan, summary, out)
        if show_inputs:
            out.write(inputs_text(the_plan, M.Manifest.coerce(previous)))
    if wants_summary:
        append_step_summary(env or {}, markdown)
    if summary.over_budget:
        raise BudgetExceeded(budget_message(the_plan, summary))
    return 0


def _other_campaign(previous: M.Manifest | None, name: str, path: Path) -> LoadError | None:
    """A manifest that records another campaign: `run` refuses to overwrite it, so `plan` fails too."""
    if previous is None or previous.campaign in (None, name):
        return None
    return LoadError(f"manifest records the campaign {previous.campaign!r}, not {name!r}, and run will not "
                     "overwrite it: pass --manifest with this campaign's own manifest (renamed the campaign? "
                     "set the manifest's `campaign` to the new name)", Location(str(path)))
