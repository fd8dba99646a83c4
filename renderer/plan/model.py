"""Records of a plan: what the planner produces and the executor consumes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from renderer.vocabulary import Price, Range

if TYPE_CHECKING:
    from renderer.plan.resolve import Resolver
    from renderer.campaign.campaign import Campaign

Action = Literal["run", "reuse", "skip", "cancelled"]


class Instance(NamedTuple):
    """One request the run would make.

    A typed named tuple, not a frozen dataclass like the other records: a plan makes
    one per instance, and a frozen dataclass's constructor (a ``object.__setattr__``
    per field) cost 1.1 us of the 10 a 100,000-instance plan spends on each; a tuple
    costs 0.25. Immutable and typed alike; ``_replace`` stands for ``replace``.
    """

    id: str  # "teaser[city=lisbon,language=es]"
    job: str  # "teaser"
    endpoint: str
    matrix: Mapping[str, Any]
    needs: tuple[str, ...]  # upstream instance ids
    body: Any  # the request body as the docs show it; may hold Pending values
    pending: bool  # the body depends on upstream outputs not known yet
    input_sha256: str | None  # of the resolved body; None while pending
    price: Price
    action: Action = "run"
    reuse_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """A self-contained value: what to run, and how to render pending bodies at run time."""

    campaign: Campaign
    instances: tuple[Instance, ...]  # in dependency order
    by_id: Mapping[str, Instance] = field(default_factory=dict)
    resolver: Resolver | None = None  # renders pending instances once their upstreams finish
    price_table: Mapping[str, Any] = field(default_factory=dict)  # built-in prices with the campaign's merged in
    warnings: tuple[Any, ...] = ()  # renderer.errors.CampaignWarning: allowed, but worth a look

    def rerun_cancelled(self) -> "Plan":
        """The same plan, sending again the jobs a manifest records as cancelled."""
        from dataclasses import replace

        insts = tuple(i._replace(action="run", reuse_reason=None) if i.action == "cancelled" else i for i in self.instances)
        return replace(self, instances=insts, by_id={i.id: i for i in insts})

    @property
    def to_run(self) -> list[Instance]:
        return [i for i in self.instances if i.action == "run"]

    def credits(self) -> Range | None:
        """What the plan would spend: the sum over instances it runs; None if any is unknown."""
        from renderer.vocabulary import add_ranges

        return add_ranges([i.price.credits for i in self.to_run])
