"""Pending values at run time: a plan carries a ``Resolver``, not the planner.

An instance whose body holds outputs of its upstreams (``Pending`` values) is
rendered again once those are known. The resolver holds only what that takes:
the campaign, the price table, the compiled jobs and the plan's instances (their
matrix values, and the durations the plan expected of the upstreams).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from renderer import providers
from renderer.plan.model import Instance
from renderer.plan.render import CompiledJob, InstanceRenderer
from renderer.plan.templates import Needs
from renderer.vocabulary import Outputs, Price, PriceContext, Range
from renderer.campaign.campaign import Campaign


@dataclass(frozen=True, slots=True)
class Resolved:
    body: Any
    input_sha256: str
    price: Price


@dataclass(frozen=True, slots=True)
class Resolver:
    campaign: Campaign
    table: Mapping[str, Any]
    jobs: Mapping[str, CompiledJob]
    instances: Mapping[str, Instance]  # by id: the plan's (not a copy)

    def __call__(self, iid: str, upstream: Mapping[str, Outputs]) -> Resolved:
        """Render a pending instance with the outputs of its upstream instances."""
        inst = self.instances[iid]
        job = self.jobs[inst.job]
        combo_values = inst.matrix
        known = {k: v.as_dict() for k, v in upstream.items()}
        ctx_needs: dict[str, Any] = {}
        for link in job.links:
            matched = link.matches(combo_values)
            ctx_needs[link.upstream] = [known[m] for m in matched] if link.fan_in else known[matched[0]]
        ctx = {"vars": self.campaign.vars, "matrix": combo_values, "needs": Needs(ctx_needs, frozenset(self.campaign.jobs))}
        renderer = InstanceRenderer(self.campaign)
        body, estimate = renderer.render(job, iid, ctx)
        renderer.check(job, iid, body, pending=False)
        by_session = self._durations(upstream)

        def duration_of(ref: Any) -> Range | None:
            return by_session.get(ref) if isinstance(ref, str) else None

        module = providers.of(job.spec.route)
        price = module.price(job.spec.route, body, PriceContext(self.table, estimate, duration_of))
        return Resolved(body, renderer.sha256(job.spec, iid, body), price)

    def _durations(self, upstream: Mapping[str, Outputs]) -> dict[str, Range]:
        """What a finished upstream measured, else what the plan expected of it, by session."""
        by_session: dict[str, Range] = {}
        for up_id, o in upstream.items():
            up = self.instances.get(up_id)
            planned = up.price.duration if up is not None else None
            d = Range.exact(o.duration) if o.duration is not None else planned
            for ref in (o.session_id, o.request_id):
                if ref and d is not None:
                    by_session[ref] = d
        return by_session
