"""`renderer run FILE`: submit, poll, and write the manifest on every way out.

It checks everything it can before the first request (campaign, plan, budget, keys,
the journal's lock), then drives the scheduler (``renderer.execute.driver``) and hands
how the run went to the steps after it (``renderer.execute.post_run``): the manifest,
derived from the journal (which is the truth) on normal end, 402, errors and Ctrl-C
alike; then what the run says, its reports and its exit code.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO, cast

import httpx

from renderer import providers
from renderer import targets as T
from renderer.campaign.campaign import Campaign, load_campaign
from renderer.commands.common import Settings
from renderer.errors import UsageError, UserError
from renderer.execute import inflight, post_run, statedir
from renderer.execute.budget import Budget
from renderer.execute.console import RunOutput
from renderer.execute.crash_hook import kill_after_commit
from renderer.execute.driver import ExecuteRequest, execute
from renderer.execute.durable import check_manifest_campaign
from renderer.execute.moved import Found, find_moved
from renderer.execute.post_run import Wrapup
from renderer.execute.sandboxed import sandbox_urls
from renderer.execute import approvals
from renderer.execute.scheduler import RunOptions
from renderer.execute.scrub import Scrubber
from renderer.execute.settings import SETTINGS_ENV, ExecSettings, all_provider_settings, settings_from_env, with_timeouts
from renderer.execute.account import AccountGate
from renderer.execute.identity import journal_key
from renderer.execute.spending import Ask, ask_before_paying, close_if_over, open_account, opening, run_limit
from renderer.execute.store import JournalStore
from renderer.execute.stores import run_store, shared_rates
from renderer.manifest import SANDBOX_SUFFIX
from renderer.manifest import default_path as default_manifest_path
from renderer.manifest import load as load_manifest
from renderer.money import budget_message
from renderer.plan import planfile
from renderer.plan.planner import build_plan
from renderer.plan.views import summarise
from renderer.results.runhooks import DOWNLOADS_TRANSPORT, RunDownloads, outputs_dir
from renderer.sandbox.config import SandboxConfig

Transports = Mapping[str, httpx.AsyncBaseTransport]


@dataclass(frozen=True, slots=True)
class RunRequest:
    """What `renderer run` is asked to do: its command line, as one value."""

    file: str  # the campaign
    settings: Settings = Settings()  # bounds for the campaign file
    manifest: str | None = None  # default beside the campaign (a rehearsal's: ``<stem>.sandbox.manifest.json``)
    select: Sequence[str] = ()  # run only these jobs (and what they need)
    sandbox: bool = False  # a rehearsal against the local stand-in, with its own manifest and journal
    detach: bool = False  # submit and exit; a later run polls
    resubmit_unknown: bool = False  # send again what may have been accepted (may pay twice)
    rerun_cancelled: bool = False  # send cancelled jobs again
    moved_from: str | None = None  # the path the campaign had before it moved: its record is kept (``execute.moved``)
    state_dir: str | None = None  # default: the one the last run used (``renderer.execute.statedir``), else .renderer
    sandbox_credits: int | None = None  # the stand-in's balance (with ``sandbox`` only)
    job_timeout: float | None = None  # over the campaign's ``timeouts.job``
    run_timeout: float | None = None  # over the campaign's ``timeouts.run``
    reviewed_plan: str | None = None  # a plan file (``plan --out``) to run exactly, or nothing (StalePlan)
    max_credits: float | None = None  # lowers ``budget.max_credits`` for this run (never raises it)
    outputs: str | None = None  # where result files are downloaded (over the campaign's ``outputs.dir``)
    junit: str | None = None  # where the JUnit report is written
    approve: Sequence[str] = ()  # `approve: manual` jobs to let continue as they stop (recorded in the approvals file)
    yes: bool = False  # do not ask before paying, even at a terminal


def run(request: RunRequest, out: TextIO, env: Mapping[str, str], *, exec_settings: ExecSettings | None = None,
        transports: Transports | None = None, sandbox_config: SandboxConfig | None = None,
        warnings: list[UserError] | None = None, ask: Ask | None = None) -> int:
    """Submit, poll, write the manifest. Exit 0 all completed, 1 some not (or a timeout, or a
    closed output, or the question before paying answered no), 3 over budget, 130 interrupted.

    Only manifest entries of this run's target (``renderer.targets``) are reused, adopted
    or polled. Warnings about the campaign are appended to ``warnings``; ``ask``: the question
    before paying (``renderer.execute.spending``), when someone is there to answer it;
    ``exec_settings``, ``transports`` (by provider) and ``sandbox_config`` are for tests and
    benchmarks."""
    if request.sandbox_credits is not None and not request.sandbox:
        raise UsageError("--sandbox-credits sets the balance of the --sandbox stand-in; without --sandbox it "
                         "cannot take effect (the real API keeps your account's balance)")
    xs = _exec_settings(request, env, exec_settings)
    scrubber = Scrubber.from_env(env)  # every key of the environment, whoever sent it
    output = RunOutput(out, scrubber)
    campaign = load_campaign(request.file, request.settings.yaml)
    xs = with_timeouts(xs, campaign.timeouts, request.job_timeout, request.run_timeout)
    wrapup, limit, state, found = _prepare(request, campaign, env, scrubber, transports or {}, warnings)
    plan = wrapup.plan
    needed = sorted({providers.provider_of(i.endpoint) for i in plan.instances if i.action == "run"})
    with contextlib.ExitStack() as stack:
        journal, notes, budget, account = _open_state(stack, request, wrapup, xs, env, limit, state, found,
                                                      ask)
        rates = None if request.sandbox else shared_rates(env)  # with a shared store: the providers' windows too
        if rates is not None:
            stack.callback(rates.close)
        urls: Mapping[str, str] = stack.enter_context(
            sandbox_urls(campaign, xs, sandbox_config, state_dir=state, credits=request.sandbox_credits,
                         warnings=warnings, downloads=wrapup.downloads)) if request.sandbox else {}
        if wrapup.downloads is not None:
            wrapup.downloads.allow(urls.values())  # the sandbox's own files, and nothing else of this machine
        # every missing key fails here, all at once, before anything is sent
        conf = all_provider_settings(campaign.providers, needed, env, sandbox_urls=urls, price_table=plan.price_table)
        execution = execute(ExecuteRequest(plan, journal, conf, xs, wrapup.options, wrapup.previous, notes,
                                           transports or {}, wrapup.downloads, budget, scrubber,
                                           record=post_run.checkpoints(wrapup),
                                           inflight=inflight.Inflight(wrapup.manifest_path, scrubber.value), account=account,
                                           rates=rates),
                            cast(TextIO, output))  # a TextIO in every way the run uses one
        figures = post_run.record(execution, wrapup)
        return post_run.conclude(execution, figures, wrapup, output, env)


def _exec_settings(request: RunRequest, env: Mapping[str, str], given: ExecSettings | None) -> ExecSettings:
    """The executor's settings: given (tests), else the environment's; a rehearsal polls its quick stand-in often."""
    xs = given or settings_from_env(env)
    if request.sandbox and given is None and not env.get(SETTINGS_ENV):
        xs = xs.for_sandbox()
    return xs


def _prepare(request: RunRequest, campaign: Campaign, env: Mapping[str, str], scrubber: Scrubber,
             transports: Transports, warnings: list[UserError] | None) -> tuple[Wrapup, float | None, str, Found]:
    """The plan against the manifest of this run's targets (a campaign that moved keeps its record),
    checked as far as it can be before the journal is opened; with the run's credit limit, its
    state directory, and the record a moved campaign left."""
    file, sandbox = request.file, request.sandbox
    manifest_path = Path(request.manifest) if request.manifest else default_manifest_path(file, sandbox)
    _check_manifest_kind(manifest_path, file, sandbox)
    targets = T.for_campaign(campaign, env, sandbox)
    state = statedir.resolve(request.state_dir, file, campaign.name, sandbox)
    found = find_moved(file, campaign.name, state, manifest_path, manifest_given=request.manifest is not None,
                       moved_from=request.moved_from, target=T.key(targets))
    recorded = found.manifest or manifest_path
    previous = T.seen_from(load_manifest(recorded, required=False), targets)
    check_manifest_campaign(previous, campaign.name, recorded)
    plan, _ = build_plan(campaign, previous, request.select, request.settings.plan)
    if warnings is not None:
        warnings.extend(plan.warnings)
    if request.rerun_cancelled:
        plan = plan.rerun_cancelled()
    if request.reviewed_plan:  # the reviewed plan, or nothing: checked before anything is sent
        reviewed = Path(request.reviewed_plan)
        planfile.check(planfile.load(reviewed),
                       planfile.plan_record(plan, summarise(plan, previous, targets=targets), recorded), reviewed)
    limit = run_limit(campaign.budget, request.max_credits)
    approvals_path = approvals.default_path(file, sandbox)  # renderer.execute.approvals
    options = RunOptions(detach=request.detach, resubmit_unknown=request.resubmit_unknown,
                         rerun_cancelled=request.rerun_cancelled,
                         approved=approvals.approved_ids(approvals.load(approvals_path)), approve=tuple(request.approve),
                         on_approve=approvals.recorder(approvals_path, campaign.name))
    where = outputs_dir(request.outputs, campaign)  # a bad outputs.dir fails before anything starts
    downloads = None if where is None else RunDownloads.create(
        where, manifest_path, state, previous, transports.get(DOWNLOADS_TRANSPORT), env, plan.instances)
    wrapup = Wrapup(file=file, sandbox=sandbox, campaign=campaign, plan=plan, previous=previous, targets=targets,
                    manifest_path=manifest_path, recorded=recorded, options=options, scrubber=scrubber,
                    downloads=downloads, junit=request.junit, limit=limit)
    return wrapup, limit, state, found


def _open_state(stack: contextlib.ExitStack, request: RunRequest, wrapup: Wrapup, xs: ExecSettings,
                env: Mapping[str, str], limit: float | None, state: str,
                found: Found, ask: Ask | None = None) -> tuple[JournalStore, list[str], Budget, AccountGate | None]:
    """The journal of this run's target with its lock held (SQLite under the state dir and a lock
    beside .git, or the shared store), the manifest's accepted jobs and the POSTs named beside it
    adopted into it, the opening budget and the run's side of ``budget.account``; what is worth
    saying about them. Over the budget (or what the account has left), or when the answer to the
    question before paying is not yes, nothing is sent."""
    campaign, plan, targets = wrapup.campaign, wrapup.plan, wrapup.targets
    journal, notes = stack.enter_context(run_store(
        request.file, campaign.name, wrapup.manifest_path, state, env, durable_intents=xs.durable_intents,
        after_commit=kill_after_commit(env), sandbox=request.sandbox, target=T.key(targets),
        default_target=T.key(T.for_campaign(campaign, {}, False)), previous=wrapup.previous,
        resubmit_unknown=request.resubmit_unknown, moved=found.journal))
    notes[:0] = found.notes
    statedir.remember(request.file, campaign.name, state, request.sandbox)  # status, report, cancel find it there
    journal.set_meta({"campaign": campaign.name, "campaign_path": str(Path(request.file).resolve()),
                      "campaign_sha256": campaign.sha256, "targets": T.key(targets)})
    # the manifest is the record, with the POSTs named beside it that it may not know yet
    intents = inflight.read(wrapup.recorded)
    options = wrapup.options
    summary, budget, adopted = opening(plan, wrapup.previous, journal, limit, request.rerun_cancelled,
                                       wrapup.manifest_path, targets, intents,
                                       approvals.approves(options.approved, options.approve))
    notes += [adopted] if adopted else []
    if summary.over_budget:
        close_if_over(budget, budget_message(plan, summary))
    account = None if request.sandbox else open_account(  # a rehearsal spends from no account
        campaign.budget_account, journal, budget, env, state,
        journal_key(request.file, campaign.name, wrapup.manifest_path, T.key(targets)), summary.new_max)
    if account is not None:
        stack.callback(account.book.close)
        notes.append(account.status.line())
    ask_before_paying(None if request.yes else ask, summary, targets, request.sandbox, account, budget.closed is not None)
    return journal, notes, budget, account


def _check_manifest_kind(path: Path, file: str, sandbox: bool) -> None:
    """A rehearsal never writes the real manifest, nor a real run the rehearsal's."""
    if sandbox and path.resolve() == default_manifest_path(file).resolve():
        raise UsageError(f"--manifest {path} is the campaign's real manifest; --sandbox writes a rehearsal's own "
                         f"({default_manifest_path(file, sandbox=True)}) so that it never changes the real record")
    if not sandbox and path.name.endswith(SANDBOX_SUFFIX):
        raise UsageError(f"--manifest {path} is a rehearsal's manifest (written by `run --sandbox`); a run against "
                         "the real API writes the real one: pass another --manifest, or add --sandbox")
