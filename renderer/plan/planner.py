"""From a campaign to a plan: instances, their needs, bodies, prices and actions.

``build_plan`` is shared by ``validate`` (which only wants the errors), ``plan``
and ``run``. It collects every error before raising ``Invalid``: one broken job
does not hide the problems of the next. An error that every instance of a job
repeats at the same place is reported once, naming the first instance.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from typing import Any

from renderer import providers
from renderer.errors import (
    Invalid,
    LimitError,
    Location,
    BadReference,
    SchemaError,
    UsageError,
    UserError,
    CampaignWarning,
)
from renderer.manifest import Manifest
from renderer.plan.jinja_env import written_size
from renderer.plan.matrix import Combo, MatrixLimits, expand, instance_id
from renderer.plan.model import Action, Instance, Plan
from renderer.plan.render import CompiledJob, InstanceRenderer, Link, canonical_sha256, link_key
from renderer.plan.resolve import Resolver
from renderer.plan.templates import Compiler, Needs, PendingOutputs, TemplateLimits
from renderer.vocabulary import OUTPUT_FIELDS, Outputs, Pending, Price, PriceContext, Range, is_pending
from renderer.campaign import schemas
from renderer.campaign.campaign import Campaign, JobSpec

__all__ = ["PlanLimits", "Planner", "build_plan", "canonical_sha256"]


@dataclass(frozen=True, slots=True)
class PlanLimits:
    matrix: MatrixLimits = MatrixLimits()
    templates: TemplateLimits = TemplateLimits()
    max_errors_per_job: int = 50  # past this, a job's errors are summarised
    # all request bodies, written out: 200,000 instances of a 7 MB constant prompt
    # took an hour to hash, though each instance is fine on its own
    max_request_chars: int = 1_000_000_000
    # instance -> upstream instance links: two 100,000-instance jobs sharing no matrix
    # key would link every instance to every other, 10**10 of them
    max_needs_links: int = 10_000_000


class Planner:
    """Holds a campaign's compiled templates; renders instances now or at run time."""

    def __init__(self, campaign: Campaign, limits: PlanLimits = PlanLimits()) -> None:
        self.campaign = campaign
        self.limits = limits
        self.compiler = Compiler(limits.templates)
        self.renderer = InstanceRenderer(campaign)
        self.table = providers.price_table(campaign.pricing)
        self.jobs: dict[str, CompiledJob] = {}
        self.instances: dict[str, Instance] = {}
        self.contexts: dict[str, dict[str, Any]] = {}  # instance id -> its `matrix`
        self.errors: list[UserError] = []
        self.warnings: dict[tuple[Any, ...], list[CampaignWarning]] = {}  # (where, message) -> one per instance
        self._pending: dict[str, PendingOutputs] = {}
        self._request_chars = 0
        self._links = 0

    # -- building --------------------------------------------------------------

    def build(self, manifest: Manifest | Mapping[str, Any] | None = None, select: Iterable[str] = ()) -> Plan:
        c = self.campaign
        previous = Manifest.coerce(manifest)
        outputs: dict[str, Any] = {}  # instance id -> PendingOutputs | dict of known outputs
        durations: dict[str, Range | None] = {}
        session_durations: dict[str, Range] = {}
        instance_budget = self.limits.matrix.max_instances
        ordered: list[Instance] = []
        broken: set[str] = set()
        for spec in _topological(c.jobs):
            if any(n in broken for n in spec.needs):
                broken.add(spec.name)  # its upstream failed to expand; no second error
                continue
            before = len(self.errors)
            job = self._prepare(spec, instance_budget)
            if job is None or len(self.errors) > before:
                broken.add(spec.name)
                continue
            self.jobs[spec.name] = job
            instance_budget -= len(job.combos or [None])
            job_errors: dict[tuple[Any, ...], list[UserError]] = {}
            for combo in job.combos if job.combos is not None else [None]:
                iid = instance_id(spec.name, combo)
                if iid in self.instances:  # ids key the manifest: two requests may not share one
                    self.errors.append(SchemaError(
                        f"matrix names instance {iid} twice; the values that name instances "
                        "(a data row's id, else its first column) must be unique",
                        c.loc("jobs", spec.name, "matrix", instance=iid)))
                    broken.add(spec.name)
                    continue
                try:
                    inst = self._instance(job, iid, combo, outputs, durations, session_durations, previous)
                except UserError as exc:
                    job_errors.setdefault((exc.location.with_instance(None), exc.message), []).append(exc)
                    broken.add(spec.name)
                    continue
                except Invalid as exc:
                    for e in exc.errors:
                        job_errors.setdefault((e.location.with_instance(None), e.message), []).append(e)
                    broken.add(spec.name)
                    continue
                ordered.append(inst)
                self.instances[iid] = inst
                durations[iid] = inst.price.duration
                if inst.action == "reuse":
                    self._reused(iid, previous.jobs[iid], outputs, durations, session_durations)
            self._summarise(job_errors)
            self._warn_cancel_after_needs(spec)
        if self.errors:
            raise Invalid(self.errors)
        plan = Plan(c, tuple(ordered), self.instances, resolver=self.resolver(), price_table=self.table,
                    warnings=self._warnings())
        if select:
            plan = _select(plan, list(select), c, previous)
        return plan

    def _warnings(self) -> tuple[CampaignWarning, ...]:
        """One warning per place: a language in a template of 500 instances is said once."""
        out = []
        for found in self.warnings.values():
            first = found[0]
            if len(found) > 1:
                first = CampaignWarning(f"{first.message} (and in {len(found) - 1} more instance(s))", first.location)
            out.append(first)
        return tuple(sorted(out, key=lambda w: w.location.sort_key()))

    def _warn_cancel_after_needs(self, spec: JobSpec) -> None:
        """A cancel job that needs the job it cancels starts once that job has finished:
        there is nothing left to cancel, and the request fails."""
        cancel = providers.of(spec.route).CANCEL
        if cancel is None or cancel.route != spec.route:
            return
        cancelled = [n for n in spec.needs if cancel.applies(self.campaign.jobs[n].route)]
        if cancelled:
            message = (f"job {spec.name!r} needs {cancelled[0]!r}, so it starts only once that job's "
                       f"render has finished, when there is nothing left to cancel; to stop a run's "
                       f"renders use `renderer cancel FILE`")
            where = self.campaign.doc.loc(("jobs", spec.name, "needs"))
            self.warnings.setdefault((where, message), []).append(CampaignWarning(message, where))

    def _warn_unknown(self, job: CompiledJob, iid: str, body: Any) -> None:
        """Values the docs do not list for this route (a language code): allowed, but said."""
        route = job.spec.route
        known = schemas.known_values(route.schema)
        inner = body.get("input", body) if route.wrap_input and isinstance(body, dict) else body
        if not known or not isinstance(inner, dict):
            return
        for name, k in known.items():
            value = inner.get(name)
            if isinstance(value, str) and value not in k.values:
                message = (f"{name}: {value!r} is not one the docs list for {job.spec.endpoint} "
                           f"({', '.join(map(str, k.values))}); {k.consequence()}")
                self._warn(job, iid, (name,), message)

    def _warn(self, job: CompiledJob, iid: str, path: tuple[Any, ...], message: str) -> None:
        where = self.campaign.doc.loc(("jobs", job.spec.name, "input", *path), instance=iid)
        self.warnings.setdefault((where.with_instance(None), message), []).append(CampaignWarning(message, where))

    @staticmethod
    def _reused(iid: str, entry: Any, outputs: dict[str, Any], durations: dict[str, Range | None],
                session_durations: dict[str, Range]) -> None:
        """A reused instance's outputs, and what its finished render measured."""
        outputs[iid] = Outputs.from_manifest(entry).as_dict()
        if entry.duration is not None:
            durations[iid] = Range.exact(entry.duration)
        measured = durations[iid]
        for sid in (entry.session_id, entry.request_id):  # follow-ups name either
            if isinstance(sid, str) and sid and measured is not None:
                session_durations[sid] = measured

    def resolver(self) -> Resolver:
        """What the run needs to render pending instances, without the planner."""
        return Resolver(self.campaign, self.table, dict(self.jobs), dict(self.contexts),
                        {iid: i.job for iid, i in self.instances.items()},
                        {iid: i.price.duration for iid, i in self.instances.items()})

    def _summarise(self, job_errors: dict[tuple[Any, ...], list[UserError]]) -> None:
        for (_, message), errs in list(job_errors.items())[: self.limits.max_errors_per_job]:
            first = errs[0]
            if len(errs) > 1:  # the same fault in every instance: say it once
                first = type(first)(f"{message} (and in {len(errs) - 1} more instance(s))", first.location)
            self.errors.append(first)
        hidden = len(job_errors) - self.limits.max_errors_per_job
        if hidden > 0:
            last = next(iter(job_errors.values()))[0]
            self.errors.append(LimitError(f"{hidden} more error(s) in this job not shown", last.location.with_instance(None)))

    def _prepare(self, spec: JobSpec, budget: int) -> CompiledJob | None:
        c = self.campaign
        base = ("jobs", spec.name)
        try:
            combos = expand(spec.name, spec.matrix, c.doc, c.folder, self.limits.matrix, budget_left=budget)
        except UserError as exc:
            self.errors.append(exc)
            return None
        compiled = []
        for key, value in (("input", spec.input), ("extras", dict(spec.extras)), ("estimate", dict(spec.estimate))):
            # extras live beside `input` in the file, not under a key of their own
            prefix = base + ((key,) if key != "extras" else ())
            def where(p: tuple[Any, ...], prefix: tuple[Any, ...] = prefix) -> Location:
                return c.doc.loc(prefix + p)

            try:
                compiled.append(self.compiler.compile(value, where))
            except UserError as exc:
                self.errors.append(exc)
        if len(compiled) < 3:
            return None
        job = CompiledJob(spec, combos, compiled[0], compiled[1], compiled[2])
        for need in spec.needs:
            up = self.jobs[need]
            up_keys = _matrix_keys(up.combos)
            my_keys = _matrix_keys(combos)
            shared = tuple(k for k in my_keys if k in up_keys)
            fan_in = any(k not in my_keys for k in up_keys)
            index: dict[tuple[Any, ...], list[str]] = {}
            up_combos: list[Combo | None] = list(up.combos) if up.combos else [None]
            for combo in up_combos:
                at = link_key(combo.values, shared) if combo else ()
                index.setdefault(at, []).append(instance_id(need, combo))
            job.links.append(Link(need, shared, fan_in, index))
        return job

    def _instance(
        self,
        job: CompiledJob,
        iid: str,
        combo: Combo | None,
        outputs: Mapping[str, Any],
        durations: Mapping[str, Range | None],
        session_durations: Mapping[str, Range],
        previous: Manifest,
    ) -> Instance:
        spec = job.spec
        needs_ctx, needs_ids = self._needs(job, iid, combo, outputs)
        matrix = dict(combo.values) if combo else {}
        ctx = {"vars": self.campaign.vars, "matrix": matrix, "needs": Needs(needs_ctx, frozenset(self.campaign.jobs))}
        body, estimate = self.renderer.render(job, iid, ctx)
        cap = self.limits.max_request_chars
        self._request_chars += written_size(body, cap)  # before the schema check and the hash
        if self._request_chars > cap:
            raise LimitError(f"the requests of this campaign add up to more than {cap} characters; the limit is {cap} "
                             "(max_request_chars)", self.campaign.loc("jobs", spec.name, "input", instance=iid))
        pending = bool(spec.needs) and is_pending(body)  # only needs can make values pending
        if pending:
            _check_pending(body, needs_ids, self.campaign.loc("jobs", spec.name, "input", instance=iid))
        for remark in self.renderer.check(job, iid, body, pending):  # what the provider allows but doubts
            self._warn(job, iid, remark.path, remark.message)
        self._warn_unknown(job, iid, body)

        def duration_of(ref: Any) -> Range | None:
            if isinstance(ref, Pending):
                return durations.get(ref.instance)
            return session_durations.get(ref) if isinstance(ref, str) else None

        module = providers.of(spec.route)
        price = module.price(spec.route, body, PriceContext(self.table, estimate, duration_of))
        sha = None if pending else self.renderer.sha256(spec, iid, body)
        action: Action = "run"
        reason: str | None = None
        if previous.reusable(iid, sha):
            action, reason = "reuse", "completed in the manifest with the same input"
        elif sha and (old := previous.get(iid)) is not None and old.status == "cancelled" and old.input_sha256 == sha:
            action, reason = "cancelled", "cancelled in the manifest with the same input; run --rerun-cancelled sends it again"
        self.contexts[iid] = matrix
        return Instance(iid, spec.name, spec.endpoint, matrix, needs_ids, body, pending, sha, price, action, reason)

    def _needs(self, job: CompiledJob, iid: str, combo: Combo | None, outputs: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
        ctx: dict[str, Any] = {}
        ids: list[str] = []
        for link in job.links:
            key = link_key(combo.values, link.shared) if combo else ()
            matched = link.index.get(key, [])
            if not matched:
                shown = ", ".join(f"{k}={combo.values[k]}" for k in link.shared if k in combo.values) if combo else ""
                raise BadReference(
                    f"no instance of {link.upstream!r} matches this one ({shown or 'no shared matrix keys'})",
                    self.campaign.loc("jobs", job.spec.name, "needs", job.spec.needs.index(link.upstream), instance=iid),
                )
            self._links += len(matched)
            if self._links > self.limits.max_needs_links:
                n = self.limits.max_needs_links
                raise LimitError(f"instances of this campaign need more than {n} upstream instances in all; the limit is {n} "
                                 "(max_needs_links)", self.campaign.loc("jobs", job.spec.name, "needs",
                                                                        job.spec.needs.index(link.upstream), instance=iid))
            ids.extend(matched)
            if link.fan_in:
                ctx[link.upstream] = [self._outputs(m, outputs) for m in matched]
            else:
                ctx[link.upstream] = self._outputs(matched[0], outputs)
        return ctx, tuple(ids)

    def _outputs(self, iid: str, known: Mapping[str, Any]) -> Any:
        """Known outputs of a reused instance, else its (shared) pending outputs."""
        if iid in known:
            return known[iid]
        pending = self._pending.get(iid)
        if pending is None:
            pending = self._pending[iid] = PendingOutputs(iid)
        return pending

    # -- run time --------------------------------------------------------------

    def resolve(self, iid: str, upstream: Mapping[str, Outputs]) -> tuple[Any, str, Price]:
        """Render a pending instance with the outputs of its upstream instances."""
        r = self.resolver()(iid, upstream)
        return r.body, r.input_sha256, r.price


def build_plan(
    campaign: Campaign,
    manifest: Manifest | Mapping[str, Any] | None = None,
    select: Iterable[str] = (),
    limits: PlanLimits = PlanLimits(),
) -> tuple[Plan, Planner]:
    planner = Planner(campaign, limits)
    with collector_paused():
        return planner.build(manifest, select), planner


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a plan is built (or written).

    Planning allocates millions of objects that all live to the end; the
    collector would walk them again and again and find nothing (the planner
    makes no reference cycles). Reference counting still frees everything else.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _matrix_keys(combos: list[Combo] | None) -> tuple[str, ...]:
    """The keys that name a job's instances: its matrix axes (values an include adds
    to existing combinations are not axes), in written order."""
    if not combos:
        return ()
    keys = dict.fromkeys(combos[0].id_keys)
    for combo in combos:
        if combo.id_keys != combos[0].id_keys:  # a combination an include added
            keys.update(dict.fromkeys(combo.id_keys))
    return tuple(keys)


def _check_pending(value: Any, needs_ids: tuple[str, ...], where: Any) -> None:
    """A pending value names an upstream instance of this one, and one of its outputs.

    Pending values travel through template text as "\\x00pending:<id>.<output>\\x00"
    markers; a campaign can write that text itself ("\\0pending:..." in YAML), and a
    forged marker would skip the plan's checks and its price.
    """
    if isinstance(value, Pending):
        if value.instance not in needs_ids or value.output not in OUTPUT_FIELDS:
            raise BadReference(
                f"a value is pending on {value.instance}.{value.output}, which is not an output this instance needs "
                "(a \\0pending marker written in the campaign?)", where)
    elif isinstance(value, list):
        for v in value:
            _check_pending(v, needs_ids, where)
    elif isinstance(value, dict):
        for v in value.values():
            _check_pending(v, needs_ids, where)


def _topological(jobs: Mapping[str, JobSpec]) -> list[JobSpec]:
    """Jobs in dependency order; ties keep file order. Cycles were refused on load."""
    done: set[str] = set()
    out: list[JobSpec] = []
    remaining = sorted(jobs.values(), key=lambda j: j.order)
    while remaining:
        ready = [j for j in remaining if all(n in done for n in j.needs)]
        if not ready:  # pragma: no cover - load_campaign refuses cycles
            break
        for j in ready:
            done.add(j.name)
            out.append(j)
        remaining = [j for j in remaining if j.name not in done]
    return out


def _select(plan: Plan, patterns: list[str], campaign: Campaign, previous: Manifest) -> Plan:
    """--select: fnmatch on instance ids or job names; `x+` adds dependants, `+x` upstreams."""
    chosen: set[str] = set()
    down: dict[str, set[str]] = {}
    for inst in plan.instances:
        for n in inst.needs:
            down.setdefault(n, set()).add(inst.id)
    for pattern in patterns:
        want_down = pattern.endswith("+")
        want_up = pattern.startswith("+")
        core = pattern.strip("+")
        # `[` is literal, so an id copied from the plan (teaser[city=lisbon]) matches
        # itself, and teaser[city=lisbon,*] its languages; * and ? stay wildcards
        glob = core.replace("[", "[[]")
        hits = {i.id for i in plan.instances if fnmatchcase(i.id, glob) or fnmatchcase(i.job, glob)}
        if not hits:
            raise UsageError(f"--select {pattern!r} matches no job or instance id of {campaign.name!r}")
        frontier = set(hits)
        if want_down:
            stack = list(hits)
            while stack:
                for d in down.get(stack.pop(), ()):
                    if d not in frontier:
                        frontier.add(d)
                        stack.append(d)
        if want_up:
            stack = list(hits)
            while stack:
                for u in plan.by_id[stack.pop()].needs:
                    if u not in frontier:
                        frontier.add(u)
                        stack.append(u)
        chosen |= frontier
    instances = tuple(i if (i.id in chosen or i.action == "reuse") else replace(i, action="skip") for i in plan.instances)
    selected = replace(plan, instances=instances, by_id={i.id: i for i in instances})
    _check_selected_upstreams(selected, patterns, previous)
    return selected


def _check_selected_upstreams(plan: Plan, patterns: list[str], previous: Manifest) -> None:
    """A selected job whose upstream is left out and has no finished result could not run:
    refuse it here, so plan says what run would do (it would leave the job not submitted)."""
    for inst in plan.instances:
        if inst.action == "skip":
            continue
        for up in inst.needs:
            entry = previous.get(up)
            if plan.by_id[up].action == "skip" and (entry is None or not entry.completed):
                shown = " ".join(f"--select '+{p.lstrip('+')}'" for p in patterns)
                raise UsageError(f"--select: {inst.id} needs {up}, which is not selected and has no completed "
                                 f"result in the manifest; select its upstreams too ({shown})")
