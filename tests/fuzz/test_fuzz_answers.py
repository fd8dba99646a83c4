"""Fuzzing the executor with hostile answers (issue 14): random shapes and types in
submit and status payloads, status codes, bodies and credit headers, over
``httpx.MockTransport``. Whatever comes back: no exception escapes, every job ends
in a final state, the manifest is strict JSON and the key shows nowhere.

``RENDERER_FUZZ_EXAMPLES=2000 python -m pytest tests/fuzz/test_fuzz_answers.py`` hunts longer.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import tempfile
from pathlib import Path

import httpx
from helpers.fuzz import FUZZ
from hypothesis import given
from hypothesis import strategies as st

from renderer.commands.run import RunRequest, run
from renderer.execute.settings import (
    ExecSettings,
    PollSettings,
    RetrySettings,
    Timeouts,
)
from renderer.manifest import STATUSES as FINAL_STATUSES

KEY = "sk_live_FUZZ_0d1e2f3a4b5c6d7e"
ENV = {"SAMSAR_API_KEY": KEY, "SAMSAR_BASE_URL": "https://samsar.fuzz/v1",
       "ENHANCECRAFT_API_KEY": KEY, "ENHANCECRAFT_BASE_URL": "https://ec.fuzz"}
CAMPAIGN = """
version: 1
name: fuzz
providers:
  samsar: {concurrency: 2}
  enhancecraft: {requests_per_minute: 100000}
jobs:
  still:
    endpoint: samsar/image/enhance
    matrix: {n: [1, 2]}
    input: {image_url: "https://cdn.example.com/{{ matrix.n }}.png", resolution: 2k}
  movie:
    endpoint: samsar/video/create_movie
    input: {prompt: A heist, image_model: FLUX1.1PRO, video_model: LUMA, duration: 10}
  photo:
    endpoint: enhancecraft/jobs
    input: {input_key: uploads/a.png, operations: [{type: enhance, params: {scale: 2}}]}
"""
XS = ExecSettings(
    retry=RetrySettings(max_attempts=2, base_delay=0.0, max_delay=0.0, max_elapsed=1.0),
    poll=PollSettings(initial=0.0, factor=1.0, max_interval=0.0, list_interval=0.0, job_timeout=1.0),
    timeouts=Timeouts(total=2.0, max_body_bytes=64 * 1024),
    reconcile_delay=0.0, progress_interval=60.0, seed=1, durable_intents=False,
)

FIELDS = ["status", "request_id", "session_id", "id", "result_url", "result_urls", "thumbnail_url", "creditsCharged",
          "message", "sessions", "result", "output_url", "error_message", "videoLink", "Authorization", "headers"]
STATUSES = st.sampled_from(["COMPLETED", "FAILED", "PENDING", "CANCELLED", "completed", "failed", "queued", "processing"])
URLS = st.sampled_from(["https://cdn.example.com/r.png", "http://x", "ftp://x/y", "", "https://", f"https://x/{KEY}"])
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20), STATUSES, URLS,
                    st.just(KEY), st.just(f"Bearer {KEY}"))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=8)), inner, max_size=5)), max_leaves=12)
payloads = st.dictionaries(st.sampled_from(FIELDS), values, max_size=6) | values
answers = st.tuples(
    st.sampled_from([200, 200, 200, 201, 400, 402, 404, 422, 429, 500, 502, 503]),
    st.one_of(payloads.map(lambda v: json.dumps(v).encode()), st.binary(max_size=40),
              st.just(b"<html>502 Bad Gateway</html>"), st.just(b"[" * 5000 + b"]" * 5000)),
    st.one_of(st.none(), st.sampled_from(["inf", "-5", "nan", "1e400", "12", "x"])),
)


class Script:
    """Answers requests from the drawn list, then with plain success."""

    def __init__(self, answers: list[tuple[int, bytes, str | None]]) -> None:
        self.answers = list(answers)
        self.n = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.n += 1
        if self.answers:
            status, body, credits = self.answers.pop(0)
            headers = {"content-type": "application/json"}
            if credits is not None:
                headers["x-credits-charged"] = credits
            return httpx.Response(status, content=body, headers=headers)
        rid = f"req-{self.n}"
        if request.method == "POST":
            return httpx.Response(200, json={"request_id": rid, "id": rid, "status": "PENDING"})
        return httpx.Response(200, json={"status": "COMPLETED", "result_url": "https://cdn.example.com/ok.png",
                                         "output_url": "outputs/ok.png", "sessions": []})


@FUZZ
@given(st.lists(answers, max_size=12), st.lists(answers, max_size=6))
def test_no_answer_crashes_the_executor(samsar: list, ec: list) -> None:
    folder = Path(tempfile.mkdtemp(prefix="renderer-fuzz-answers-"))
    try:
        path = folder / "camp.yaml"
        path.write_text(CAMPAIGN, encoding="utf-8")
        out = io.StringIO()
        transports = {"samsar": httpx.MockTransport(Script(samsar)), "enhancecraft": httpx.MockTransport(Script(ec))}
        code = run(RunRequest(str(path), state_dir=str(folder / ".renderer")), out, ENV, exec_settings=XS, transports=transports)
        assert code in (0, 1), out.getvalue()
        text = (folder / "camp.manifest.json").read_text("utf-8")
        data = json.loads(text, parse_constant=lambda name: math.nan if False else (_ for _ in ()).throw(AssertionError(name)))
        assert len(data["jobs"]) == 4
        for entry in data["jobs"].values():
            assert entry["status"] in FINAL_STATUSES
            charged = entry["credits"]["charged"]
            assert charged is None or (isinstance(charged, (int, float)) and charged >= 0)
            for url in entry["result_urls"]:
                assert url.startswith(("http://", "https://", "outputs/"))
        for file in folder.rglob("*"):
            if file.is_file():
                assert KEY.encode() not in file.read_bytes(), file.name
        assert KEY not in out.getvalue()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
