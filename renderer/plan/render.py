"""Rendering one instance of a job: shared by the planner and the run-time resolver.

A ``CompiledJob`` holds a job's compiled templates and how its instances find
their upstream instances. ``InstanceRenderer`` turns a template context into a
checked request body; it holds nothing but the campaign, so the plan can carry it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from renderer import jsonfast, providers
from renderer.errors import Invalid, SchemaError, UserError
from renderer.plan.matrix import Expansion, ident
from renderer.plan.pending import Filled, Layout, PendingChecks
from renderer.providers.protocol import CheckContext, Remark
from renderer.vocabulary import Pending
from renderer.campaign import schemas
from renderer.campaign.campaign import Campaign, JobSpec
from renderer.campaign.files import confined_path, file_digest, regular_file


@dataclass(frozen=True, slots=True)
class Link:
    """How one job's instances find their instances of one upstream job.

    Either an ``index`` of the upstream's instance ids by the values of the shared keys,
    or, when those values name exactly one upstream instance (they are all its matrix
    keys, and its ids are unique), ``named``: its id written from them, as ``Expansion``
    writes it (no index of every upstream instance to build and keep).
    """

    upstream: str
    shared: tuple[str, ...]
    fan_in: bool  # the upstream has matrix keys this job lacks: a list
    index: Mapping[tuple[Any, ...], list[str]]
    named: tuple[str, tuple[tuple[str, Mapping[Any, str]], ...]] | None = None  # "job[", (key, value -> "key=shown")

    def matches(self, values: Mapping[str, Any]) -> list[str]:
        """The upstream instance ids an instance with these matrix values needs."""
        if self.named is None:
            return self.index.get(link_key(values, self.shared), [])
        head, keys = self.named
        parts = []
        for key, shown in keys:
            value = values.get(key, _ABSENT)
            part = shown.get(value if value.__class__ is str else ident(value)) if value is not _ABSENT else None
            if part is None:
                return []
            parts.append(part)
        return [head + ",".join(parts) + "]"]

    @staticmethod
    def to(upstream: Expansion, shared: tuple[str, ...], fan_in: bool) -> Link:
        """The link to ``upstream``'s instances: named when it can be (see above), else indexed."""
        if upstream.combos is None and upstream.keys and upstream.unique and set(upstream.keys) <= set(shared):
            keys = tuple((k, {ident(v): s for v, s in zip(axis, shown)})
                         for k, axis, shown in zip(upstream.keys, upstream.axes, upstream.shown))
            if all(len(by_value) == len(axis) for (_, by_value), axis in zip(keys, upstream.axes)):  # 1 == True...
                return Link(upstream.job, shared, fan_in, {}, (upstream.job + "[", keys))
        index: dict[tuple[Any, ...], list[str]] = {}
        for up_id, values in upstream:  # made again: a job's instances are not kept to be linked
            index.setdefault(link_key(values, shared), []).append(up_id)
        return Link(upstream.job, shared, fan_in, index)


@dataclass(slots=True)
class CompiledJob:
    spec: JobSpec
    expansion: Expansion  # its instances: ids and matrix values
    render_input: Callable[[Mapping[str, Any]], Any]
    render_extras: Callable[[Mapping[str, Any]], Any]
    render_estimate: Callable[[Mapping[str, Any]], Any]
    links: list[Link] = field(default_factory=list)


def canonical_sha256(endpoint: str, body: Any, files: Mapping[str, str] | None = None) -> str:
    """The identity of a request: endpoint, body, and the content of local files it sends.

    The hash of its canonical JSON (sorted keys, no blanks, UTF-8), as manifests store it.
    """
    doc: dict[str, Any] = {"endpoint": endpoint, "body": body}
    if files:
        doc["files"] = dict(files)
    return hashlib.sha256(jsonfast.canonical(doc)).hexdigest()


_ABSENT = ("\x00absent",)  # a combination an include added may lack a key


def link_key(values: Mapping[str, Any], shared: tuple[str, ...]) -> tuple[Any, ...]:
    key = []
    for k in shared:
        v = values.get(k, _ABSENT)
        key.append(v if v.__class__ is str or v is _ABSENT else ident(v))  # text is its own ident
    return tuple(key)


_PLAN_CONTEXT = CheckContext()  # the planner knows no session's aspect ratio


@dataclass(frozen=True, slots=True)
class InstanceRenderer:
    campaign: Campaign
    # layouts of pending values the full check found clean (renderer/plan/pending.py)
    pending_checks: PendingChecks = field(default_factory=PendingChecks, compare=False, repr=False)

    def render(self, job: CompiledJob, iid: str, ctx: Mapping[str, Any]) -> tuple[Any, Mapping[str, Any]]:
        """The request body and the `estimate` mapping of one instance."""
        try:
            inner, extras, estimate = job.render_input(ctx), job.render_extras(ctx), job.render_estimate(ctx)
        except UserError:
            inner, extras, estimate = self._render_all(job, iid, ctx)  # raises with the errors of all three
        if not isinstance(inner, dict):
            raise SchemaError("input must be a mapping of request fields",
                              self.campaign.loc("jobs", job.spec.name, "input", instance=iid))
        return job.spec.route.body(inner, extras or {}), estimate or {}

    @staticmethod
    def _render_all(job: CompiledJob, iid: str, ctx: Mapping[str, Any]) -> list[Any]:
        """Each of the three renders, collecting every error (one fault does not hide the next)."""
        errors: list[UserError] = []
        values = []
        for fn in (job.render_input, job.render_extras, job.render_estimate):
            try:
                values.append(fn(ctx))
            except UserError as exc:
                errors.append(type(exc)(exc.message, exc.location.with_instance(iid)))
                values.append(None)
        if errors:
            raise Invalid(errors)
        return values

    def check(self, job: CompiledJob, iid: str, body: Any, pending: bool, filled: Filled | None = None) -> list[Remark]:
        """The body against its route's schema, then its provider's rules between fields (``remarks``);
        pending values are judged at run time. Returns the provider's warnings.

        ``filled``: the checked part (``input`` where the docs wrap it) with placeholders for
        its pending values, when made already."""
        route = job.spec.route
        inner = body.get("input", body) if route.wrap_input else body
        clean: tuple[str, Layout] | bool = False
        if pending:  # pending values stand in by their shape; the full check once per layout
            clean = self.pending_checks.passes(job.spec.name, route.schema, filled or inner)
            if clean is True:
                return self.remarks(job, iid, inner)
        elif schemas.is_valid(route.schema, inner):
            return self.remarks(job, iid, inner)
        base = ("jobs", job.spec.name, "input")
        errors: list[UserError] = []
        for v in schemas.check(route.schema, inner):
            if pending and under_pending(inner, v.path):
                continue  # judged again at run time, when the value is known
            # a missing field points at the key of the object that lacks it
            at_key = v.at_key or isinstance(schemas.value_at(inner, v.path), (dict, list))
            errors.append(SchemaError(v.message, self.campaign.doc.loc(base + v.path, key=at_key, instance=iid)))
        if errors:
            raise Invalid(errors)
        if isinstance(clean, tuple):  # this layout passes the full check: the fast one will do
            self.pending_checks.remember(clean)
        return self.remarks(job, iid, inner)

    def remarks(self, job: CompiledJob, iid: str, inner: Any) -> list[Remark]:
        """The provider's rules between fields: errors raise (located like schema errors), warnings return."""
        route = job.spec.route
        if not isinstance(inner, dict):
            return []
        remarks = providers.of(route).check(route, inner, _PLAN_CONTEXT)
        if not remarks:
            return []
        base = ("jobs", job.spec.name, "input")
        errors: list[UserError] = [SchemaError(r.message, self.campaign.doc.loc(base + r.path, key=True, instance=iid))
                                   for r in remarks if not r.warning]
        if errors:
            raise Invalid(errors)
        return list(remarks)

    def local_files(self, spec: JobSpec, iid: str, body: Any, digest: bool = True) -> dict[str, str] | None:
        """Digests of the local files a request uploads: an edited image is a new input.

        ``digest=False`` (validate): only check that each is a regular file within bounds."""
        up = providers.of(spec.route).UPLOADS
        name = body.get(up.field) if up is not None and isinstance(body, dict) else None
        if up is None or not isinstance(name, str):
            return None
        where = self.campaign.loc("jobs", spec.name, "input", up.field, instance=iid)
        path = confined_path(self.campaign.folder, name, up.field, where)
        if not digest:
            regular_file(path, up.field, where)
            return None
        return {up.field: file_digest(path, up.field, where)}

    def sha256(self, spec: JobSpec, iid: str, body: Any) -> str:
        return canonical_sha256(spec.endpoint, body, self.local_files(spec, iid, body))


def under_pending(value: Any, path: tuple[Any, ...]) -> bool:
    """True when the value at ``path``, or one it lies inside, is itself pending.

    A list that merely holds pending items still has a known length, and an
    object with one pending field still misses what it misses: those errors stand.
    """
    for step in path:
        if isinstance(value, Pending):
            return True
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            return False
    return isinstance(value, Pending)

