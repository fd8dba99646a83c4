"""The sandbox's hostile mode: each kind does what it says, on demand, through the control route."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from helpers.sandbox_requests import KEY, TEXT_TO_VIDEO

from renderer.sandbox import FaultSettings

SUBMIT = ("/video/text_to_video", {"input": TEXT_TO_VIDEO})
IMAGE = ("/image/enhance", {"image_url": "https://cdn.example.com/a.png", "resolution": "2k"})


def hostile(make_sandbox, clients, **settings):
    sb = make_sandbox(faults=FaultSettings(**settings))
    return sb, clients(sb.base_urls["samsar"])


def test_the_control_route_takes_hostile_settings(sandbox, clients) -> None:
    control = clients(sandbox.base_url)
    body = {"rates": {"echo_auth": 1.0}, "scope": "reads", "read_schedule": {"2": ["trickle", "huge_body"]},
            "trickle_interval": 0.01, "huge_bytes": 1000, "hang_seconds": 1}
    r = control.post("/_sandbox/faults", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["read_schedule"] == {"2": ["trickle", "huge_body"]} and r.json()["scope"] == "reads"
    bad = control.post("/_sandbox/faults", json={"rates": {"echo_everything": 1.0}})
    assert bad.status_code == 400 and "unknown fault kind 'echo_everything'" in bad.json()["message"]


def test_html_502_is_a_gateway_page_and_processes_nothing(make_sandbox, clients) -> None:
    sb, samsar = hostile(make_sandbox, clients, rates={"html_502": 1.0})
    r = samsar.post(SUBMIT[0], json=SUBMIT[1])
    assert r.status_code == 502 and r.headers["content-type"].startswith("text/html") and b"Bad Gateway" in r.content
    assert not sb.state.sessions and sb.state.counters.faults["html_502"] == 1


def test_echo_auth_and_wrong_types_on_reads(make_sandbox, clients) -> None:
    _sb, samsar = hostile(make_sandbox, clients, scope="reads",
                         rates={"echo_auth": 1.0, "bad_thumbnail": 1.0, "int_result_urls": 1.0})
    rid = samsar.post(IMAGE[0], json=IMAGE[1]).json()["request_id"]
    answer = samsar.get("/image/status", params={"request_id": rid}).json()
    assert answer["headers"]["Authorization"] == f"Bearer {KEY}" and KEY in answer["debug"]
    assert isinstance(answer["thumbnail_url"], dict) and answer["result_urls"] == 7


def test_long_error_quotes_the_key_past_the_500th_character(make_sandbox, clients) -> None:
    sb, samsar = hostile(make_sandbox, clients, rates={"long_error_key": 1.0})
    r = samsar.post(SUBMIT[0], json=SUBMIT[1])
    assert r.status_code == 422
    text = r.json()["message"]
    assert text.index(KEY) < 500 < text.index(KEY) + len(KEY)
    assert not sb.state.sessions


def test_credits_inf_and_negative(make_sandbox, clients) -> None:
    _sb, samsar = hostile(make_sandbox, clients, schedule={1: "credits_inf", 2: "credits_negative"})
    first = samsar.post(IMAGE[0], json=IMAGE[1])
    assert first.headers["x-credits-charged"] == "inf" and b"Infinity" in first.content
    second = samsar.post(IMAGE[0], json={**IMAGE[1], "resolution": "4k"})
    assert second.headers["x-credits-charged"] == "-25" and second.json()["creditsCharged"] == -25


def test_never_complete_keeps_every_status_pending(make_sandbox, clients) -> None:
    sb, samsar = hostile(make_sandbox, clients, rates={"never_complete": 1.0}, scope="reads")
    rid = samsar.post(IMAGE[0], json=IMAGE[1]).json()["request_id"]
    sb.state.advance(3600)
    answer = samsar.get("/image/status", params={"request_id": rid}).json()
    assert answer["status"] == "PENDING" and "result_url" not in answer
    assert samsar.get("/image/list", params={"limit": "10"}).json()["sessions"][0]["status"] == "PENDING"


def test_trickle_paces_the_body_and_huge_body_is_huge(make_sandbox, clients) -> None:
    _sb, samsar = hostile(make_sandbox, clients, read_schedule={1: "trickle", 2: "huge_body"},
                         trickle_interval=0.001, huge_bytes=300_000)
    rid = samsar.post(IMAGE[0], json=IMAGE[1]).json()["request_id"]
    with samsar.stream("GET", "/image/status", params={"request_id": rid}) as r:
        chunks = [c for c in r.iter_raw()]
    assert len(chunks) > 20 and json.loads(b"".join(chunks))["request_id"] == rid  # one byte at a time
    big = samsar.get("/image/status", params={"request_id": rid})
    assert len(big.content) > 300_000 and big.json()["status"] == "PENDING"


def test_hang_answers_nothing_until_the_client_gives_up(make_sandbox, clients) -> None:
    sb, samsar = hostile(make_sandbox, clients, schedule={1: "hang"}, hang_seconds=30)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        samsar.post(SUBMIT[0], json=SUBMIT[1], timeout=0.3)
    assert time.monotonic() - started < 5 and not sb.state.sessions
    assert samsar.post(SUBMIT[0], json=SUBMIT[1]).status_code == 200  # the next one is served


def test_result_url_merge_and_headers_rewrite_answers(make_sandbox, clients) -> None:
    """Issue 21's hostile answers: result URLs of the API's choosing, echoes merged in, odd headers."""
    merge = {"message": "echo", "details": {"nested": ["x"]}}
    sb, samsar = hostile(make_sandbox, clients, scope="all", rates={"result_url": 1.0, "merge": 1.0},
                         schedule={1: ["http_429", "headers"]}, headers={"Retry-After": "1e9"},
                         result_url="file:///etc/passwd", merge=merge)
    refused = samsar.post(IMAGE[0], json=IMAGE[1])
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1e9"  # the fault's own header replaced
    rid = samsar.post(IMAGE[0], json=IMAGE[1]).json()["request_id"]
    sb.state.advance(60)
    answer = samsar.get("/image/status", params={"request_id": rid}).json()
    assert answer["status"] == "COMPLETED" and answer["result_url"] == "file:///etc/passwd"
    assert answer["message"] == "echo" and answer["details"] == {"nested": ["x"]}
    assert sb.state.counters.faults["headers"] == 1


def test_result_files_turn_huge_trickling_or_redirected(make_sandbox, clients) -> None:
    sb, _ = hostile(make_sandbox, clients, rates={"huge_file": 1.0}, huge_bytes=3 * 256 * 1024 + 5)
    with httpx.Client() as c:
        r = c.get(f"{sb.base_url}/files/a.png")
        assert r.status_code == 200 and len(r.content) == 3 * 256 * 1024 + 5 and "content-length" not in r.headers
        sb.state.set_faults(FaultSettings(rates={"redirect_file": 1.0}, redirect_to="http://127.0.0.1:9/admin"))
        r = c.get(f"{sb.base_url}/files/a.png")
        assert r.status_code == 302 and r.headers["location"] == "http://127.0.0.1:9/admin"
        sb.state.set_faults(FaultSettings(rates={"trickle_file": 1.0}, trickle_interval=0.0))
        r = c.get(f"{sb.base_url}/files/a.png")
        assert r.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert sb.state.counters.faults["huge_file"] == 1 and sb.state.counters.faults["trickle_file"] == 1
    assert sb.state.counters.requests["GET /files"] == 3
