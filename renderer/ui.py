"""The one place rich is used: tables and progress for people at a terminal."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TextIO

from rich.console import Console
from rich.console import JustifyMethod
from rich.table import Table
from rich.text import Text

from renderer.text import credits as credits_text

from renderer.plan.model import Plan
from renderer.figures import ESTIMATED_RUN
from renderer.money import show_credits
from renderer.plan.probe import probe_lines
from renderer.plan.views import Summary
from renderer.targets import describe, shown
from renderer.vocabulary import Range

MAX_ROWS = 200  # a terminal table past this is noise; --json has everything


def plan_table(plan: Plan, summary: Summary, out: TextIO) -> None:
    console = Console(file=out, width=120, soft_wrap=False, highlight=False)
    table = Table(title=Text(f"plan: {plan.campaign.name}"), show_lines=False)  # a name is not markup
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("job", "left"), ("endpoint", "left"), ("action", "left"), ("credits", "right"), ("notes", "left"))
    for col, justify in columns:
        table.add_column(col, justify=justify, overflow="fold", no_wrap=col in ("job", "endpoint"))
    for inst in plan.instances[:MAX_ROWS]:
        notes = "; ".join(inst.price.assumptions)
        if inst.pending:
            notes = ("waits for " + ", ".join(inst.needs[:3]) + ("…" if len(inst.needs) > 3 else "") + ("; " + notes if notes else ""))
        away = summary.elsewhere.get(inst.id)
        if away is not None:  # in the manifest, from another target: why it is sent again
            notes = away["reason"] + ("; " + notes if notes else "")
        # Text(): ids like teaser[city=lisbon] are not rich markup
        table.add_row(Text(inst.id), inst.endpoint, inst.action, show_credits(inst.price.credits) if inst.action == "run" else "0", Text(notes))
    if len(plan.instances) > MAX_ROWS:
        table.add_row(f"… {len(plan.instances) - MAX_ROWS} more", "", "", "", "see --json")
    console.print(table)
    totals = Table(title="totals", show_header=True)
    totals.add_column("endpoint")
    totals.add_column("jobs", justify="right")
    totals.add_column("credits", justify="right")
    for endpoint, t in summary.totals["endpoint"].items():
        cr = t["credits"]
        totals.add_row(endpoint, str(t["jobs"]), "unknown" if cr.get("unknown") else show_credits(_r(cr)))
    console.print(totals)
    spend = show_credits(summary.credits) if summary.credits else f"{show_credits(summary.known_credits)} + unknown"
    console.print(f"{ESTIMATED_RUN}: {spend} credits" + (f" of budget {summary.budget:,}" if summary.budget is not None else ""))
    if summary.continuing:
        more = credits_text(sum(summary.continuing.values()))
        console.print(Text(f"awaiting approval: {len(summary.continuing)} job(s) stopped at their approval point; "
                           f"continuing them may cost up to {more} more, admitted when each is approved"))
    req = summary.requests
    line = f"requests: {req['submissions']} submission(s)"
    if req["uploads"]:
        line += f", {req['uploads']} upload(s)"
    for name, p in req["by_provider"].items():
        if "least_wall_seconds" in p:
            rate = f" at {p['requests_per_minute']}/min" if "requests_per_minute" in p else ""
            line += f"; {name}: at least {p['least_wall_seconds']} s{rate}"
    console.print(line)
    if summary.targets:
        console.print(Text(f"target: {describe(summary.targets)}"))
    for text in probe_lines(summary.probe, plan.campaign.budget_probe, summary.budget):
        console.print(Text(text))
    for text in changes_lines(summary.changes):
        console.print(Text(text))
    if summary.elsewhere:
        console.print(Text(elsewhere_line(summary.elsewhere)))


MAX_REMOVED_SHOWN = 10


def changes_lines(changes: dict[str, list[str]]) -> list[str]:
    """What changed against the manifest, when there is one to compare with; removed ids by name."""
    if not any(changes[k] for k in ("changed", "reused", "removed")):
        return []  # no manifest yet (or nothing of it left): every job is new, the table says so
    lines = ["changes: " + ", ".join(f"{len(changes[k]):,} {k}" for k in ("added", "changed", "removed", "reused"))]
    removed = changes["removed"]
    if removed:
        more = f" and {len(removed) - MAX_REMOVED_SHOWN:,} more" if len(removed) > MAX_REMOVED_SHOWN else ""
        lines.append("removed (in the manifest, no longer in the campaign): "
                     + ", ".join(removed[:MAX_REMOVED_SHOWN]) + more)
    return lines


def elsewhere_line(elsewhere: Mapping[str, Mapping[str, str]]) -> str:
    """One line for the jobs the manifest holds from other targets: they are sent again here."""
    by_target: dict[str, int] = {}
    for away in elsewhere.values():
        by_target[away["target"]] = by_target.get(away["target"], 0) + 1
    where = ", ".join(f"{n:,} rendered against {shown(t)}" for t, n in sorted(by_target.items()))
    return (f"not reused: {where} (the manifest's record of another target); "
            "they run again here, and nothing of theirs is polled or adopted")


def _r(cr: dict) -> Range:
    return Range(cr["min"], cr["max"])
