"""The sandbox's balance route (samsar-js getCreditsBalance: GET /credits) and its price_factor."""

from __future__ import annotations

import httpx
import pytest
from helpers.sandbox_requests import OTHER_KEY, TEXT_TO_VIDEO, charged

from renderer.sandbox import SandboxConfig


def test_credits_route_tells_each_keys_balance(make_sandbox, clients) -> None:
    sb = make_sandbox(credits=1000)
    mine, theirs = clients(sb.base_urls["samsar"]), clients(sb.base_urls["samsar"], OTHER_KEY)
    assert mine.get("/credits").json() == {"remainingCredits": 1000, "lastTopUp": None}
    r = mine.post("/video/text_to_video", json={"input": TEXT_TO_VIDEO})  # 10 s of RUNWAYML: 300
    assert charged(r) == 300 and r.headers["x-credits-remaining"] == "700"
    assert mine.get("/credits").json()["remainingCredits"] == 700
    assert theirs.get("/credits").json()["remainingCredits"] == 1000
    assert clients(sb.base_urls["samsar"], None).get("/credits").status_code == 400  # no key
    v2 = clients(sb.base_urls["samsar"].replace("/v1", "/v2"))
    assert v2.get("/credits").json()["remainingCredits"] == 700


def test_price_factor_charges_a_multiple_of_the_documented_price(make_sandbox, clients) -> None:
    sb = make_sandbox(credits=1000, price_factor=2)
    samsar: httpx.Client = clients(sb.base_urls["samsar"])
    r = samsar.post("/video/text_to_video", json={"input": TEXT_TO_VIDEO})
    assert charged(r) == 600 and r.headers["x-credits-remaining"] == "400"
    r = samsar.post("/image/enhance", json={"image_url": "https://cdn.example.com/a.png", "resolution": "2k"})
    assert charged(r) == 100
    r = samsar.post("/video/text_to_video", json={"input": TEXT_TO_VIDEO})
    assert r.status_code == 402  # 600 more would pass the 300 left: nothing charged
    assert sb.state.counters.snapshot()["credits_charged"] == {"samsar": 700}
    assert sb.state.snapshot()["config"]["price_factor"] == 2


def test_price_factor_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="price_factor"):
        SandboxConfig(price_factor=-1)
