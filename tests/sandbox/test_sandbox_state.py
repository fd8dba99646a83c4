"""Idempotency-Key, duplicate detection, counters, and the control API's state and clock."""

from __future__ import annotations

import httpx

from helpers.sandbox_requests import OTHER_KEY, TEXT_TO_VIDEO, make_video, status

SUBMIT = "/video/text_to_video"
BODY = {"input": TEXT_TO_VIDEO}


def test_idempotency_key_replays_the_first_answer_and_charges_once(sandbox, samsar: httpx.Client) -> None:
    key = {"Idempotency-Key": "abc"}
    first = samsar.post(SUBMIT, json=BODY, headers=key)
    again = samsar.post(SUBMIT, json=BODY, headers=key)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["x-credits-charged"] == first.headers["x-credits-charged"] == "300"
    assert again.headers["x-credits-remaining"] == first.headers["x-credits-remaining"]
    assert again.headers["Idempotent-Replayed"] == "true"
    c = sandbox.state.counters
    assert c.credits_charged["samsar"] == 300 and c.accepted[f"samsar{SUBMIT}"] == 1 and c.idempotent_replays == 1
    assert len(sandbox.state.sessions) == 1


def test_idempotency_key_with_another_body_is_422(samsar: httpx.Client) -> None:
    key = {"Idempotency-Key": "abc"}
    assert samsar.post(SUBMIT, json=BODY, headers=key).status_code == 200
    other = samsar.post(SUBMIT, json={"input": {**TEXT_TO_VIDEO, "duration": 20}}, headers=key)
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["message"]
    # the same key on another route is another request too
    assert samsar.post("/image/enhance", json={"image_url": "https://x.test/a.png"}, headers=key).status_code == 422


def test_idempotency_keys_are_per_api_key_and_flat_equals_wrapped(sandbox, clients) -> None:
    mine, theirs = clients(sandbox.base_urls["samsar"]), clients(sandbox.base_urls["samsar"], OTHER_KEY)
    key = {"Idempotency-Key": "k1"}
    a = mine.post(SUBMIT, json=BODY, headers=key).json()
    assert mine.post(SUBMIT, json=TEXT_TO_VIDEO, headers=key).json() == a  # flat body: same request
    assert theirs.post(SUBMIT, json=BODY, headers=key).json() != a


def test_failed_requests_do_not_burn_an_idempotency_key(make_sandbox, clients) -> None:
    sb = make_sandbox(credits=100)
    samsar = clients(sb.base_urls["samsar"])
    key = {"Idempotency-Key": "k"}
    assert samsar.post(SUBMIT, json=BODY, headers=key).status_code == 402
    assert samsar.post(SUBMIT, json={"input": {**TEXT_TO_VIDEO, "duration": 3}}, headers=key).status_code == 200


def test_duplicates_count_identical_accepted_bodies_per_key_and_route(sandbox, clients) -> None:
    mine, theirs = clients(sandbox.base_urls["samsar"]), clients(sandbox.base_urls["samsar"], OTHER_KEY)
    for _ in range(3):
        mine.post(SUBMIT, json=BODY)
    theirs.post(SUBMIT, json=BODY)
    mine.post(SUBMIT, json={"input": {**TEXT_TO_VIDEO, "duration": 11}})
    mine.post("/image/enhance", json={"image_url": "https://x.test/a.png"})
    assert dict(sandbox.state.counters.duplicates) == {"samsar/video/text_to_video": 2}
    mine.post("/video/create", json=BODY)  # the client's alias of the same route
    assert dict(sandbox.state.counters.duplicates) == {"samsar/video/text_to_video": 3}


def test_counters_over_http(sandbox, samsar: httpx.Client, clients) -> None:
    sid = make_video(samsar)
    for _ in range(3):
        status(samsar, sid)
    samsar.get("/image/status", params={"request_id": sid})  # 404: a video id
    samsar.post(SUBMIT, json={"input": {}})  # 400
    state = clients(sandbox.base_url, None).get("/_sandbox/state").json()
    assert state["requests"] == {"POST /v1/video/text_to_video": 2, "GET /v1/status": 3, "GET /v1/image/status": 1}
    assert state["responses"] == {"200": 4, "404": 1, "400": 1}
    assert state["accepted"] == {"samsar/video/text_to_video": 1} and state["accepted_total"] == 1
    assert state["status_reads"] == {"GET /v1/status": 3, "GET /v1/image/status": 1}
    assert state["status_reads_by_id"] == {sid: 3}
    assert state["credits_charged"] == {"samsar": 300}
    assert list(state["credits_remaining"].values()) == [100_000 - 300]
    assert state["sessions"] == {"total": 1, "by_status": {"COMPLETED": 1}}
    assert "test-key" not in str(state)  # accounts are hashes; keys never appear
    assert sandbox.state.snapshot()["requests_total"] == 6


def test_clock_control_moves_sandbox_time(make_sandbox, clients) -> None:
    sb = make_sandbox(render_seconds=120)
    samsar, control = clients(sb.base_urls["samsar"]), clients(sb.base_url, None)
    sid = make_video(samsar)
    assert status(samsar, sid)["status"] == "PENDING"
    assert control.post("/_sandbox/clock", json={"advance": 120}).status_code == 200
    assert status(samsar, sid)["status"] == "COMPLETED"
    assert control.post("/_sandbox/clock", json={"advance": -1}).status_code == 400


def test_unknown_paths_and_methods_answer_json(sandbox, samsar: httpx.Client) -> None:
    assert samsar.get("/nowhere").json() == {"message": "Not Found"}
    assert samsar.get(SUBMIT).status_code == 405
