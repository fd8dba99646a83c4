"""Records of a plan: what the planner produces and the executor consumes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from renderer.providers.base import Price, Range

if TYPE_CHECKING:
    from renderer.manifest import ManifestEntry
    from renderer.plan.resolve import Resolver
    from renderer.campaign.campaign import Campaign

Action = Literal["run", "reuse", "skip", "cancelled"]

# The outputs of a finished instance, as templates see them under `needs.<job>`.
OUTPUT_FIELDS = (
    "request_id", "session_id", "status", "result_url", "result_urls",
    "thumbnail_url", "credits_charged", "duration", "response",
)


@dataclass(frozen=True, slots=True)
class Outputs:
    request_id: str | None = None
    session_id: str | None = None
    status: str | None = None
    result_url: str | None = None
    result_urls: tuple[str, ...] = ()
    thumbnail_url: str | None = None
    credits_charged: float | None = None
    duration: float | None = None
    response: Any = None

    @classmethod
    def from_manifest(cls, entry: ManifestEntry) -> Outputs:
        """The outputs a results manifest recorded for a finished instance."""
        return cls(
            request_id=entry.request_id,
            session_id=entry.session_id,
            status=entry.status,
            result_url=entry.result_url,
            result_urls=entry.result_urls,
            thumbnail_url=entry.thumbnail_url,
            credits_charged=entry.credits_charged,
            duration=entry.duration,
            response=entry.response,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "session_id": self.session_id,
            "status": self.status,
            "result_url": self.result_url,
            "result_urls": list(self.result_urls),
            "thumbnail_url": self.thumbnail_url,
            "credits_charged": self.credits_charged,
            "duration": self.duration,
            "response": self.response,
        }


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
    warnings: tuple[Any, ...] = ()  # renderer.errors.Warning_: allowed, but worth a look

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
        from renderer.providers.base import add_ranges

        return add_ranges([i.price.credits for i in self.to_run])
