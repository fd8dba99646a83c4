"""The gateway in front of every stand-in: requests counted by route, rate limits as data."""

from __future__ import annotations

import pytest

from renderer import providers
from renderer.sandbox import SandboxConfig
from renderer.sandbox.gateway import api_key
from helpers.sandbox_requests import KEY, OTHER_KEY, TEXT_TO_VIDEO


def test_a_provider_without_a_published_limit_is_throttled_when_the_config_asks(make_sandbox, clients, clock) -> None:
    sb = make_sandbox(requests_per_minute={"samsar": 2}, clock=clock)
    samsar = clients(sb.base_urls["samsar"])
    assert [samsar.get("/credits").status_code for _ in range(2)] == [200, 200]
    over = samsar.post("/video/text_to_video", json={"input": TEXT_TO_VIDEO})
    assert over.status_code == 429 and over.json() == {"message": "Rate limit exceeded: 2 requests per minute"}
    assert int(over.headers["Retry-After"]) >= 1 and over.headers["X-RateLimit-Remaining"] == "0"
    assert sb.state.counters.accepted == {} and sb.state.counters.rate_limited == 1  # nothing was accepted
    assert clients(sb.base_urls["samsar"], OTHER_KEY).get("/credits").status_code == 200  # per key
    assert sb.state.snapshot()["rate_limits"] == {
        "samsar": {"requests_per_minute": 2, "requests_per_month": None, "window": 60.0},
        "enhancecraft": {"requests_per_minute": 50, "requests_per_month": 50_000, "window": 60.0},
    }
    assert sb.state.counters.requests["GET /v1/credits"] == 3 and sb.state.counters.requests["POST /v1/video/text_to_video"] == 1


def test_keys_the_sandbox_refuses_use_no_quota(make_sandbox, clients, clock) -> None:
    sb = make_sandbox(requests_per_minute={"samsar": 1}, api_key=KEY, clock=clock)
    for _ in range(3):
        assert clients(sb.base_urls["samsar"], "wrong").get("/credits").status_code == 401
    assert clients(sb.base_urls["samsar"], None).get("/credits").status_code == 400
    assert clients(sb.base_urls["samsar"]).get("/credits").status_code == 200  # its window is untouched
    assert sb.state.counters.rate_limited == 0


def test_the_key_is_read_as_the_provider_writes_it() -> None:
    samsar = providers.get("samsar")
    assert api_key(samsar, {"Authorization": "Bearer abc "}) == "abc"
    assert api_key(samsar, {"Authorization": "bearer abc"}) == "abc"  # schemes are case-insensitive
    assert api_key(samsar, {"Authorization": "Basic abc"}) is None
    assert api_key(samsar, {"Authorization": "Bearer "}) is None
    assert api_key(samsar, {}) is None


@pytest.mark.parametrize("rpm", [0, -1, True])
def test_a_rate_must_be_positive(rpm: float) -> None:
    with pytest.raises(ValueError, match="requests_per_minute of samsar must be > 0"):
        SandboxConfig(requests_per_minute={"samsar": rpm})


def test_the_enhancecraft_tier_comes_from_its_settings(make_sandbox, clients) -> None:
    sb = make_sandbox(provider_settings={"enhancecraft": {"tier": "enterprise"}})
    answer = clients(sb.base_urls["enhancecraft"]).get("/api/v1/jobs/api/none")
    assert answer.status_code == 404 and answer.headers["X-RateLimit-Limit"] == "10000"
    assert "X-RateLimit-Limit-Month" not in answer.headers  # enterprise: no monthly quota
