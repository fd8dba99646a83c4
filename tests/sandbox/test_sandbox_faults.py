"""Every fault kind: what the client sees, and what the sandbox recorded."""

from __future__ import annotations

import time

import httpx
import pytest

from renderer.sandbox import FaultSettings
from helpers.sandbox_requests import TEXT_TO_VIDEO, make_video, status

SUBMIT = ("/video/text_to_video", {"input": TEXT_TO_VIDEO})


def with_faults(make_sandbox, **settings):
    return make_sandbox(faults=FaultSettings(**settings))


@pytest.mark.parametrize(("kind", "code", "retry_after"), [
    ("http_429", 429, "1"), ("http_500", 500, None), ("http_502", 502, None), ("http_503", 503, "1"),
])
def test_http_faults(make_sandbox, clients, kind: str, code: int, retry_after: str | None) -> None:
    sb = with_faults(make_sandbox, schedule={1: kind})
    samsar = clients(sb.base_urls["samsar"])
    r = samsar.post(*SUBMIT[:1], json=SUBMIT[1])
    assert r.status_code == code and r.headers.get("Retry-After") == retry_after
    assert "message" in r.json()
    c = sb.state.counters
    assert sum(c.accepted.values()) == 0 and c.credits_charged["samsar"] == 0 and c.faults[kind] == 1
    assert samsar.post(*SUBMIT[:1], json=SUBMIT[1]).status_code == 200  # only the 1st was scheduled


def test_drop_before_processing_records_nothing(make_sandbox, clients) -> None:
    sb = with_faults(make_sandbox, schedule={1: "drop_before"})
    samsar = clients(sb.base_urls["samsar"])
    with pytest.raises(httpx.RemoteProtocolError):
        samsar.post(*SUBMIT[:1], json=SUBMIT[1])
    c = sb.state.counters
    assert sum(c.accepted.values()) == 0 and c.credits_charged["samsar"] == 0 and not sb.state.sessions
    assert c.responses["dropped"] == 1 and c.faults["drop_before"] == 1


def test_drop_after_processing_accepts_and_charges_without_answering(make_sandbox, clients) -> None:
    sb = with_faults(make_sandbox, schedule={1: "drop_after"})
    samsar = clients(sb.base_urls["samsar"])
    with pytest.raises(httpx.RemoteProtocolError):
        samsar.post(*SUBMIT[:1], json=SUBMIT[1])
    c = sb.state.counters
    assert c.accepted["samsar/video/text_to_video"] == 1
    assert c.credits_charged["samsar"] == 300 and len(sb.state.sessions) == 1
    assert c.responses["dropped"] == 1
    # a blind retry renders (and bills) the same video again: the duplicate counter sees it
    assert samsar.post(*SUBMIT[:1], json=SUBMIT[1]).status_code == 200
    assert c.duplicates["samsar/video/text_to_video"] == 1 and c.credits_charged["samsar"] == 600


def test_drop_after_then_idempotent_retry_gets_the_first_answer(make_sandbox, clients) -> None:
    sb = with_faults(make_sandbox, schedule={1: "drop_after"})
    samsar = clients(sb.base_urls["samsar"])
    headers = {"Idempotency-Key": "job-1"}
    with pytest.raises(httpx.RemoteProtocolError):
        samsar.post(*SUBMIT[:1], json=SUBMIT[1], headers=headers)
    retry = samsar.post(*SUBMIT[:1], json=SUBMIT[1], headers=headers)
    assert retry.status_code == 200 and retry.headers["x-credits-charged"] == "300"
    assert [s.id for s in sb.state.sessions.values()] == [retry.json()["session_id"]]
    c = sb.state.counters
    assert c.credits_charged["samsar"] == 300 and c.idempotent_replays == 1 and not c.duplicates


def test_slow_answers(make_sandbox, clients) -> None:
    sb = with_faults(make_sandbox, rates={"slow": 1.0}, delay_seconds=0.2)
    samsar = clients(sb.base_urls["samsar"])
    with pytest.raises(httpx.ReadTimeout):
        samsar.post(*SUBMIT[:1], json=SUBMIT[1], timeout=0.05)
    assert sb.state.counters.faults["slow"] == 1
    started = time.monotonic()
    assert samsar.post(*SUBMIT[:1], json=SUBMIT[1], timeout=5).status_code == 200
    assert time.monotonic() - started >= 0.2


def test_render_failure_fails_after_charging(make_sandbox, clients) -> None:
    sb = with_faults(make_sandbox, rates={"render_failure": 1.0})
    samsar, ec = clients(sb.base_urls["samsar"]), clients(sb.base_urls["enhancecraft"])
    r = samsar.post(*SUBMIT[:1], json=SUBMIT[1])
    assert r.status_code == 200 and r.headers["x-credits-charged"] == "300"
    failed = status(samsar, r.json()["session_id"])
    assert failed["status"] == "FAILED" and failed["expressGenerationError"] and "result_url" not in failed
    image = samsar.post("/image/enhance", json={"image_url": "https://x.test/a.png"}).json()
    assert status(samsar, image["request_id"], "/image/status")["status"] == "FAILED"
    movie = samsar.post("/video/create_movie", json={"input": {"prompt": "p", "image_model": "IMAGEN3", "video_model": "LUMA", "duration": 5}})
    assert status(samsar, movie.json()["request_id"], "/video/status")["status"] == "FAILED"
    job = ec.post("/api/v1/jobs/api", json={"input_key": "k.png", "operations": [{"type": "denoise"}]}).json()
    read = ec.get(f"/api/v1/jobs/api/{job['id']}").json()
    assert read["status"] == "failed" and read["error_message"] and read["output_url"] is None
    assert sb.state.counters.faults["render_failure"] == 4


def test_rate_limit_exhaustion_on_enhancecraft(make_sandbox, clients) -> None:
    sb = with_faults(make_sandbox, schedule={1: "rate_limit_exhausted"}, endpoints=("enhancecraft/jobs",))
    ec = clients(sb.base_urls["enhancecraft"])
    body = {"input_key": "k.png", "operations": [{"type": "denoise"}]}
    r = ec.post("/api/v1/jobs/api", json=body)
    assert r.status_code == 429 and r.headers["X-RateLimit-Remaining"] == "0" and int(r.headers["Retry-After"]) >= 1
    assert ec.get("/api/v1/jobs/api/x").status_code == 429  # the window stays used up
    sb.state.advance(60)
    assert ec.post("/api/v1/jobs/api", json=body).status_code == 200
    assert sb.state.counters.faults["rate_limit_exhausted"] == 1 and sb.state.counters.rate_limited == 2


def test_rates_are_seeded_and_repeatable(make_sandbox, clients) -> None:
    runs = []
    for _ in range(2):
        sb = make_sandbox(seed=7, faults=FaultSettings(rates={"http_500": 0.5}))
        samsar = clients(sb.base_urls["samsar"])
        runs.append([samsar.post("/image/enhance", json={"image_url": "https://x.test/a.png"}).status_code for _ in range(12)])
    assert runs[0] == runs[1] and set(runs[0]) == {200, 500}


def test_scope_decides_whether_status_reads_fail(make_sandbox, clients) -> None:
    sb = make_sandbox()
    samsar = clients(sb.base_urls["samsar"])
    sid = make_video(samsar)
    sb.state.set_faults(FaultSettings(rates={"http_503": 1.0}))
    assert samsar.get("/status", params={"request_id": sid}).status_code == 200
    sb.state.set_faults(FaultSettings(rates={"http_503": 1.0}, scope="all"))
    assert samsar.get("/status", params={"request_id": sid}).status_code == 503


def test_faults_can_target_endpoints(make_sandbox, clients) -> None:
    sb = with_faults(make_sandbox, rates={"http_500": 1.0}, endpoints=("samsar/video/join_videos",))
    samsar = clients(sb.base_urls["samsar"])
    a, b = make_video(samsar), make_video(samsar)
    assert samsar.post("/video/join_videos", json={"input": {"session_ids": [a, b]}}).status_code == 500


def test_control_api(sandbox, clients) -> None:
    control, samsar = clients(sandbox.base_url, None), clients(sandbox.base_urls["samsar"])
    make_video(samsar)  # submission 1 under the old settings
    r = control.post("/_sandbox/faults", json={"schedule": {"2": ["http_502"]}, "retry_after_seconds": 3, "seed": 1})
    assert r.status_code == 200 and r.json()["schedule"] == {"2": ["http_502"]}
    assert control.get("/_sandbox/faults").json()["retry_after_seconds"] == 3
    assert samsar.post(*SUBMIT[:1], json=SUBMIT[1]).status_code == 200  # counted from the change
    assert samsar.post(*SUBMIT[:1], json=SUBMIT[1]).status_code == 502
    bad = control.post("/_sandbox/faults", json={"rates": {"meteor": 0.1}})
    assert bad.status_code == 400 and "meteor" in bad.json()["message"]
    assert control.post("/_sandbox/faults", json={"rates": {"http_500": 2}}).status_code == 400
    assert control.post("/_sandbox/faults", json={"colour": 1}).status_code == 400
    assert control.post("/_sandbox/faults", json={}).json()["rates"] == {}


def test_fault_settings_reject_nonsense() -> None:
    with pytest.raises(ValueError):
        FaultSettings(rates={"http_418": 0.5})
    with pytest.raises(ValueError):
        FaultSettings(schedule={0: "drop_after"})
    with pytest.raises(ValueError):
        FaultSettings(scope="everything")
