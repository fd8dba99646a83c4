"""What a finished job gives its dependants: ``Outputs`` from a journal row.

``duration`` is what pricing downstream needs (a translate of a 30 s video costs
3 x 30 credits): the requested duration for text-to-video and create_movie; the
source's for translate, clone, subtitles, outro and footer; the sum for a join
(all of these come exact out of the planner's price once the upstreams are known);
for an image-list video, whose length the server decides, the credits charged
divided by the per-second rate, else the estimate when it is exact.
"""

from __future__ import annotations

from typing import Any, Mapping

from renderer import providers
from renderer.execute.journal import Submission
from renderer.plan.model import Outputs
from renderer.providers.base import Price, PriceContext, Route


def job_duration(route: Route, body: Any, price: Price, charged: float | None, table: Mapping[str, Any]) -> float | None:
    if route.family in ("text_to_video", "create_movie"):
        inner = body.get("input", body) if isinstance(body, Mapping) else {}
        d = inner.get("duration") if isinstance(inner, Mapping) else None
        if isinstance(d, (int, float)) and not isinstance(d, bool):
            return float(d)
    if route.family == "image_list_to_video" and charged:
        # the per-second rate of this very body (model, avatar, CTA add-ons): its price for 1 s
        unit = providers.module(route).price(route, body, PriceContext(table, {"duration": 1}))
        if unit.credits is not None and unit.credits.is_exact and unit.credits.max:
            return charged / unit.credits.max
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
