"""`renderer run FILE`: submit, poll, and write the manifest on every way out.

It checks everything it can before the first request (campaign, plan, budget,
keys, the journal's lock), then drives the ``Scheduler`` and writes the manifest
on normal end, 402, errors and Ctrl-C alike. The manifest is derived from the
journal, which is the truth.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TextIO, cast

import httpx

from renderer import manifest as M
from renderer import providers
from renderer import targets as T
from renderer.commands.common import Settings, append_step_summary
from renderer.commands.confirm import Ask, ask_before_paying
from renderer.figures import final_line
from renderer.errors import BudgetExceeded, UsageError, UserError
from renderer.execute import manifest as run_manifest
from renderer.execute import inflight, outcome, statedir
from renderer.execute.moved import find_moved
from renderer.execute.console import RunOutput
from renderer.execute.crash_hook import kill_after_commit
from renderer.execute.driver import execute, sigint_deferred
from renderer.execute.durable import check_manifest_campaign, write_manifest
from renderer.execute.sandboxed import sandbox_urls
from renderer.execute.scheduler import RunOptions, Scheduler
from renderer.execute.scrub import Scrubber
from renderer.execute.settings import (
    SETTINGS_ENV,
    ExecSettings,
    all_provider_settings,
    settings_from_env,
    with_timeouts,
)
from renderer.execute.spending import budget_lines, ended_over, opening, run_limit
from renderer.execute.stores import run_store
from renderer.plan import planfile
from renderer.plan.planner import build_plan
from renderer.money import budget_message, ways_out
from renderer.plan.views import summarise
from renderer.results import runhooks as R
from renderer.sandbox.config import SandboxConfig
from renderer.campaign.campaign import load_campaign


def run(
    file: str,
    out: TextIO,
    env: Mapping[str, str],
    *,
    settings: Settings = Settings(),
    manifest: str | None = None,
    select: Sequence[str] = (),
    sandbox: bool = False,
    detach: bool = False,
    resubmit_unknown: bool = False,
    state_dir: str | None = None,
    sandbox_credits: int | None = None,
    job_timeout: float | None = None,
    run_timeout: float | None = None,
    reviewed_plan: str | None = None,
    max_credits: float | None = None,
    rerun_cancelled: bool = False,
    moved_from: str | None = None,
    exec_settings: ExecSettings | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    sandbox_config: SandboxConfig | None = None,
    outputs: str | None = None,
    junit: str | None = None,
    warnings: list[UserError] | None = None,
    ask: Ask | None = None,
) -> int:
    """Submit, poll, write the manifest. Exit 0 all completed, 1 some not (or a timeout, or a closed output), 3 over budget, 130 interrupted.

    ``reviewed_plan``: a plan file (``plan --out``) to run exactly, or nothing (StalePlan);
    ``max_credits``: lowers ``budget.max_credits`` for this run; ``rerun_cancelled``: send
    cancelled jobs again; ``moved_from``: the path the campaign file had before it moved,
    whose record it keeps (``renderer.execute.moved``). Warnings about the campaign are
    appended to ``warnings``.

    ``sandbox``: a rehearsal against the local stand-in, with its own manifest
    (``<stem>.sandbox.manifest.json``) and journal: it never changes the real record.
    Only manifest entries of this run's target (``renderer.targets``) are reused, adopted
    or polled. ``ask``: the question before paying (``renderer.commands.confirm``), when
    there is someone to ask. ``state_dir``: default the one the last run of the campaign used
    (``renderer.execute.statedir``), else ``.renderer``."""
    if sandbox_credits is not None and not sandbox:
        raise UsageError("--sandbox-credits sets the balance of the --sandbox stand-in; without --sandbox it "
                         "cannot take effect (the real API keeps your account's balance)")
    xs = exec_settings or settings_from_env(env)
    if sandbox and exec_settings is None and not env.get(SETTINGS_ENV):
        xs = xs.for_sandbox()
    scrubber = Scrubber.from_env(env)  # every key of the environment, whoever sent it
    output = RunOutput(out, scrubber)
    text_out = cast(TextIO, output)  # a TextIO in every way the run uses one
    campaign = load_campaign(file, settings.yaml)
    xs = with_timeouts(xs, campaign.timeouts, job_timeout, run_timeout)
    manifest_path = Path(manifest) if manifest else M.default_path(file, sandbox)
    _check_manifest_kind(manifest_path, file, sandbox)
    targets = T.for_campaign(campaign, env, sandbox)
    state = statedir.resolve(state_dir, file, campaign.name, sandbox)
    found = find_moved(file, campaign.name, state, manifest_path, manifest_given=manifest is not None,
                       moved_from=moved_from, target=T.key(targets))  # a campaign that moved keeps its record
    recorded = found.manifest or manifest_path
    previous = T.seen_from(M.load(recorded, required=False), targets)
    check_manifest_campaign(previous, campaign.name, recorded)
    plan, _ = build_plan(campaign, previous, select, settings.plan)
    if warnings is not None:
        warnings.extend(plan.warnings)
    if rerun_cancelled:
        plan = plan.rerun_cancelled()
    if reviewed_plan:  # the reviewed plan, or nothing: checked before anything is sent
        planfile.check(planfile.load(Path(reviewed_plan)),
                       planfile.plan_record(plan, summarise(plan, previous, targets=targets), recorded),
                       Path(reviewed_plan))
    limit = run_limit(campaign.budget, max_credits)
    needed = sorted({providers.provider_of(i.endpoint) for i in plan.instances if i.action == "run"})
    options = RunOptions(detach=detach, resubmit_unknown=resubmit_unknown, rerun_cancelled=rerun_cancelled)
    where = R.outputs_dir(outputs, campaign)  # a bad outputs.dir fails before anything starts
    downloads = None if where is None else R.RunDownloads.create(
        where, manifest_path, state, previous, (transports or {}).get(R.DOWNLOADS_TRANSPORT), env, plan.instances)
    with contextlib.ExitStack() as stack:
        # the journal of this run's target with its lock held: SQLite under the state dir (and a lock
        # beside .git), or the shared store
        journal, notes = stack.enter_context(run_store(file, campaign.name, manifest_path, state, env,
                                                       durable_intents=xs.durable_intents,
                                                       after_commit=kill_after_commit(env), sandbox=sandbox,
                                                       target=T.key(targets),
                                                       default_target=T.key(T.for_campaign(campaign, {}, False)),
                                                       previous=previous, resubmit_unknown=resubmit_unknown,
                                                       moved=found.journal))
        notes[:0] = found.notes
        statedir.remember(file, campaign.name, state, sandbox)  # status, report, cancel find it there
        journal.set_meta({"campaign": campaign.name, "campaign_path": str(Path(file).resolve()),
                          "campaign_sha256": campaign.sha256, "targets": T.key(targets)})
        # the manifest is the record, with the POSTs named beside it that it may not know yet
        intents = inflight.read(recorded)
        summary, budget, adopted = opening(plan, previous, journal, limit, rerun_cancelled, manifest_path, targets,
                                           intents)
        notes += [adopted] if adopted else []
        if summary.over_budget:
            raise BudgetExceeded(budget_message(plan, summary))
        ask_before_paying(ask, summary, targets, sandbox)
        urls: Mapping[str, str] = stack.enter_context(
            sandbox_urls(campaign, xs, sandbox_config, state_dir=state, credits=sandbox_credits,
                         warnings=warnings, downloads=downloads)) if sandbox else {}
        if downloads is not None:
            downloads.allow(urls.values())  # the sandbox's own files, and nothing else of this machine
        table = plan.price_table
        # every missing key fails here, all at once, before anything is sent
        conf = all_provider_settings(campaign.providers, needed, env, sandbox_urls=urls, price_table=table)
        box: list[Scheduler] = []
        aborted = aborted_late = False
        snapshots = run_manifest.Snapshots(campaign, previous, scrubber.value,
                                           lambda doc: R.attach(doc, downloads, previous), targets)

        def record(sched: Scheduler) -> Callable[[], None]:
            """Built now (what changed since the last time), written by what it returns (in a
            worker thread, while the run goes on)."""
            text = snapshots.text(sched)
            return lambda: write_manifest(manifest_path, text, fsync=False)  # the journal is fsynced

        named = inflight.Inflight(manifest_path)
        try:
            aborted = execute(plan, journal, conf, xs, options, previous, text_out, notes, transports or {}, box,
                              downloads, budget, scrubber, record, named)
        finally:
            if box:
                with sigint_deferred() as late:  # a Ctrl-C now must not cut the manifest short
                    result = run_manifest.build(box[0], campaign, previous, targets)
                    data = scrubber.value(R.attach(result.to_json(), downloads, previous))
                    write_manifest(manifest_path, data)
                    for beside in {named.path, inflight.path_for(recorded)}:
                        beside.unlink(missing_ok=True)  # every POST it names is in the manifest now
                aborted_late = bool(late)
        sched = box[0]
        over = ended_over(sched.budget, result.charged_in_all())
        outcome.report(text_out, sched.notes, result, manifest_path,
                       budget_lines(sched.budget, result.charged_in_all(), ways_out(campaign.path, campaign.budget, limit)),
                       final_line(result, sched.spent_before, sched.clock() - sched.started))
        R.report_lines(text_out, data, downloads, file, sandbox)
        if junit:
            R.write_junit(junit, data, sched.clock() - sched.started)
        append_step_summary(env, scrubber.text(outcome.markdown(data, sched.spent_before)
                                               + R.summary_markdown(plan, data)))
        if aborted or aborted_late:
            return 130
        if sched.budget.refused or over:
            return 3  # stopped by the budget, or ended above it: what and why was said above
        code = outcome.exit_code(result, options)
        if box[0].timed_out or output.broken:
            return max(code, 1)  # cut short (run timeout, nobody reading): say so in the exit code too
        return 1 if code == 0 and R.download_failures(data) else code


def _check_manifest_kind(path: Path, file: str, sandbox: bool) -> None:
    """A rehearsal never writes the real manifest, nor a real run the rehearsal's."""
    if sandbox and path.resolve() == M.default_path(file).resolve():
        raise UsageError(f"--manifest {path} is the campaign's real manifest; --sandbox writes a rehearsal's own "
                         f"({M.default_path(file, sandbox=True)}) so that it never changes the real record")
    if not sandbox and path.name.endswith(M.SANDBOX_SUFFIX):
        raise UsageError(f"--manifest {path} is a rehearsal's manifest (written by `run --sandbox`); a run against "
                         "the real API writes the real one: pass another --manifest, or add --sandbox")
