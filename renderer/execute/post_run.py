"""After a run: its record, what it says, and its exit code; the one place its final figures are taken.

On every way out the scheduler reached (the run's end, a 402, a task's own error, Ctrl-C),
``record`` builds the manifest from the journal and writes it, holding a Ctrl-C until it
is on disk; the run's own error is raised after that. The manifest (and the figures read
from it, ``Figures``) is then what every later step reads, so each says the same: the
notes, problems and the budget's word on the console (``outcome.report``), the downloads
(``runhooks.report_lines``), the JUnit report, GitHub's step summary, and the exit code
(``conclude``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, cast

from renderer.campaign.campaign import Campaign
from renderer.execute import inflight, outcome
from renderer.execute.console import RunOutput
from renderer.execute.driver import Execution, Recorder, sigint_deferred
from renderer.execute.durable import write_manifest
from renderer.execute.manifest_from_run import Snapshots, build_manifest
from renderer.execute.scheduler import RunOptions, Scheduler
from renderer.execute.scrub import Scrubber
from renderer.execute.spending import budget_lines, ended_over
from renderer.manifest import Manifest
from renderer.plan.model import Plan
from renderer.figures import final_line
from renderer.money import ways_out
from renderer.results import runhooks
from renderer.results.step_summary import append_step_summary

INTERRUPTED = 130  # a second Ctrl-C, or one while the manifest was written
OVER_BUDGET = 3  # the budget stopped the run, or it ended above it: what it charged and held back is said


@dataclass(frozen=True, slots=True)
class Wrapup:
    """What the steps after a run need besides how it went (``driver.Execution``)."""

    file: str  # the campaign file, as the user named it
    sandbox: bool  # a rehearsal (``run --sandbox``)
    campaign: Campaign
    plan: Plan
    previous: Manifest | None  # the manifest the run started from (entries of its targets)
    targets: Mapping[str, str]  # where each provider's jobs went (``renderer.targets``)
    manifest_path: Path  # where the run writes its manifest
    recorded: Path  # the manifest it read: its own, or the one a moved campaign left (``execute.moved``)
    options: RunOptions
    scrubber: Scrubber  # every key of the environment: nothing written holds one
    downloads: runhooks.RunDownloads | None = None  # --outputs
    junit: str | None = None  # --junit PATH
    limit: float | None = None  # this run's credit limit (budget.max_credits, lowered by --max-credits)


@dataclass(frozen=True, slots=True)
class Figures:
    """A run's final figures, taken once when its manifest is written."""

    manifest: Manifest  # derived from the journal
    data: dict[str, Any]  # the manifest as written: downloads attached, keys scrubbed
    charged: float  # credits charged in all, by this run and earlier ones
    over_budget: float  # by how much that ended above the budget (0 within it)
    interrupted: bool  # a Ctrl-C came while the manifest was being written
    before: float = 0.0  # credits.spent of the manifest the run started from: "spent by this run" is the rest
    elapsed: float = 0.0  # the run's wall time, seconds


def checkpoints(wrapup: Wrapup) -> Recorder:
    """What keeps the manifest on disk while the run goes (``renderer.execute.checkpoint``): built on
    the loop (what changed since the last time), written by what it returns, in a worker thread."""
    snapshots = Snapshots(wrapup.campaign, wrapup.previous, wrapup.scrubber.value,
                          lambda doc: runhooks.attach(doc, wrapup.downloads, wrapup.previous), wrapup.targets)

    def snapshot(sched: Scheduler) -> Callable[[], None]:
        text = snapshots.text(sched)
        return lambda: write_manifest(wrapup.manifest_path, text, fsync=False)  # the journal is fsynced

    return snapshot


def record(execution: Execution, wrapup: Wrapup) -> Figures:
    """Write the run's manifest (a Ctrl-C now must not cut it short), then raise the error
    that ended the run, if one did."""
    with sigint_deferred() as late:
        manifest = build_manifest(execution.scheduler, wrapup.campaign, wrapup.previous, wrapup.targets)
        data = wrapup.scrubber.value(runhooks.attach(manifest.to_json(), wrapup.downloads, wrapup.previous))
        write_manifest(wrapup.manifest_path, data)
        for beside in {inflight.path_for(wrapup.manifest_path), inflight.path_for(wrapup.recorded)}:
            beside.unlink(missing_ok=True)  # every POST it names is in the manifest now
    if execution.error is not None:
        raise execution.error
    sched = execution.scheduler
    charged = manifest.charged_in_all()
    return Figures(manifest, data, charged, ended_over(sched.budget, charged), bool(late), sched.spent_before,
                   sched.clock() - sched.started)


def conclude(execution: Execution, figures: Figures, wrapup: Wrapup, out: RunOutput, env: Mapping[str, str]) -> int:
    """Say how the run ended, write its JUnit report and step summary; its exit code."""
    text = cast(TextIO, out)  # a TextIO in every way the reports use one
    sched = execution.scheduler
    campaign = wrapup.campaign
    ways = ways_out(campaign.path, campaign.budget, wrapup.limit)
    account = sched.ctx.account  # budget.account: what it held back, and what it has left
    outcome.report(text, sched.notes, figures.manifest, wrapup.manifest_path,
                   budget_lines(sched.budget, figures.charged, ways) + (account.lines_said() if account is not None else []),
                   ("--sandbox " if wrapup.sandbox else "") + wrapup.file,
                   final_line(figures.data, figures.before, figures.elapsed))  # the manifest's figures, once
    runhooks.report_lines(text, figures.data, wrapup.downloads, wrapup.file, wrapup.sandbox)
    if wrapup.junit:
        runhooks.write_junit(wrapup.junit, figures.data, figures.elapsed)
    summary = outcome.markdown(figures.data, figures.before) + runhooks.summary_markdown(wrapup.plan, figures.data)
    append_step_summary(env, wrapup.scrubber.text(summary))
    return exit_code(execution, figures, wrapup.options, out.broken)


def exit_code(execution: Execution, figures: Figures, options: RunOptions, output_closed: bool) -> int:
    """0 all completed (or submitted, with --detach); 1 some not, a timeout, a closed output or a
    failed download; 3 stopped by the budget or ended above it; 130 interrupted."""
    if execution.aborted or figures.interrupted:
        return INTERRUPTED
    account = execution.scheduler.ctx.account
    if execution.scheduler.budget.refused or figures.over_budget or (account is not None and account.refused):
        return OVER_BUDGET  # stopped by the budget, or ended above it: what and why was said
    code = outcome.exit_code(figures.manifest, options)
    if execution.scheduler.timed_out or output_closed:
        return max(code, 1)  # cut short (run timeout, nobody reading): say so in the exit code too
    return 1 if code == 0 and runhooks.download_failures(figures.data) else code
