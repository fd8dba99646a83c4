"""`renderer run`, `renderer status` and `renderer cancel`.

``run`` checks everything it can before the first request (campaign, plan,
budget, keys, the journal's lock), then drives the ``Scheduler`` on one anyio
event loop and writes the manifest on every way out: normal end, 402, errors,
Ctrl-C. The manifest is derived from the journal, which is the truth.

Tuning for tests and benchmarks: ``RENDERER_EXEC_SETTINGS`` in the passed
environment may hold JSON overriding ``ExecSettings`` fields, e.g.
``{"poll": {"initial": 0.05}, "sandbox_render_seconds": 0.2}``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import threading
from pathlib import Path
from typing import Any, Mapping, TextIO

import anyio
import httpx

from renderer import providers
from renderer.commands import Settings, append_step_summary, default_manifest_path, read_manifest
from renderer.plan.report import md_code
from renderer.errors import BudgetExceeded, ConfigError, StateError
from renderer.execute import journal as J
from renderer.execute import manifest as M
from renderer.execute.client import ProviderClient, route_url
from renderer.execute.journal import Journal, journal_path
from renderer.execute.progress import Reporter, Snapshot, reporter_for
from renderer.execute.balance import balance_warnings
from renderer.execute.budget import Budget
from renderer.execute.cancelled import mark_cancelled
from renderer.execute.scheduler import RunOptions, Scheduler
from renderer.execute.spending import budget_lines, prior_spend, run_limit, sent_before
from renderer.plan import planfile
from renderer.execute.settings import ExecSettings, ProviderSettings, provider_settings
from renderer.plan.planner import build_plan
from renderer.plan.report import budget_message, summarise
from renderer.spec.campaign import Campaign, load_campaign

SETTINGS_ENV = "RENDERER_EXEC_SETTINGS"
KILL_ENV = "RENDERER_TEST_KILL_AFTER"  # SIGKILL ourselves after the Nth journal commit (crash tests)
MAX_PROBLEM_LINES = 20


def settings_from_env(env: Mapping[str, str], base: ExecSettings | None = None) -> ExecSettings:
    base = base or ExecSettings()
    raw = env.get(SETTINGS_ENV)
    if not raw:
        return base
    try:
        data = json.loads(raw)
        return _merge(base, data)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{SETTINGS_ENV} is not valid: {exc}") from None


def _merge(obj: Any, data: Mapping[str, Any]) -> Any:
    if not isinstance(data, Mapping):
        raise TypeError("expected a JSON object")
    changes: dict[str, Any] = {}
    names = {f.name for f in dataclasses.fields(obj)}
    for key, value in data.items():
        if key not in names:
            raise TypeError(f"unknown setting {key!r}")
        current = getattr(obj, key)
        changes[key] = _merge(current, value) if dataclasses.is_dataclass(current) else value
    return dataclasses.replace(obj, **changes)


def _kill_hook(env: Mapping[str, str]):
    raw = env.get(KILL_ENV)
    if not raw:
        return None
    n = int(raw)

    def after_commit(count: int) -> None:
        if count == n:
            os.kill(os.getpid(), signal.SIGKILL)

    return after_commit


# -- run ------------------------------------------------------------------------------


def run(
    args: Any,
    out: TextIO,
    env: Mapping[str, str],
    settings: Settings | None = None,
    *,
    exec_settings: ExecSettings | None = None,
    transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
    sandbox_config: Any = None,
) -> int:
    """Submit, poll, write the manifest. Exit 0 all completed, 1 some not, 3 over budget."""
    settings = settings or Settings()
    xs = exec_settings or settings_from_env(env)
    if getattr(args, "sandbox", False) and exec_settings is None and not env.get(SETTINGS_ENV):
        xs = xs.for_sandbox()
    campaign = load_campaign(args.file, settings.yaml)
    manifest_path = Path(args.manifest) if getattr(args, "manifest", None) else default_manifest_path(args.file)
    previous = read_manifest(manifest_path, required=False)
    plan, planner = build_plan(campaign, previous, getattr(args, "select", None) or (), settings.plan)
    if getattr(args, "rerun_cancelled", False):
        plan = plan.rerun_cancelled()
    if getattr(args, "plan", None):  # the reviewed plan, or nothing: before anything is sent
        planfile.check(planfile.load(Path(args.plan)), planfile.plan_record(plan, summarise(plan, previous), manifest_path),
                       Path(args.plan))
    limit = run_limit(campaign.budget, getattr(args, "max_credits", None))
    needed = sorted({providers.route(i.endpoint).provider for i in plan.instances if i.action == "run"})  # type: ignore[union-attr]
    with contextlib.ExitStack() as stack:
        journal = Journal(journal_path(getattr(args, "state_dir", ".renderer"), args.file),
                          durable_intents=xs.durable_intents, after_commit=_kill_hook(env))
        stack.callback(journal.close)
        _, outside = prior_spend(previous, journal)
        budget = Budget(limit, spent_outside=outside)
        budget.load(journal.all())
        summary = summarise(plan, previous, budget=limit, spent=budget.committed,
                            sent=sent_before(plan, journal, getattr(args, "rerun_cancelled", False)))
        if summary.over_budget:
            raise BudgetExceeded(budget_message(plan, summary))
        urls: dict[str, str] = {}
        if getattr(args, "sandbox", False):
            sb = stack.enter_context(_sandbox(campaign, xs, sandbox_config))
            urls = {"samsar": sb.samsar_base_url, "enhancecraft": sb.enhancecraft_base_url}
        table = providers.price_table(campaign.pricing)
        conf = {name: provider_settings(campaign.providers, name, env, sandbox_url=urls.get(name), price_table=table)
                for name in needed}  # a missing key fails here, before anything is sent
        note = journal.acquire_lock()
        journal.set_meta({"campaign": campaign.name, "campaign_path": str(Path(args.file).resolve()),
                          "campaign_sha256": campaign.sha256})
        options = RunOptions(detach=bool(getattr(args, "detach", False)),
                             resubmit_unknown=bool(getattr(args, "resubmit_unknown", False)),
                             rerun_cancelled=bool(getattr(args, "rerun_cancelled", False)))
        scheduler_box: list[Scheduler] = []
        aborted = False
        try:
            aborted = anyio.run(_execute, plan, planner, journal, conf, xs, options, previous, out, note,
                                transports or {}, scheduler_box, budget)
        finally:
            if scheduler_box:
                with _sigint_deferred() as late:  # a Ctrl-C now must not cut the manifest short
                    data = M.build(scheduler_box[0], campaign, previous)
                    M.write(manifest_path, data)
                aborted_late = bool(late)
        sched = scheduler_box[0]
        _report(out, sched, data, manifest_path)
        append_step_summary(env, _markdown(data))
        if aborted or aborted_late:
            return 130
        if sched.budget.refused:
            return 3  # stopped by the budget: what it charged and held back was said above
        return _exit_code(data, options)


@contextlib.contextmanager
def _sigint_deferred():
    """Hold Ctrl-C while the manifest is written; yields a list that is non-empty if one came."""
    seen: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: seen.append(signum))
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _sandbox(campaign: Campaign, xs: ExecSettings, config: Any):
    from renderer.sandbox.config import SandboxConfig
    from renderer.sandbox.server import running_sandbox_sync

    if config is None:
        ec = campaign.providers.get("enhancecraft") if isinstance(campaign.providers, Mapping) else None
        tier = ec.get("tier", "pro") if isinstance(ec, Mapping) else "pro"
        config = SandboxConfig(render_seconds=xs.sandbox_render_seconds, enhancecraft_tier=tier,
                               pricing=dict(campaign.pricing or {}))
    with running_sandbox_sync(config) as sb:
        yield sb


async def _execute(plan, planner, journal, conf: Mapping[str, ProviderSettings], xs: ExecSettings,
                   options: RunOptions, previous, out: TextIO, note: str | None,
                   transports: Mapping[str, httpx.AsyncBaseTransport], box: list, budget: Budget) -> bool:
    clients = {name: ProviderClient(ps, xs.timeouts, transport=transports.get(name)) for name, ps in conf.items()}
    sched = Scheduler(plan, planner, journal, clients, xs, options, previous=previous, budget=budget)
    box.append(sched)
    total = sum(1 for i in plan.instances if i.action != "skip")
    reporter = reporter_for(out, total, xs.progress_interval)
    if note:
        reporter.note(f"note: {note}")
    for warning in await balance_warnings(plan, clients):
        reporter.note(warning)
    interrupts = 0
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(_progress, sched, reporter, xs, options)

            async def on_interrupt() -> None:
                nonlocal interrupts
                interrupts += 1
                if interrupts == 1:
                    reporter.note("interrupted: finishing in-flight submissions; Ctrl-C again to stop at once")
                    sched.interrupt()
                else:
                    sched.abort()

            if threading.current_thread() is threading.main_thread():
                tg.start_soon(_signals, on_interrupt)
            await sched.run()
            tg.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            for c in clients.values():
                await c.aclose()
        reporter.close(_snapshot(sched, options))
    return interrupts > 1


async def _signals(handler) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            await handler()


def _snapshot(sched: Scheduler, options: RunOptions) -> Snapshot:
    charged, committed = sched.credits()
    total = sum(1 for st in sched.jobs.values() if st.inst.action != "skip")
    return Snapshot(sched.counts(), total, charged, committed, sched.clock() - sched.started, options.detach)


async def _progress(sched: Scheduler, reporter: Reporter, xs: ExecSettings, options: RunOptions) -> None:
    while True:
        reporter.update(_snapshot(sched, options))
        await anyio.sleep(min(1.0, xs.progress_interval))


def _exit_code(data: Mapping[str, Any], options: RunOptions) -> int:
    statuses = [e.get("status") for e in data["jobs"].values()]
    if all(s == "completed" for s in statuses):
        return 0
    if options.detach:
        # a clean detach: everything submitted (or waiting on something that is)
        ok = all(s in ("completed", "pending") or (s == "not_submitted" and "still rendering" in (e.get("error") or ""))
                 for s, e in zip(statuses, data["jobs"].values()))
        return 0 if ok else 1
    return 1


def _report(out: TextIO, sched: Scheduler, data: Mapping[str, Any], manifest_path: Path) -> None:
    for text in dict.fromkeys(sched.notes):
        out.write(f"note: {text}\n")
    out.writelines(line + "\n" for line in budget_lines(sched.budget, data["credits"]["spent"]))
    problems = [(iid, e) for iid, e in data["jobs"].items() if e.get("status") not in ("completed", "pending")]
    for iid, e in problems[:MAX_PROBLEM_LINES]:
        out.write(f"{e['status']:>13}  {iid}: {e.get('error') or ''}\n")
    if len(problems) > MAX_PROBLEM_LINES:
        out.write(f"… and {len(problems) - MAX_PROBLEM_LINES} more (see {manifest_path})\n")
    unknown = sum(1 for _, e in problems if e.get("status") == "unknown")
    if unknown:
        out.write(f"{unknown} submission(s) of unknown fate: they may have been charged. Check the provider's "
                  f"dashboard; `renderer run --resubmit-unknown` sends them again (may pay twice).\n")
    out.write(f"manifest: {manifest_path}\n")
    out.flush()


MAX_SUMMARY_PROBLEMS = 50  # a step summary is for people: the manifest has the rest


def _markdown(data: Mapping[str, Any]) -> str:
    """The run for GitHub's step summary: counts, credits, and the jobs that did not complete."""
    lines = [f"### renderer run: {md_code(data['campaign'])}", "", "| status | jobs |", "|---|---:|"]
    lines += [f"| {k} | {v:,} |" for k, v in data["counts"].items()]
    lines += ["", f"credits charged: {data['credits']['charged']:,}"]
    problems = [(iid, e) for iid, e in data["jobs"].items() if e.get("status") not in ("completed", "pending")]
    if problems:
        lines += ["", "| job | status | error |", "|---|---|---|"]
        for iid, e in problems[:MAX_SUMMARY_PROBLEMS]:
            lines.append(f"| {md_code(iid, cell=True)} | {e['status']} | {md_code(e.get('error') or '', cell=True)} |")
        if len(problems) > MAX_SUMMARY_PROBLEMS:
            lines.append(f"\n… and {len(problems) - MAX_SUMMARY_PROBLEMS:,} more in the manifest")
    return "\n".join(lines) + "\n"


# -- status ---------------------------------------------------------------------------


def _open_existing(args: Any) -> Journal:
    path = journal_path(getattr(args, "state_dir", ".renderer"), args.file)
    if not path.exists():
        raise StateError(f"no run state for {args.file} under {getattr(args, 'state_dir', '.renderer')}: nothing has run yet")
    return Journal(path)


def _rows(journal: Journal) -> dict[str, dict[str, Any]]:
    """The latest word on every instance: its last submission, or a newer verdict."""
    out: dict[str, dict[str, Any]] = {}
    for sub in journal.latest_per_instance():
        out[sub.instance_id] = {
            "status": sub.public_status, "endpoint": sub.endpoint, "request_id": sub.request_id,
            "credits_charged": sub.credits_charged, "attempts": sub.attempts, "error": sub.error,
            "result_url": sub.result_url, "updated_at": sub.updated_at,
        }
    for iid, v in journal.verdicts().items():
        known = out.get(iid)
        if known is None or (v.at >= known["updated_at"]):
            out[iid] = {**(known or {}), "status": v.status, "error": v.reason, "updated_at": v.at}
    return dict(sorted(out.items()))


def status(args: Any, out: TextIO, env: Mapping[str, str], settings: Any = None) -> int:
    """Show a run's state from the journal: counts, credits, one line per job."""
    journal = _open_existing(args)
    try:
        rows = _rows(journal)
        counts: dict[str, int] = {}
        for r in rows.values():
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        charged = sum(s.credits_charged or 0 for s in journal.all() if s.state in J.SPENDING)
        running = journal.holder()
        data = {"journal": str(journal.path), "running": running, "counts": dict(sorted(counts.items())),
                "credits": {"charged": charged}, "jobs": rows}
        if getattr(args, "json", False):
            json.dump(data, out, indent=2, sort_keys=True)
            out.write("\n")
            return 0
        if running:
            state = "in progress" if running["running"] else "ended abruptly (the next run resumes it)"
            out.write(f"run {state}: pid {running['pid']} on {running['hostname']} since {running['acquired_at']}\n")
        out.write(", ".join(f"{v} {k.replace('_', ' ')}" for k, v in data["counts"].items()) or "no jobs yet")
        out.write(f"; credits charged {charged:g}\n")
        for iid, r in rows.items():
            extra = r.get("request_id") or ""
            if r.get("error") and r["status"] != "completed":
                extra = (extra + "  " if extra else "") + r["error"]
            out.write(f"{r['status']:>13}  {iid}  {extra}\n")
        return 0
    finally:
        journal.close()


# -- cancel ---------------------------------------------------------------------------

CANCEL_ROUTE = providers.route("samsar/video/cancel_render")


def cancel(args: Any, out: TextIO, env: Mapping[str, str], settings: Any = None, *,
           transport: httpx.AsyncBaseTransport | None = None) -> int:
    """Cancel pending video renders of a run through /video/cancel_render."""
    journal = _open_existing(args)
    try:
        pending = [s for s in journal.latest_per_instance() if s.state == J.ACCEPTED]
        videos = [s for s in pending if _is_video(s.endpoint)]
        others = [s for s in pending if not _is_video(s.endpoint)]
        for s in others:
            out.write(f"{'pending':>13}  {s.instance_id}: {s.endpoint} renders cannot be cancelled\n")
        if not videos:
            out.write("no pending video renders to cancel\n")
            return 0
        sandbox = getattr(args, "sandbox", False)
        manifest_path = Path(args.manifest) if getattr(args, "manifest", None) else default_manifest_path(args.file)
        if sandbox and not env.get("SAMSAR_BASE_URL"):
            for s in videos:
                journal.finish(s, J.CANCELLED, error="cancelled (sandbox run: its stand-in is gone)")
                out.write(f"{'cancelled':>13}  {s.instance_id}\n")
            mark_cancelled(manifest_path, videos, "cancelled (sandbox run: its stand-in is gone)")
            return 0
        conf = provider_settings({}, "samsar", env if not sandbox else {**env, "SAMSAR_API_KEY": "sandbox-key"})
        done: list[J.Submission] = []
        code = anyio.run(_cancel_all, journal, conf, videos, out, transport, done)
        mark_cancelled(manifest_path, done, CANCELLED_BY_USER)
        return code
    finally:
        journal.close()


def _is_video(endpoint: str) -> bool:
    route = providers.route(endpoint)
    return route is not None and route.provider == "samsar" and route.creates_session and route.status_path in (
        "/status", "/external_users/status", "/video/status")


CANCELLED_BY_USER = "cancelled by `renderer cancel`; `renderer run --rerun-cancelled` sends it again"


async def _cancel_all(journal: Journal, conf: ProviderSettings, subs: list[J.Submission], out: TextIO,
                      transport: httpx.AsyncBaseTransport | None, done: list[J.Submission]) -> int:
    client = ProviderClient(conf, transport=transport)
    failures = 0
    assert CANCEL_ROUTE is not None
    try:
        url = route_url(client.base_url, CANCEL_ROUTE)
        for s in subs:
            body = {"input": {"videoSessionId": s.session_id or s.request_id}}
            answer = await client.send("POST", url, json_body=body,
                                       headers={"Idempotency-Key": f"renderer-cancel-{s.session_id or s.request_id}"},
                                       label="cancel")
            if answer.ok:
                done.append(journal.finish(s, J.CANCELLED, response=answer.payload, error=CANCELLED_BY_USER))
                out.write(f"{'cancelled':>13}  {s.instance_id}\n")
            else:
                failures += 1
                out.write(f"{'not cancelled':>13}  {s.instance_id}: {answer.error}\n")
    finally:
        await client.aclose()
    return 1 if failures else 0
