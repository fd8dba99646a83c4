"""`renderer run` over httpx.MockTransport: exact control of every answer."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from helpers.mock_samsar import KEY, MockSamsar, go, keys_of, raise_
from helpers.runs import FAST


def test_happy_path_sends_key_and_idempotency_key(tmp_path: Path) -> None:
    mock = MockSamsar([])
    code, _, data = go(tmp_path, mock)
    assert code == 0 and data["counts"] == {"completed": 2}
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in mock.posts)
    assert len(set(keys_of(mock))) == 2 and all(k.startswith("renderer-") for k in keys_of(mock))
    body = json.loads(mock.posts[1].content)
    assert body == {"input": {"videoSessionId": "vid_1", "language": "es"}}
    assert data["jobs"]["translated"]["credits"]["charged"] == 150


def test_429_then_success_retries_with_the_same_key(tmp_path: Path) -> None:
    mock = MockSamsar([429, 429])
    code, _, data = go(tmp_path, mock)
    assert code == 0
    assert keys_of(mock)[:3] == [keys_of(mock)[0]] * 3
    assert data["jobs"]["clip"]["attempts"] == 3


def test_connect_error_is_retried(tmp_path: Path) -> None:
    mock = MockSamsar([raise_(httpx.ConnectError)])
    code, _, data = go(tmp_path, mock)
    assert code == 0 and data["jobs"]["clip"]["attempts"] == 2


def test_read_timeout_without_keys_is_unknown_and_sent_once(tmp_path: Path) -> None:
    mock = MockSamsar([raise_(httpx.ReadTimeout)])
    code, out, data = go(tmp_path, mock)
    assert code == 1 and len(mock.posts) == 1
    assert data["jobs"]["clip"]["status"] == "unknown"
    assert "ReadTimeout" in data["jobs"]["clip"]["error"]
    assert data["jobs"]["translated"]["status"] == "not_submitted"


def test_500_without_retry_after_with_keys_is_retried_with_the_same_key(tmp_path: Path) -> None:
    mock = MockSamsar([500, raise_(httpx.RemoteProtocolError)])
    code, _, data = go(tmp_path, mock, keys=True)
    assert code == 0
    assert keys_of(mock)[0] == keys_of(mock)[1] == keys_of(mock)[2]


def test_500_without_keys_is_unknown(tmp_path: Path) -> None:
    mock = MockSamsar([500])
    code, _, data = go(tmp_path, mock)
    assert code == 1 and len(mock.posts) == 1 and data["jobs"]["clip"]["status"] == "unknown"


def test_400_fails_the_job_and_its_dependants_are_not_submitted(tmp_path: Path) -> None:
    mock = MockSamsar([400])
    code, _, data = go(tmp_path, mock)
    assert code == 1 and len(mock.posts) == 1
    assert data["jobs"]["clip"]["status"] == "failed" and "HTTP 400" in data["jobs"]["clip"]["error"]
    assert data["jobs"]["translated"]["status"] == "not_submitted"


def test_401_stops_the_provider_and_never_shows_the_key(tmp_path: Path) -> None:
    mock = MockSamsar([lambda r: httpx.Response(401, json={"message": f"bad key {r.headers['authorization']}"})])
    code, out, data = go(tmp_path, mock)
    assert code == 1 and len(mock.posts) == 1
    assert "refused the API key" in out
    assert KEY not in out and KEY not in json.dumps(data)


def test_answer_without_request_id_is_unknown(tmp_path: Path) -> None:
    mock = MockSamsar([lambda r: httpx.Response(200, json={"ok": True})])
    code, _, data = go(tmp_path, mock)
    assert code == 1 and data["jobs"]["clip"]["status"] == "unknown"


def test_too_many_retries_give_up_as_not_submitted(tmp_path: Path) -> None:
    mock = MockSamsar([429] * 50)
    code, _, data = go(tmp_path, mock)
    assert code == 1
    assert data["jobs"]["clip"]["status"] == "not_submitted"
    assert "none processed" in data["jobs"]["clip"]["error"]
    assert len(mock.posts) == FAST.retry.max_attempts


def test_a_balance_below_what_is_still_to_submit_is_noted(tmp_path: Path) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"request_id": "vid_9", "session_id": "vid_9"},
                              headers={"x-credits-charged": "150", "x-credits-remaining": "10"})

    mock = MockSamsar([answer])
    code, out, _ = go(tmp_path, mock)
    # the translation (5 s at 3/s) still to submit may cost 15; the API says 10 are left
    assert "note: samsar said 10 credits were left (x-credits-remaining) while the jobs then still to submit might " \
           "cost up to 15: submissions stop at the first 402" in out
    assert code == 0 and len(mock.posts) == 2
    assert mock.gets == ["/v1/credits", "/v1/status", "/v1/status"]
