"""What a finished job gives its dependants: ``Outputs`` from a journal row.

``duration`` is what pricing downstream needs (a translate of a 30 s video costs
3 x 30 credits): what the provider says the job made (``output_duration``: the
requested length, or one derived from the credits charged), else the planner's
estimate when it is exact (a translate keeps its source's length, a join sums).
"""

from __future__ import annotations

from typing import Any, Mapping

from renderer import providers
from renderer.execute.records import Submission
from renderer.vocabulary import Outputs, Price, Route


def job_duration(route: Route, body: Any, price: Price, charged: float | None, table: Mapping[str, Any]) -> float | None:
    measured = providers.of(route).output_duration(route, body, charged, table)
    if measured is not None:
        return measured
    if price.duration is not None and price.duration.is_exact:
        return float(price.duration.max)
    return None


def outputs_of(sub: Submission) -> Outputs:
    return Outputs(
        request_id=sub.request_id,
        session_id=sub.session_id,
        status=sub.public_status,
        result_url=sub.result_url,
        result_urls=sub.result_urls,
        thumbnail_url=sub.thumbnail_url,
        credits_charged=sub.credits_charged,
        duration=sub.duration,
        response=sub.response,
    )
