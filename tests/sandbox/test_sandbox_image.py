"""Samsar image routes: answers as documented, prices, /image/status and /image/list."""

from __future__ import annotations

import httpx
import pytest

from helpers.sandbox_requests import OTHER_KEY, charged, make_video, status

TILES = [{"image_url": "https://cdn.example.com/t1.png", "image_text": "Rooftop"},
         {"enhanced_url": "https://cdn.example.com/t2-hires.png"},
         {"image_url": "https://cdn.example.com/t3.png"}]  # the docs: every tile is an object (bare URLs are refused)


@pytest.mark.parametrize(("resolution", "price"), [(None, 30), ("1k", 30), ("2k", 50), ("4K", 60)])
def test_enhance(samsar: httpx.Client, resolution: str | None, price: int) -> None:
    body = {"image_url": "https://cdn.example.com/photo.png"}
    if resolution:
        body["resolution"] = resolution
    r = samsar.post("/image/enhance", json=body)
    assert r.status_code == 200
    data = r.json()
    assert data["status"] == "queued" and data["case_type"] == "image_enhance"
    assert data["request_id"] == data["session_id"] == data["global_status_id"]
    assert data["resolution"] == (resolution or "1k").upper()
    assert data["creditsCharged"] == price == charged(r)
    assert data["remainingCredits"] == 100_000 - price == int(r.headers["x-credits-remaining"])
    done = status(samsar, data["request_id"], "/image/status")
    assert done["status"] == "COMPLETED" and done["type"] == "image" and done["result_url"].endswith(".png")
    assert "thumbnail_url" not in done


def test_remove_branding(samsar: httpx.Client) -> None:
    r = samsar.post("/image/remove_branding", json={"image_url": "https://cdn.example.com/w.png"})
    assert r.status_code == 200 and charged(r) == 50
    assert r.json()["case_type"] == "logo_remove"
    # image ids read through /status too
    assert status(samsar, r.json()["request_id"])["case_type"] == "logo_remove"


def test_add_image_set_bills_requested_images(samsar: httpx.Client) -> None:
    urls = ["https://cdn.example.com/1.png", "https://cdn.example.com/2.png"]
    r = samsar.post("/image/add_image_set", json={"image_urls": urls, "num_images": 4, "prompt": "spring"})
    assert r.status_code == 200 and charged(r) == 200 and r.json()["num_images"] == 4
    done = status(samsar, r.json()["request_id"], "/image/status")
    assert len(done["result_urls"]) == 4
    r = samsar.post("/image/add_image_set", json={"image_urls": urls})
    assert charged(r) == 100


def test_rollup_banner(samsar: httpx.Client) -> None:
    r = samsar.post("/image/create_rollup_banner", json={"image_list": TILES[:2], "columns": 4})
    assert r.status_code == 200, r.text
    assert charged(r) == 20
    data = r.json()
    assert data["status"] == "completed" and data["thumbnail_url"].endswith("-thumb.png")
    done = status(samsar, data["request_id"], "/image/status")
    assert done["case_type"] == "rollup_banner" and done["thumbnail_url"] == data["thumbnail_url"]


@pytest.mark.parametrize("path", ["/image/create_rollup_banner_with_enhance", "/image/enhance_and_generate_rollup_banner"])
def test_rollup_with_enhance_enhances_low_res_tiles_at_1k(samsar: httpx.Client, path: str) -> None:
    r = samsar.post(path, json={"images": TILES})
    assert r.status_code == 200, r.text
    assert charged(r) == 2 * 30 + 20  # two tiles without enhanced_url, plus the rollup
    data = r.json()
    assert data["case_type"] == "rollup_banner_enhance" and data["rollup_session_id"].startswith("rollup_")
    assert data["input_image_urls"][1] == "https://cdn.example.com/t2-hires.png"
    done = status(samsar, data["request_id"], "/image/status")
    assert done["thumbnail_url"] and done["case_type"] == "rollup_banner_enhance"


@pytest.mark.parametrize("path", ["/image/create_rollup_banner", "/image/create_rollup_banner_with_enhance"])
def test_rollups_complete_within_the_request_as_the_docs_show(make_sandbox, clients, clock, path: str) -> None:
    sb = make_sandbox(render_seconds=5, clock=clock)  # other sessions would take 5 s; a rollup does not
    samsar = clients(sb.base_urls["samsar"])
    data = samsar.post(path, json={"images": TILES[:1]}).json()
    assert data["status"] == "completed"
    assert data["result_url"].endswith(".png") and data["result_urls"] == [data["result_url"]]
    assert data["thumbnail_url"].endswith("-thumb.png")
    done = status(samsar, data["request_id"], "/image/status")
    assert done["status"] == "COMPLETED" and done["result_url"] == data["result_url"]


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/image/enhance", {"image_url": ""}, "image_url"),
    ("/image/enhance", {"image_url": "https://x.test/a.png", "resolution": "8k"}, "resolution"),
    ("/image/remove_branding", {}, "image_url"),
    ("/image/add_image_set", {"image_urls": ["https://x.test/a.png"], "num_images": "four"}, "num_images"),
    ("/image/create_rollup_banner", {"image_list": [{"title": "no url"}]}, "image_url"),
    ("/image/create_rollup_banner", {"images": TILES[:1], "columns": 9}, "columns"),
    ("/image/create_rollup_banner_with_enhance", {"images": []}, "images"),
])
def test_image_validation_errors_name_the_field(samsar: httpx.Client, path: str, body: dict, field: str) -> None:
    r = samsar.post(path, json=body)
    assert r.status_code == 400, r.text
    assert field in r.json()["message"]


def test_image_status_is_per_key_and_image_only(sandbox, clients) -> None:
    mine, theirs = clients(sandbox.base_urls["samsar"]), clients(sandbox.base_urls["samsar"], OTHER_KEY)
    rid = mine.post("/image/enhance", json={"image_url": "https://x.test/a.png"}).json()["request_id"]
    assert theirs.get("/image/status", params={"request_id": rid}).status_code == 404
    assert mine.get("/image/status", params={"session_id": rid}).status_code == 200
    assert mine.get("/image/status", params={"request_id": make_video(mine)}).status_code == 404


def test_image_list_newest_first_with_a_capped_limit(samsar: httpx.Client, sandbox, clients) -> None:
    ids = [samsar.post("/image/enhance", json={"image_url": f"https://x.test/{i}.png"}).json()["request_id"] for i in range(3)]
    clients(sandbox.base_urls["samsar"], OTHER_KEY).post("/image/enhance", json={"image_url": "https://x.test/o.png"})
    listed = samsar.get("/image/list").json()["sessions"]
    assert [s["request_id"] for s in listed] == ids[::-1]
    assert listed[0]["request_type"] == "API" and listed[0]["created_at"].endswith("Z")
    assert len(samsar.get("/image/list", params={"limit": 2}).json()["sessions"]) == 2
    assert len(samsar.get("/image/list", params={"limit": 100000}).json()["sessions"]) == 3  # capped at 500
    assert samsar.get("/image/list", params={"limit": 0}).status_code == 400
