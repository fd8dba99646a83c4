"""From a campaign to a plan: instances, their needs, bodies, prices and actions.

``build_plan`` is shared by ``plan`` and ``run``; ``check_plan`` (``validate``, which
only wants the errors) walks the same instances the same way and keeps none. Both
collect every error before raising ``Invalid``: one broken job does not hide the
problems of the next. An error that every instance of a job repeats at the same
place is reported once, naming the first instance.

The walk is the hot path of a 100,000-instance plan: what a job's instances share
(its validator, pricer, listed values) is looked up once per job (``_Hot``), a
request is serialized once (its size and its hash come from the same bytes), and
ids and matrix values come from the axes one instance at a time (``Expansion``).
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from typing import Any

from renderer import jsonfast, providers
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
from renderer.plan.matrix import MatrixLimits, expansion
from renderer.plan.model import Action, Instance, Plan
from renderer.plan.pending import Filled, fill
from renderer.plan.render import CompiledJob, InstanceRenderer, Link, canonical_sha256
from renderer.plan.resolve import Resolver
from renderer.plan.templates import Compiler, Needs, PendingOutputs, TemplateLimits, is_exact, static_of
from renderer.vocabulary import JobStatus, Outputs, Pending, Price, PriceContext, Range, Route
from renderer.campaign import schemas
from renderer.campaign.campaign import Campaign, JobSpec

# a job with `approve: manual`: how its price is spent (renderer.execute.approval)
GATED = ("approve: manual: the render stops at its approval point; the run admits this price before it is "
         "sent, holds only what the API charged while it waits, and admits the rest when it is approved")

__all__ = ["PlanLimits", "Planner", "build_plan", "canonical_sha256", "check_plan"]


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


@dataclass(frozen=True, slots=True)
class _Hot:
    """What every instance of one job needs, looked up once per job (not per instance)."""

    job: CompiledJob
    validator: Callable[[Any], bool]  # the route schema's fast yes/no
    known: tuple[tuple[str, frozenset[Any], schemas.Known], ...]  # fields with values the docs list
    price: Callable[[Route, Any, PriceContext], Price]
    uploads: bool  # a field of its bodies may be a local file: its digest is part of the input
    exact: bool  # its bodies hold no float the JSON encoders write differently
    price_context: PriceContext | None  # when its `estimate` is the same for every instance
    pending_inside: bool  # pending values can only be in the checked part (`input`): the rest is constant


class Planner:
    """Holds a campaign's compiled templates; renders instances now or at run time.

    ``build`` keeps every instance (a ``Plan``); ``check`` (validate) renders and checks
    each one and keeps none of them: no hash, no price, no plan.
    """

    def __init__(self, campaign: Campaign, limits: PlanLimits = PlanLimits()) -> None:
        self.campaign = campaign
        self.limits = limits
        self.compiler = Compiler(limits.templates)
        self.renderer = InstanceRenderer(campaign)
        self.table = providers.price_table(campaign.pricing)
        self.jobs: dict[str, CompiledJob] = {}
        self.instances: dict[str, Instance] = {}
        self.errors: list[UserError] = []
        # (where, message) -> the first warning and in how many instances it was found
        self.warnings: dict[tuple[Any, ...], tuple[CampaignWarning, int]] = {}
        self._job_names = frozenset(campaign.jobs)  # to tell a missing `needs:` from a typo
        self._no_needs = Needs({}, self._job_names)  # of every instance without needs (templates cannot change it)
        self._vars_exact = jsonfast.exact(campaign.vars)
        self._request_chars = 0
        self._links = 0
        self._outputs: dict[str, Any] = {}  # instance id -> outputs a reused instance recorded
        self._durations: dict[str, Range | None] = {}  # what a reused instance measured
        self._session_durations: dict[str, Range] = {}
        self._previous = Manifest()

    # -- building --------------------------------------------------------------

    def build(self, manifest: Manifest | Mapping[str, Any] | None = None, select: Iterable[str] = ()) -> Plan:
        c = self.campaign
        self._previous = previous = Manifest.coerce(manifest)
        ordered: list[Instance] = []
        self._walk(ordered)
        if self.errors:
            raise Invalid(self.errors)
        plan = Plan(c, tuple(ordered), self.instances, resolver=self.resolver(), price_table=self.table,
                    warnings=self._warnings())
        if select:
            plan = _select(plan, list(select), c, previous)
        return plan

    def check(self) -> tuple[CampaignWarning, ...]:
        """Every error of every instance, as ``build`` finds them, keeping no instance: validate."""
        self._walk(None)
        if self.errors:
            raise Invalid(self.errors)
        return self._warnings()

    def _walk(self, ordered: list[Instance] | None) -> None:
        """Expand, render and check every instance, job by job in dependency order;
        ``ordered`` (when given) receives them, in order."""
        instance_budget = self.limits.matrix.max_instances
        broken: set[str] = set()
        for spec in _topological(self.campaign.jobs):
            if any(n in broken for n in spec.needs):
                broken.add(spec.name)  # its upstream failed to expand; no second error
                continue
            before = len(self.errors)
            job = self._prepare(spec, instance_budget)
            if job is None or len(self.errors) > before:
                broken.add(spec.name)
                continue
            self.jobs[spec.name] = job
            instance_budget -= job.expansion.count
            if not self._instances_of(self._hot(job), ordered):
                broken.add(spec.name)
            self._warn_cancel_after_needs(spec)

    def _instances_of(self, hot: _Hot, ordered: list[Instance] | None) -> bool:
        """Every instance of one job; False when one of them failed (its errors are kept)."""
        job = hot.job
        spec = job.spec
        # ids key the manifest: two requests may not share one (remembered only where they could)
        seen: set[str] | None = None if job.expansion.unique else set()
        job_errors: dict[tuple[Any, ...], list[UserError]] = {}
        clean = True
        for iid, values in job.expansion:
            if seen is not None:
                if iid in seen:
                    self.errors.append(SchemaError(
                        f"matrix names instance {iid} twice; the values that name instances "
                        "(a data row's id, else its first column) must be unique",
                        self.campaign.loc("jobs", spec.name, "matrix", instance=iid)))
                    clean = False
                    continue
                seen.add(iid)
            try:
                inst = self._instance(hot, iid, values, ordered is not None)
            except UserError as exc:
                job_errors.setdefault((exc.location.with_instance(None), exc.message), []).append(exc)
                clean = False
                continue
            except Invalid as exc:
                for e in exc.errors:
                    job_errors.setdefault((e.location.with_instance(None), e.message), []).append(e)
                clean = False
                continue
            if inst is not None and ordered is not None:
                ordered.append(inst)
                self.instances[iid] = inst
                if inst.action == "reuse":
                    self._reused(iid, self._previous.jobs[iid])
        self._summarise(job_errors)
        return clean

    def _hot(self, job: CompiledJob) -> _Hot:
        route = job.spec.route
        known = tuple((name, frozenset(k.values), k) for name, k in schemas.known_values(route.schema).items())
        estimate = static_of(job.render_estimate)
        context = PriceContext(self.table, estimate[0] or {}, self._duration_of) if estimate is not None else None
        # values a plain lookup yields as they are: the campaign's (the outputs of needs may hold any)
        context_exact = not job.links and self._vars_exact and job.expansion.exact()
        exact = is_exact(job.render_input, context_exact) and is_exact(job.render_extras, context_exact)
        return _Hot(job, schemas.fast_check(route.schema), known, providers.of(route).price,
                    providers.of(route).UPLOADS is not None, exact, context,
                    not route.wrap_input or static_of(job.render_extras) is not None)

    def _warnings(self) -> tuple[CampaignWarning, ...]:
        """One warning per place: a language in a template of 500 instances is said once."""
        out = []
        for first, n in self.warnings.values():
            if n > 1:
                first = CampaignWarning(f"{first.message} (and in {n - 1} more instance(s))", first.location)
            out.append(first)
        return tuple(sorted(out, key=lambda w: w.location.sort_key()))

    def _warn(self, key: tuple[Any, ...], message: str, where: Location) -> None:
        found = self.warnings.get(key)
        self.warnings[key] = (found[0], found[1] + 1) if found else (CampaignWarning(message, where), 1)

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
            self._warn((where, message), message, where)

    def _warn_unknown(self, hot: _Hot, iid: str, inner: Any) -> None:
        """Values the docs do not list for this route (a language code): allowed, but said."""
        spec = hot.job.spec
        for name, listed, known in hot.known:
            value = inner.get(name)
            if isinstance(value, str) and value not in listed:
                message = (f"{name}: {value!r} is not one the docs list for {spec.endpoint} "
                           f"({', '.join(map(str, known.values))}); {known.consequence()}")
                self._warn_at(spec, iid, (name,), message)

    def _warn_at(self, spec: JobSpec, iid: str, path: tuple[Any, ...], message: str) -> None:
        """A warning about a field of an instance's input, said once per place and message."""
        where = self.campaign.doc.loc(("jobs", spec.name, "input", *path), instance=iid)
        self._warn((where.with_instance(None), message), message, where)

    def _reused(self, iid: str, entry: Any) -> None:
        """A reused instance's outputs, and what its finished render measured."""
        self._outputs[iid] = Outputs.from_manifest(entry).as_dict()
        measured = self.instances[iid].price.duration
        if entry.duration is not None:
            measured = self._durations[iid] = Range.exact(entry.duration)
        for sid in (entry.session_id, entry.request_id):  # follow-ups name either
            if isinstance(sid, str) and sid and measured is not None:
                self._session_durations[sid] = measured

    def _duration_of(self, ref: Any) -> Range | None:
        """The duration of the video a body field names: an upstream instance's (pending), or a session's."""
        if isinstance(ref, Pending):
            if ref.instance in self._durations:
                return self._durations[ref.instance]
            inst = self.instances.get(ref.instance)
            return inst.price.duration if inst is not None else None
        return self._session_durations.get(ref) if isinstance(ref, str) else None

    def resolver(self) -> Resolver:
        """What the run needs to render pending instances, without the planner."""
        return Resolver(self.campaign, self.table, dict(self.jobs), self.instances)

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
            found = expansion(spec.name, spec.matrix, c.doc, c.folder, self.limits.matrix, budget_left=budget)
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
        job = CompiledJob(spec, found, compiled[0], compiled[1], compiled[2])
        for need in spec.needs:
            up = self.jobs[need].expansion
            shared = tuple(k for k in found.keys if k in up.keys)
            fan_in = any(k not in found.keys for k in up.keys)
            job.links.append(Link.to(up, shared, fan_in))
        return job

    def _instance(self, hot: _Hot, iid: str, values: dict[str, Any], keep: bool) -> Instance | None:
        """Render and check one instance; with ``keep``, price and hash it too (``_planned``)."""
        job = hot.job
        spec = job.spec
        if job.links:
            needs_ctx, needs_ids = self._needs(job, iid, values)
            needs = Needs(needs_ctx, self._job_names)
        else:
            needs_ids, needs = (), self._no_needs
        body, estimate = self.renderer.render(job, iid, {"vars": self.campaign.vars, "matrix": values, "needs": needs})
        inner = body.get("input", body) if spec.route.wrap_input else body
        filled = None
        if needs_ids:  # only needs make values pending; each must be one this instance needs (not a forged marker)
            filled = fill(inner if hot.pending_inside else body, needs_ids if len(needs_ids) < 8 else frozenset(needs_ids),
                          lambda: self.campaign.loc("jobs", spec.name, "input", instance=iid))
            if not hot.pending_inside and inner is not body:  # the checked part: `input`
                filled = Filled(filled.value.get("input", filled.value), filled.layout, filled.unknown)
        pending = filled is not None and bool(filled.layout)
        # the request as it is hashed: its size bounds the campaign before the schema check and the hash
        text = b""
        cap = self.limits.max_request_chars
        if self._request_chars <= cap:  # past the bound, no request is written out again
            doc = {"endpoint": spec.endpoint, "body": body}
            text = jsonfast.canonical(doc, exact=hot.exact) if not pending else jsonfast.written(doc)
            self._request_chars += len(text)
        if self._request_chars > cap:
            raise LimitError(f"the requests of this campaign add up to more than {cap} bytes; the limit is {cap} "
                             "(max_request_chars)", self.campaign.loc("jobs", spec.name, "input", instance=iid))
        if pending:  # the fast check with placeholders; the full one once per layout, or to word errors
            passes = self.renderer.pending_checks.passes(spec.name, spec.route.schema, filled) is True
            remarks = self.renderer.remarks(job, iid, inner) if passes else self.renderer.check(job, iid, body, pending, filled)
        elif hot.validator(inner):
            remarks = self.renderer.remarks(job, iid, inner)
        else:
            remarks = self.renderer.check(job, iid, body, pending)
        for remark in remarks:  # what the provider allows but doubts
            self._warn_at(spec, iid, remark.path, remark.message)
        if hot.known:
            self._warn_unknown(hot, iid, inner)
        if keep:
            return self._planned(hot, iid, values, needs_ids, body, estimate, None if pending else text)
        if hot.uploads:  # validate: the file must be there; its digest waits for the plan
            self.renderer.local_files(spec, iid, body, digest=False)
        return None

    def _planned(self, hot: _Hot, iid: str, values: dict[str, Any], needs_ids: tuple[str, ...], body: Any,
                 estimate: Mapping[str, Any], text: bytes | None) -> Instance:
        """A checked instance priced, hashed (``text``: its canonical request, None while pending) and
        matched with the manifest."""
        spec = hot.job.spec
        price = hot.price(spec.route, body, hot.price_context or PriceContext(self.table, estimate, self._duration_of))
        if spec.approve == "manual":
            price = replace(price, assumptions=(*price.assumptions, GATED))
        sha = None
        if text is not None:
            sha = self.renderer.sha256(spec, iid, body) if hot.uploads else hashlib.sha256(text).hexdigest()
        action: Action = "run"
        reason: str | None = None
        previous = self._previous
        if previous.jobs:
            if previous.reusable(iid, sha):
                action, reason = "reuse", "completed in the manifest with the same input"
            elif sha and (old := previous.get(iid)) is not None and old.status == JobStatus.CANCELLED and old.input_sha256 == sha:
                action, reason = "cancelled", "cancelled in the manifest with the same input; run --rerun-cancelled sends it again"
        return Instance(iid, spec.name, spec.endpoint, values, needs_ids, body, text is None, sha, price, action, reason)

    def _needs(self, job: CompiledJob, iid: str, values: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
        ctx: dict[str, Any] = {}
        ids: list[str] = []
        for link in job.links:
            matched = link.matches(values)
            if not matched:
                shown = ", ".join(f"{k}={values[k]}" for k in link.shared if k in values)
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
            outputs = self._upstream_outputs if self._outputs else PendingOutputs  # nothing reused: all pending
            if link.fan_in:
                ctx[link.upstream] = [outputs(m) for m in matched]
            else:
                ctx[link.upstream] = outputs(matched[0])
        return ctx, tuple(ids)

    def _upstream_outputs(self, iid: str) -> Any:
        """Known outputs of a reused instance, else its pending outputs."""
        known = self._outputs.get(iid)
        return known if known is not None else PendingOutputs(iid)

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


def check_plan(campaign: Campaign, limits: PlanLimits = PlanLimits()) -> tuple[CampaignWarning, ...]:
    """What ``build_plan`` would refuse (``Invalid``), found instance by instance and
    keeping none: validate's memory does not grow with the instances. Its warnings."""
    with collector_paused():
        return Planner(campaign, limits).check()


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
    instances = tuple(i if (i.id in chosen or i.action == "reuse") else i._replace(action="skip") for i in plan.instances)
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
