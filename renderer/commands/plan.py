"""`renderer plan FILE`: expand, price and show what a run would do."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal, TextIO

from renderer import targets as T
from renderer.commands.common import Settings, append_step_summary
from renderer.errors import BudgetExceeded, Invalid, LoadError, Location, UserError
from renderer.execute import approvals, statedir
from renderer.execute.moved import find_moved
from renderer.manifest import Manifest
from renderer.manifest import default_path as default_manifest_path
from renderer.manifest import load as load_manifest
from renderer.plan import planfile
from renderer.plan.inputs import inputs_text
from renderer.plan.model import Plan
from renderer.plan.planner import build_plan, collector_paused
from renderer.plan.price_overrides import below_documented
from renderer.money import budget_message
from renderer.plan.views import Summary, plan_json_text, summarise
from renderer.review import plan_markdown
from renderer.campaign.campaign import load_campaign

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
    sandbox: bool = False,
    full_plan: str | None = None,
) -> int:
    """Expand, price and show a campaign. Exit 3 (BudgetExceeded) when over budget.

    ``show_inputs``: also the request body of every job to run and, for one the
    manifest holds, the fields that changed. Warnings are appended to ``warnings``.
    ``plan_out``: save the plan for ``run --plan`` (also when over budget: the run
    refuses it then). ``rerun_cancelled``: plan cancelled jobs to be sent again. ``sandbox``:
    plan what ``run --sandbox`` would do, against the rehearsal's own manifest.
    The Markdown (``--markdown``, the step summary) always says why jobs run and what
    changed; with ``--markdown``, ``show_inputs`` adds new jobs' bodies; ``full_plan``
    links the whole plan.

    Only manifest entries of the target this plan runs against (``renderer.targets``: the
    base URLs of ``env``, or the sandbox) are reused; the others are planned anew, saying why."""
    campaign = load_campaign(path, settings.yaml)
    if warnings is not None:
        warnings.extend(below_documented(campaign))
    manifest_path = Path(manifest) if manifest else default_manifest_path(path, sandbox)
    targets = T.for_campaign(campaign, env or {}, sandbox)
    if manifest is None and not manifest_path.exists():  # moved (git mv)? the record it left behind, as run reads it
        state = statedir.resolve(None, path, campaign.name, sandbox)
        manifest_path = find_moved(path, campaign.name, state, manifest_path, target=T.key(targets)).manifest \
            or manifest_path
    previous = T.seen_from(load_manifest(manifest_path, required=manifest is not None), targets)
    other = _other_campaign(previous, campaign.name, manifest_path)
    if other is not None:
        raise Invalid([other])
    the_plan, _ = build_plan(campaign, previous, select, settings.plan)
    if warnings is not None:
        warnings.extend(the_plan.warnings)
    if rerun_cancelled:
        the_plan = the_plan.rerun_cancelled()
    approved = approvals.approves(approvals.approved_ids(approvals.load(approvals.default_path(path, sandbox))))
    summary = summarise(the_plan, previous, targets=targets, approved=approved)
    # a rehearsal's state is local: only a real plan reads the shared store
    shared = None if sandbox else _shared_view(the_plan, previous, path, manifest_path, env or {}, rerun_cancelled,
                                               targets, approved)
    if shared is not None:
        summary = shared[0]
    account = None if sandbox else _account_view(the_plan, path, env or {}, summary.new_max)
    if plan_out:
        planfile.save(Path(plan_out), planfile.plan_record(the_plan, summary, manifest_path))
    wants_summary = bool((env or {}).get("GITHUB_STEP_SUMMARY"))
    # new jobs' bodies only in --markdown --show-inputs: `--json --show-inputs` (the action's full plan)
    # keeps its step summary (the pull-request comment) to reasons and diffs
    markdown = (plan_markdown(the_plan, summary, previous, bodies=show_inputs and fmt == "markdown", full_plan=full_plan)
                if fmt == "markdown" or wants_summary else "")
    if fmt == "json":
        inputs_of = Manifest.coerce(previous) if show_inputs else None
        with collector_paused():  # a few large writes: one per token was a system call each, unbuffered
            for text in plan_json_text(the_plan, summary, inputs_of):
                out.write(text)
        out.write("\n")
    elif fmt == "markdown":
        out.write(markdown)
    else:
        if table_renderer is not None:
            table_renderer(the_plan, summary, out)
        if shared is not None and shared[1]:
            out.write(shared[1] + "\n")
        if account is not None:
            out.write(account[0] + "\n")
        rehearsal = default_manifest_path(path, sandbox=True)
        if not sandbox and manifest is None and not manifest_path.exists() and rehearsal.exists():
            out.write(f"note: {rehearsal} is a rehearsal's record (run --sandbox), not this plan's: this plan is "
                      "for the real API; `plan --sandbox` shows the rehearsal's\n")
        if show_inputs:
            out.write(inputs_text(the_plan, Manifest.coerce(previous), summary.elsewhere))
    if wants_summary:
        append_step_summary(env or {}, markdown)
    if summary.over_budget:
        raise BudgetExceeded(budget_message(the_plan, summary))
    if account is not None and account[1]:
        raise BudgetExceeded(account[1])
    return 0


def _account_view(plan: Plan, path: str, env: Mapping[str, str], new_max: float) -> tuple[str, str | None] | None:
    """``budget.account``: what the account has left (a line) and why the plan cannot fit it, as
    ``run`` would refuse before it sends anything (``account.check_fits``). None without one."""
    name = plan.campaign.budget_account
    if name is None:
        return None
    from renderer.execute.account import check_fits, unknown_account
    from renderer.execute.stores import account_book

    state = statedir.resolve(None, path, plan.campaign.name, False)
    book = account_book(env, state, create=False)
    if book is None:
        raise unknown_account(name, str(Path(state) / "accounts.sqlite"))
    try:
        found = book.status(name)
    finally:
        book.close()
    if not found:
        raise unknown_account(name, book.label)
    return f"{found[0].line()}; this plan may spend up to {new_max:,} more", check_fits(found[0], new_max)


def _shared_view(plan: Plan, previous: Manifest | None, path: str, manifest_path: Path, env: Mapping[str, str],
                 rerun_cancelled: bool, targets: Mapping[str, str],
                 approved: Callable[[str, str | None], bool] | None = None) -> tuple[Summary, str | None] | None:
    """With a shared store (``RENDERER_STATE``): the summary `run` would make, counting every
    submission of the campaign the store holds from any checkout or machine (what run would
    adopt from the manifest is adopted too, in a transaction rolled back: plan writes nothing),
    and a line on the jobs the store already knows. None without a store."""
    from renderer.execute.stores import rehearsal, state_url

    if state_url(env) is None:
        return None
    from renderer.execute.spending import opening, sent_before

    with rehearsal(path, plan.campaign.name, manifest_path, env, T.key(targets)) as store:
        assert store is not None
        summary, _, _ = opening(plan, previous, store, None, rerun_cancelled, manifest_path, targets, (), approved)
        known = sent_before(plan, store, rerun_cancelled) & {i.id for i in plan.to_run}
        note = (f"shared store {store.label}: {len(known):,} of the jobs to run were sent already (from this or "
                "another checkout or machine): run polls or reuses them, and counts their credits") if known else None
    return summary, note


def _other_campaign(previous: Manifest | None, name: str, path: Path) -> LoadError | None:
    """A manifest that records another campaign: `run` refuses to overwrite it, so `plan` fails too."""
    if previous is None or previous.campaign in (None, name):
        return None
    return LoadError(f"manifest records the campaign {previous.campaign!r}, not {name!r}, and run will not "
                     "overwrite it: pass --manifest with this campaign's own manifest (renamed the campaign? "
                     "set the manifest's `campaign` to the new name)", Location(str(path)))
