"""Jobs of a plan made by hand, for the scheduler's parts tested on their own (the DAG gate, the
tally): an ``Instance`` with its needs and price, and each one's in-memory ``JobState``."""

from __future__ import annotations

from renderer.execute.jobs import JobState
from renderer.plan.model import Instance
from renderer.vocabulary import Price, Range

VIDEO, ENHANCE = "samsar/video/text_to_video", "enhancecraft/jobs"


def inst(iid: str, *needs: str, endpoint: str = VIDEO, credits: float | None = 10, action: str = "run") -> Instance:
    price = Price(Range(credits, credits) if credits is not None else None)
    return Instance(iid, iid.split("[")[0], endpoint, {}, tuple(needs), {}, False, "sha-" + iid, price,
                    action)  # type: ignore[arg-type]


def states(*insts: Instance) -> dict[str, JobState]:
    return {i.id: JobState(i) for i in insts}
