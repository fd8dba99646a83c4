"""Answers as untrusted data: shape checks, scrubbing, deadlines, size caps, the breaker, durations."""

from __future__ import annotations

import anyio
import httpx
import pytest

from renderer import providers
from renderer.execute.breaker import Breaker
from renderer.execute.client import ProviderClient, parse_json
from renderer.execute.scrub import Scrubber, keep_fields, secrets_from_env
from renderer.execute.settings import ProviderSettings, Timeouts
from renderer.providers import shapes
from renderer.providers.shapes import ShapeError
from renderer.campaign.durations import format_duration, parse_duration

KEY = "sk_live_ANSWERS_1a2b3c4d5e"
IMAGE = providers.route("samsar/image/enhance")
MOVIE = providers.route("samsar/video/create_movie")
EC = providers.route("enhancecraft/jobs")
samsar, enhancecraft = providers.get("samsar"), providers.get("enhancecraft")


# -- shapes ---------------------------------------------------------------------------


@pytest.mark.parametrize(("payload", "why"), [
    ({"status": "COMPLETED", "result_urls": 7}, "result_urls is a number, not a list of http(s) URLs"),
    ({"status": "COMPLETED", "result_urls": "https://x/a.png"}, "result_urls is a string, not a list of http(s) URLs"),
    ({"status": "COMPLETED", "result_urls": ["https://x/a.png", 3]}, "result_urls[1] is a number, not an http(s) URL"),
    ({"status": "COMPLETED", "result_url": {"u": 1}}, "result_url is an object, not an http(s) URL"),
    ({"status": "COMPLETED", "result_url": "javascript:alert(1)"}, "result_url is a string, not an http(s) URL"),
    ({"status": ["COMPLETED"]}, "status is a list, not a status string"),
    ([1, 2], "the status answer is list, not an object"),
])
def test_samsar_status_of_the_wrong_shape_raises_a_readable_shape_error(payload, why) -> None:
    with pytest.raises(ShapeError) as exc:
        samsar.parse_status(IMAGE, payload)
    assert str(exc.value) == why


def test_optional_and_irrelevant_values_are_ignored() -> None:
    s = samsar.parse_status(IMAGE, {"status": "COMPLETED", "result_url": "https://x/a.png", "thumbnail_url": {"a": 1}})
    assert s.state == "completed" and s.result_urls == ("https://x/a.png",) and s.thumbnail_url is None
    # a pending answer's junk is not used, so it is not judged
    assert samsar.parse_status(IMAGE, {"status": "PENDING", "result_urls": 7}).state == "pending"
    failed = samsar.parse_status(MOVIE, {"status": "FAILED", "message": {"deep": "x" * 5000}})
    assert failed.state == "failed" and len(failed.error or "") <= shapes.MAX_TEXT


def test_submit_ids_must_be_ids() -> None:
    assert samsar.parse_submit(IMAGE, {"request_id": "abc-1"}) == "abc-1"
    assert samsar.parse_submit(IMAGE, {"message": "ok"}) is None
    for bad in ({"request_id": 12}, {"request_id": "x" * 300}, {"session_id": "a\nb"}, {"request_id": {"id": "a"}},
                {"request_id": "a\u2028b"}, {"request_id": "a\x9bb"}):
        with pytest.raises(ShapeError):
            samsar.parse_submit(IMAGE, bad)
    with pytest.raises(ShapeError, match="id is a boolean"):
        enhancecraft.parse_submit(EC, {"id": True})


def test_enhancecraft_status_and_a_path_safe_status_url() -> None:
    assert enhancecraft.parse_status(EC, {"status": "completed", "output_url": "outputs/a.png"}).result_url == "outputs/a.png"
    with pytest.raises(ShapeError, match="output_url is a number"):
        enhancecraft.parse_status(EC, {"status": "completed", "output_url": 5})
    assert enhancecraft.status_request(EC, "a/../b?c")[0] == "/api/v1/jobs/api/a%2F..%2Fb%3Fc"


@pytest.mark.parametrize(("raw", "value", "problem"), [
    ("12", 12, None), (7.5, 7.5, None), (0, 0, None), (None, None, None),
    ("inf", None, "not a finite, non-negative number"), ("Infinity", None, "not a finite"),
    (-25, None, "not a finite"), ("nan", None, "not a finite"), (True, None, "a boolean"), ("x", None, "not a number"),
])
def test_credits_are_finite_and_non_negative(raw, value, problem) -> None:
    got, why = shapes.credits(raw)
    assert got == value
    assert (why is None) if problem is None else (problem in why)


def test_parse_json_keeps_non_finite_numbers_out() -> None:
    assert parse_json(b'{"c": Infinity, "d": NaN, "e": 1e400, "f": 2.5}') == {"c": "Infinity", "d": "NaN", "e": "1e400", "f": 2.5}
    assert parse_json(b"[" * 100000 + b"]" * 100000) is None  # too deep: unreadable, not a crash
    assert parse_json(b"\xff\xfe") is None and parse_json(b"") is None


# -- scrubbing --------------------------------------------------------------------------


def test_scrubber_drops_credential_fields_and_every_key_of_the_environment() -> None:
    env = {"SAMSAR_API_KEY": KEY, "ENHANCECRAFT_API_KEY": "ec_key_9876", "GITHUB_TOKEN": "ghp_abcdef123",
           "AUTH_MODE": "basic", "HOME": "/root"}
    scrub = Scrubber(secrets_from_env(env))
    assert set(scrub.secrets) == {KEY, "ec_key_9876", "ghp_abcdef123"}  # "basic" is too short to be a key
    payload = {"status": "FAILED", "headers": {"Authorization": f"Bearer {KEY}", "x": 1}, "api_key": "zzz",
               "message": f"bad key {KEY} and ec_key_9876", "list": [{"token": "t"}, f"...{KEY}"]}
    assert scrub.value(payload) == {"status": "FAILED", "headers": {"x": 1},
                                    "message": "bad key [redacted] and [redacted]", "list": [{}, "...[redacted]"]}


def test_stored_answers_keep_the_documented_fields_only() -> None:
    payload = {"status": "COMPLETED", "result_url": "https://x/a", "debug": "x", "headers": {}, "creditsCharged": 5}
    assert keep_fields("samsar", payload) == {"status": "COMPLETED", "result_url": "https://x/a", "creditsCharged": 5}
    assert keep_fields("samsar", ["not", "an", "object"]) is None


# -- the client: deadline, size cap, errors ----------------------------------------------


def _client(handler, **timeouts) -> ProviderClient:
    settings = ProviderSettings("samsar", "https://api.test/v1", KEY, base_url_source="SAMSAR_BASE_URL")
    return ProviderClient(settings, Timeouts(**timeouts), transport=httpx.MockTransport(handler))


class _Slow(httpx.AsyncByteStream):
    def __init__(self, chunks: int, pause: float) -> None:
        self.chunks, self.pause = chunks, pause

    async def __aiter__(self):
        for _ in range(self.chunks):
            yield b" "
            await anyio.sleep(self.pause)


def _send(client: ProviderClient, method: str = "GET"):
    async def go():
        try:
            return await client.send(method, "https://api.test/v1/image/status")
        finally:
            await client.aclose()

    return anyio.run(go)


def test_a_trickled_body_is_cut_by_the_total_deadline() -> None:
    client = _client(lambda r: httpx.Response(200, stream=_Slow(1000, 0.01)), total=0.2)
    answer = _send(client)
    assert answer.kind == "retry"
    assert answer.error == "no complete answer from https://api.test/v1/image/status (from SAMSAR_BASE_URL) within 0.2 s"
    client = _client(lambda r: httpx.Response(200, stream=_Slow(1000, 0.01)), total=0.2)
    assert _send(client, "POST").kind == "ambiguous"  # a POST may have been processed


def test_a_body_past_the_cap_is_not_read_on() -> None:
    client = _client(lambda r: httpx.Response(200, stream=_Slow(5000, 0)), max_body_bytes=1000)
    answer = _send(client, "POST")
    assert answer.kind == "ambiguous" and "larger than 1,000 bytes" in answer.error
    declared = _client(lambda r: httpx.Response(200, content=b" " * 2000), max_body_bytes=1000)
    assert _send(declared).kind == "retry"


def test_an_error_quoting_the_key_is_scrubbed_before_it_is_cut() -> None:
    text = "x" * 495 + KEY + "y" * 100
    client = _client(lambda r: httpx.Response(422, json={"message": text}))
    answer = _send(client, "POST")
    assert answer.kind == "rejected" and KEY[:6] not in answer.error and answer.error.endswith("x[reda")


def test_connect_errors_name_the_url_and_its_variable() -> None:
    def refuse(request):
        raise httpx.ConnectError("All connection attempts failed", request=request)

    answer = _send(_client(refuse), "POST")
    assert answer.kind == "retry"
    assert answer.error == ("could not connect to https://api.test/v1/image/status (from SAMSAR_BASE_URL): "
                            "ConnectError: All connection attempts failed")


# -- the breaker, durations ---------------------------------------------------------------


def test_the_breaker_opens_after_threshold_ambiguous_answers_in_a_row() -> None:
    b = Breaker(3)
    assert b.failure("samsar", "HTTP 502") is None and b.failure("samsar", "HTTP 502") is None
    b.success("samsar")  # a clear answer between them: the count starts again
    assert b.failure("samsar", "HTTP 502") is None and b.failure("samsar", "HTTP 502") is None
    why = b.failure("samsar", "HTTP 502: Bad Gateway")
    assert why is not None and why.startswith("samsar looks down: 3 submissions in a row")
    assert b.failure("enhancecraft", "x") is None  # per provider


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("2h", 7200), ("1h30m", 5400),
                                               ("1d", 86400), (45, 45), ("0.5s", 0.5), ("120", 120)])
def test_durations(text, seconds) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "2x", "-5s", 0, True, [1], "h", "400d"])
def test_bad_durations(bad) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


def test_format_duration() -> None:
    assert [format_duration(s) for s in (90, 7200, 5400, 0.5, 45)] == ["1m30s", "2h", "1h30m", "0.5s", "45s"]


def test_non_finite_numbers_never_reach_a_manifest() -> None:
    value = {"a": float("inf"), "b": [float("nan"), 1.5], "c": -float("inf")}
    assert Scrubber().value(value) == {"a": None, "b": [None, 1.5], "c": None}


def test_campaign_timeouts_are_read_and_bad_ones_are_located(tmp_path) -> None:
    from renderer.errors import Invalid
    from renderer.campaign.campaign import load_campaign

    body = "jobs:\n  a:\n    endpoint: samsar/image/enhance\n    input: {image_url: 'https://x.example/a.png'}\n"
    good = tmp_path / "good.yaml"
    good.write_text("version: 1\nname: t\ntimeouts: {job: 90m, run: 6h}\n" + body)
    assert load_campaign(good).timeouts == {"job": 5400.0, "run": 21600.0}
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nname: t\ntimeouts:\n  job: soon\n  run: 0\n" + body)
    with pytest.raises(Invalid) as exc:
        load_campaign(bad)
    assert [str(e) for e in exc.value.errors] == [
        f"{bad}:4:8: timeouts.job: 'soon' is not a duration; write it like 90s, 30m, 2h or 1h30m",
        f"{bad}:5:8: timeouts.run: a duration must be more than 0 seconds, not 0",
    ]
