"""The sandbox's Samsar: the video, image and create_movie routes, the /v2 omni and step routes, and their reads.

``routes(state)`` is what ``renderer.providers.samsar.SANDBOX`` mounts: the v1 API under
``/v1`` and the v2 routes beside it under ``/v2``, as on the real host.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from starlette.routing import BaseRoute

from renderer.providers.samsar.stand_in import image, receipts, requests, status, step, video
from renderer.sandbox.state import SandboxState


def routes(state: SandboxState) -> Mapping[str, Sequence[BaseRoute]]:
    # Status routes first: the router scans in order and polls outnumber submissions.
    return {
        "/v1": [*status.routes(state, "v1"), *video.routes(state, "v1"), *image.routes(state, "v1"),
                *receipts.routes(state), *requests.routes(state, "v1")],
        "/v2": [*status.routes(state, "v2"), *step.routes(state), *video.routes(state, "v2"),
                *image.routes(state, "v2"), *requests.routes(state, "v2")],
    }
