"""What each answer (or its absence) proves, with httpx.MockTransport."""

from __future__ import annotations

import anyio
import httpx
import pytest

from renderer.execute.client import ProviderClient, route_url
from renderer.execute.scrub import Scrubber
from renderer.execute.settings import ProviderSettings
from renderer.providers import route

KEY = "sk_live_SECRET_0123456789"


def client_for(handler) -> ProviderClient:
    return ProviderClient(ProviderSettings("samsar", "https://api.test/v1", KEY), transport=httpx.MockTransport(handler))


def post(handler, **kw):
    async def go():
        c = client_for(handler)
        try:
            return await c.send("POST", "https://api.test/v1/image/enhance", json_body={"image_url": "x"}, **kw)
        finally:
            await c.aclose()

    return anyio.run(go)


def get(handler):
    async def go():
        c = client_for(handler)
        try:
            return await c.send("GET", "https://api.test/v1/status", params={"request_id": "r"})
        finally:
            await c.aclose()

    return anyio.run(go)


def answer(status, body=None, headers=None):
    return lambda request: httpx.Response(status, json=body, headers=headers)


def raising(exc):
    def handler(request):
        raise exc("boom", request=request)

    return handler


@pytest.mark.parametrize(
    "handler,kind",
    [
        (answer(200, {"request_id": "r1"}), "ok"),
        (answer(429, {"message": "slow down"}, {"Retry-After": "2"}), "retry"),
        (answer(503, {"message": "busy"}, {"Retry-After": "1"}), "retry"),
        (answer(503, {"message": "busy"}), "ambiguous"),
        (answer(500, {"message": "oops"}), "ambiguous"),
        (answer(502, None), "ambiguous"),
        (answer(400, {"message": "bad"}), "rejected"),
        (answer(404, {"message": "no"}), "rejected"),
        (answer(402, {"message": "no credits"}), "payment"),
        (answer(401, {"message": "bad key"}), "auth"),
        (lambda r: httpx.Response(200, content=b"<html>"), "ambiguous"),
        (raising(httpx.ConnectError), "retry"),
        (raising(httpx.ConnectTimeout), "retry"),
        (raising(httpx.PoolTimeout), "retry"),
        (raising(httpx.ReadTimeout), "ambiguous"),
        (raising(httpx.WriteTimeout), "ambiguous"),
        (raising(httpx.RemoteProtocolError), "ambiguous"),
        (raising(httpx.ReadError), "ambiguous"),
    ],
)
def test_submission_outcomes(handler, kind) -> None:
    assert post(handler).kind == kind


def test_reads_are_always_safe_to_repeat() -> None:
    assert get(raising(httpx.ReadTimeout)).kind == "retry"
    assert get(answer(500, {})).kind == "retry"
    assert get(answer(404, {"message": "unknown"})).kind == "not_found"


def test_retry_after_is_parsed_and_pauses_the_bucket() -> None:
    async def go():
        c = client_for(answer(429, {}, {"Retry-After": "7"}))
        try:
            a = await c.send("POST", "https://api.test/v1/x", json_body={})
            return a, c.bucket.pauses
        finally:
            await c.aclose()

    a, pauses = anyio.run(go)
    assert a.retry_after == 7.0 and pauses == 1


def test_credits_from_header_or_body() -> None:
    from renderer.providers import samsar

    def charged(a):
        return samsar.credits_charged(a.headers, a.payload)

    assert charged(post(answer(200, {"request_id": "r", "creditsCharged": 30}))) == 30
    assert charged(post(answer(200, {"request_id": "r"}, {"x-credits-charged": "50"}))) == 50
    assert charged(post(answer(200, {"request_id": "r"}))) is None


def test_the_key_is_sent_as_bearer_and_never_in_error_text() -> None:
    seen = {}

    def echo(request):
        seen["auth"] = request.headers["authorization"]
        return httpx.Response(400, json={"message": f"bad key {request.headers['authorization']}"})

    a = post(echo)
    assert seen["auth"] == f"Bearer {KEY}"
    assert KEY not in (a.error or "") and "[redacted]" in a.error


def test_prepare_runs_before_sending_and_can_stop_it() -> None:
    sent = []

    def handler(request):
        sent.append(request.headers.get("idempotency-key"))
        return httpx.Response(200, json={"request_id": "r"})

    assert post(handler, prepare=lambda: False).kind == "skipped"
    assert sent == []
    assert post(handler, prepare=lambda: True, headers={"Idempotency-Key": "k1"}).ok
    assert sent == ["k1"]


def test_settings_repr_hides_the_key() -> None:
    assert KEY not in repr(ProviderSettings("samsar", "https://x", KEY))


def test_v2_routes_swap_the_version() -> None:
    r = route("samsar/v2/video/clone")
    assert route_url("https://api.samsar.one/v1", r) == "https://api.samsar.one/v2/video/clone"
    assert route_url("https://api.samsar.one/v1/", route("samsar/video/clone")) == "https://api.samsar.one/v1/video/clone"


def test_redact() -> None:
    assert Scrubber(("sk_abcdef",)).text("a sk_abcdef b") == "a [redacted] b"
