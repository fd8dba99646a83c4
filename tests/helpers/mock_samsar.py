"""`renderer run` over httpx.MockTransport: a Samsar whose every answer a test scripts."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Callable

import httpx

from helpers.runs import FAST, args_for, run, write_campaign

KEY = "sk_live_MOCK_5e6f7a8b9c"
ENV = {"SAMSAR_API_KEY": KEY, "SAMSAR_BASE_URL": "https://api.mock/v1"}

CAMPAIGN = """
version: 1
name: mock
providers:
  samsar: {{idempotent_keys: {keys}}}
jobs:
  clip:
    endpoint: samsar/video/text_to_video
    input: {{prompt: A clip, image_model: GPTIMAGE2, video_model: RUNWAYML, duration: 5}}
  translated:
    endpoint: samsar/video/translate_video
    needs: [clip]
    input: {{videoSessionId: "{{{{ needs.clip.session_id }}}}", language: es}}
"""


class MockSamsar:
    """Answers POSTs from a script (then 200), and every status read with COMPLETED."""

    def __init__(self, script: list[Callable[[httpx.Request], httpx.Response] | int]) -> None:
        self.script = list(script)
        self.posts: list[httpx.Request] = []
        self.reads = 0
        self.gets: list[str] = []
        self.n = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            self.posts.append(request)
            step = self.script.pop(0) if self.script else 200
            if callable(step):
                return step(request)
            if step != 200:
                return httpx.Response(step, json={"message": f"status {step}"}, headers={"Retry-After": "0"} if step == 429 else {})
            self.n += 1
            rid = f"vid_{self.n}"
            return httpx.Response(200, json={"request_id": rid, "session_id": rid}, headers={"x-credits-charged": "150"})
        self.reads += 1
        self.gets.append(request.url.path)
        rid = request.url.params.get("request_id")
        return httpx.Response(200, json={"request_id": rid, "session_id": rid, "status": "COMPLETED",
                                         "result_url": f"https://cdn/{rid}.mp4"})


def go(tmp_path: Path, mock: MockSamsar, keys: bool = False, **kw) -> tuple[int, str, dict]:
    path = write_campaign(tmp_path, CAMPAIGN.format(keys="true" if keys else "false"))
    out = io.StringIO()
    code = run(**args_for(path, **kw), out=out, env=ENV, exec_settings=FAST,
               transports={"samsar": httpx.MockTransport(mock)})
    return code, out.getvalue(), json.loads(path.with_name("camp.manifest.json").read_text())


def raise_(exc):
    def step(request):
        raise exc("lost", request=request)

    return step


def keys_of(mock: MockSamsar) -> list[str]:
    return [r.headers["idempotency-key"] for r in mock.posts]
