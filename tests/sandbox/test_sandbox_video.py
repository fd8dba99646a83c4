"""Samsar video routes over loopback HTTP: happy paths, documented prices, rules, errors."""

from __future__ import annotations

import httpx
import pytest

from renderer.providers import price_table, route
from renderer.providers import samsar as samsar_provider
from renderer.vocabulary import PriceContext
from helpers.sandbox_requests import IMAGE_LIST, KEY, OTHER_KEY, TEXT_TO_VIDEO, charged, make_video, status


def test_text_to_video_charges_the_documented_price_and_completes(samsar: httpx.Client) -> None:
    r = samsar.post("/video/text_to_video", json={"input": TEXT_TO_VIDEO, "webhookUrl": "https://example.com/hook"})
    assert r.status_code == 200
    body = r.json()
    assert body["request_id"] == body["session_id"] and body["request_id"].startswith("vid_")
    assert charged(r) == 300  # the docs' example: 10 s of RUNWAYML
    assert int(r.headers["x-credits-remaining"]) == 100_000 - 300
    done = status(samsar, body["request_id"])
    assert done["status"] == "COMPLETED" and done["type"] == "video" and done["provider"] == "RUNWAYML"
    assert done["result_url"] == done["result_urls"][0] == done["videoLink"] == done["remoteURL"]
    assert done["has_subtitles"] is True and done["result_language"] == "en"
    assert httpx.get(done["result_url"]).status_code == 200  # result URLs resolve


def test_client_path_video_create_and_flat_bodies_are_accepted(samsar: httpx.Client) -> None:
    r = samsar.post("/video/create", json={"input": TEXT_TO_VIDEO})
    assert r.status_code == 200 and charged(r) == 300
    flat = samsar.post("/video/text_to_video", json={**TEXT_TO_VIDEO, "duration": 20, "webhookUrl": "https://x.test/h"})
    assert flat.status_code == 200 and charged(flat) == 600


def test_sessions_stay_pending_until_render_seconds_pass(make_sandbox, clients, clock) -> None:
    sb = make_sandbox(render_seconds=30, clock=clock)
    samsar = clients(sb.base_urls["samsar"])
    sid = make_video(samsar)
    pending = status(samsar, sid)
    assert pending["status"] == "PENDING" and "expressGenerationStatus" in pending
    assert "result_url" not in pending
    clock.advance(29.9)
    assert status(samsar, sid)["status"] == "PENDING"
    clock.advance(0.1)
    assert status(samsar, sid)["status"] == "COMPLETED"


def test_image_list_duration_is_one_shortest_clip_per_image_inside_the_planned_range(samsar: httpx.Client) -> None:
    r = samsar.post("/video/image_list_to_video", json={"input": IMAGE_LIST})
    assert r.status_code == 200 and r.json()["session_id"].startswith("vid_img_")
    assert charged(r) == 2 * 5 * 30
    planned = samsar_provider.price(route("samsar/video/image_list_to_video"), {"input": IMAGE_LIST},
                                    PriceContext(table=price_table()))
    assert planned.credits.min <= charged(r) <= planned.credits.max
    extras = {**IMAGE_LIST, "add_narrator_avatar": True, "express_cta_generation": True, "cta_url": "https://x.test"}
    r = samsar.post("/video/image_list_to_video", json={"input": extras})
    assert charged(r) == 10 * (30 + 4 + 1)


def test_translate_bills_the_source_duration_and_sets_language(samsar: httpx.Client) -> None:
    source = make_video(samsar, duration=30)
    r = samsar.post("/video/translate_video", json={"input": {"videoSessionId": source, "language": "es"}})
    assert r.status_code == 200 and charged(r) == 90
    done = status(samsar, r.json()["session_id"])
    assert done["result_language"] == "es" and done["has_subtitles"] is False
    again = samsar.post("/video/retranslate_video", json={"input": {"videoSessionId": source, "language": "fr"}})
    assert again.status_code == 200 and charged(again) == 90


def test_join_bills_the_summed_duration(samsar: httpx.Client) -> None:
    a, b = make_video(samsar, duration=30), make_video(samsar, duration=20)
    r = samsar.post("/video/join_videos", json={"input": {"session_ids": [a, b], "blend_scenes": True}})
    assert r.status_code == 200 and charged(r) == 150
    joined = r.json()["session_id"]
    # the joined session is 50 s long: translating it costs 150
    t = samsar.post("/video/translate_video", json={"input": {"videoSessionId": joined, "language": "ja"}})
    assert charged(t) == 150


def test_join_rules(make_sandbox, clients, clock) -> None:
    sb = make_sandbox(render_seconds=10, clock=clock)
    samsar = clients(sb.base_urls["samsar"])
    wide, tall = make_video(samsar), make_video(samsar, aspect_ratio="9:16")
    body = lambda ids: {"input": {"session_ids": ids}}  # noqa: E731
    pending = samsar.post("/video/join_videos", json=body([wide, tall]))
    assert pending.status_code == 400 and "PENDING" in pending.json()["message"]
    clock.advance(10)
    mixed = samsar.post("/video/join_videos", json=body([wide, tall]))
    assert mixed.status_code == 400 and "aspect_ratio" in mixed.json()["message"]
    assert samsar.post("/video/join_videos", json=body([wide, "vid_nope"])).status_code == 404
    one = samsar.post("/video/join_videos", json=body([wide]))
    assert one.status_code == 400 and "session_ids" in one.json()["message"]
    assert sb.state.counters.credits_charged["samsar"] == 600  # only the two renders


@pytest.mark.parametrize("path", ["/video/clone", "/v2/video/clone"])
def test_clone_is_free_and_pending(make_sandbox, clients, clock, path: str) -> None:
    sb = make_sandbox(render_seconds=5, clock=clock)
    samsar = clients(sb.base_urls["samsar"])
    source = make_video(samsar)
    clock.advance(5)
    r = clients(sb.base_url).post(path if path.startswith("/v2") else "/v1" + path,
                                  json={"input": {"videoSessionId": source}})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "PENDING" and body["type"] == "video" and body["creditsCharged"] == 0
    assert charged(r) == 0
    v2 = clients(sb.base_url).get("/v2/status", params={"request_id": body["request_id"]})
    assert v2.status_code == 200 and v2.json()["status"] == "PENDING"


def test_clone_needs_a_completed_source(make_sandbox, clients, clock) -> None:
    sb = make_sandbox(render_seconds=5, clock=clock)
    samsar = clients(sb.base_urls["samsar"])
    r = samsar.post("/video/clone", json={"input": {"videoSessionId": make_video(samsar)}})
    assert r.status_code == 400


@pytest.mark.parametrize(("path", "subtitles"), [("/video/add_subtitles", True), ("/video/remove_subtitles", False)])
def test_subtitle_routes_are_free_and_set_has_subtitles(samsar: httpx.Client, path: str, subtitles: bool) -> None:
    r = samsar.post(path, json={"input": {"videoSessionId": make_video(samsar, enable_subtitles=not subtitles)}})
    assert r.status_code == 200 and charged(r) == 0
    assert status(samsar, r.json()["session_id"])["has_subtitles"] is subtitles


@pytest.mark.parametrize(("path", "extra"), [
    ("/video/add_outro_image", {"outro_image_url": "https://cdn.example.com/outro.png"}),
    ("/video/update_outro_image", {"generate_outro_image": True, "cta_url": "https://example.com/book"}),
    ("/video/update_outro_image", {"outro_image_url": "https://cdn.example.com/outro.png"}),
    ("/video/update_footer_image", {"cta_text": "Scan to book"}),
    ("/video/update_footer_image", {"remove_footer": True}),
])
def test_outro_and_footer_routes_cost_75(samsar: httpx.Client, path: str, extra: dict) -> None:
    r = samsar.post(path, json={"input": {"videoSessionId": make_video(samsar), **extra}})
    assert r.status_code == 200, r.text
    assert charged(r) == 75
    assert status(samsar, r.json()["session_id"])["status"] == "COMPLETED"


def test_cancel_render(make_sandbox, clients, clock) -> None:
    sb = make_sandbox(render_seconds=10, clock=clock)
    samsar = clients(sb.base_urls["samsar"])
    sid = make_video(samsar)
    r = samsar.post("/video/cancel_render", json={"input": {"videoSessionId": sid}})
    assert r.status_code == 200 and charged(r) == 0
    assert r.json() == {"request_id": sid, "session_id": sid, "status": "CANCELLED", "cancelled": True,
                        "message": "Render cancellation requested."}
    clock.advance(60)
    assert status(samsar, sid)["status"] == "CANCELLED"
    done = make_video(samsar)
    clock.advance(10)
    assert samsar.post("/video/cancel_render", json={"input": {"videoSessionId": done}}).status_code == 400
    assert samsar.post("/video/cancel_render", json={"input": {"videoSessionId": "vid_0"}}).status_code == 404


def test_external_user_routes(samsar: httpx.Client) -> None:
    who = {"provider": "guidestination", "external_user_id": "traveler_123"}
    r = samsar.post("/external_users/text_to_video", json={"external_user": who, "input": TEXT_TO_VIDEO})
    assert r.status_code == 200, r.text
    body = r.json()
    ext = body["request_id"]
    assert ext.startswith("extreq_") and body["external_request_id"] == ext
    assert body["status_endpoint"] == f"/v1/external_users/status?request_id={ext}"
    assert body["creditsCharged"] == 300 == charged(r)
    assert status(samsar, ext, "/external_users/status")["status"] == "COMPLETED"
    il = samsar.post("/external_users/image_list_to_video", json={"external_user": who, "input": IMAGE_LIST})
    assert il.status_code == 200 and charged(il) == 300
    follow_ups = [
        ("/external_users/add_outro_image", {"request_id": ext, "outro_image_url": "https://x.test/o.png"}, 75),
        ("/external_users/update_outro_image", {"request_id": ext, "generate_outro_image": True, "cta_url": "https://x.test"}, 75),
        ("/external_users/update_footer_image", {"request_id": ext, "cta_text": "Book"}, 75),
        ("/external_users/translate_video", {"request_id": ext, "language": "es"}, 30),
        ("/external_users/join_videos", {"session_ids": [ext, il.json()["request_id"]]}, 60),
    ]
    for path, inp, price in follow_ups:
        r = samsar.post(path, json={"external_user": who, "input": inp})
        assert r.status_code == 200, (path, r.text)
        assert r.json()["creditsCharged"] == price == charged(r), path
        assert r.json()["request_id"].startswith("extreq_")
    missing = samsar.post("/external_users/text_to_video", json={"input": TEXT_TO_VIDEO})
    assert missing.status_code == 400 and "external_user" in missing.json()["message"]


def test_fetch_latest_version(make_sandbox, clients, clock) -> None:
    sb = make_sandbox(render_seconds=10, clock=clock)
    samsar, other = clients(sb.base_urls["samsar"]), clients(sb.base_urls["samsar"], OTHER_KEY)
    sid = make_video(samsar, language="es")
    get = lambda c, s: c.get("/video/fetch_latest_version", params={"session_id": s})  # noqa: E731
    assert get(samsar, sid).status_code == 202
    clock.advance(10)
    done = get(samsar, sid)
    assert done.status_code == 200
    assert done.json() == {"session_id": sid, "result_url": done.json()["result_url"], "has_subtitles": True,
                           "result_language": "es"}
    assert get(other, sid).status_code == 403  # the docs' answer for another key's session
    assert get(samsar, "vid_unknown").status_code == 404
    assert samsar.get("/video/fetch_latest_version").status_code == 400


def test_list_completed_video_sessions(make_sandbox, clients, clock) -> None:
    sb = make_sandbox(render_seconds=10, clock=clock)
    samsar = clients(sb.base_urls["samsar"])
    first = make_video(samsar)
    clock.advance(10)
    make_video(samsar)  # still pending
    make_video(clients(sb.base_urls["samsar"], OTHER_KEY))
    listed = samsar.get("/video/list_completed_video_sessions").json()
    assert [s["session_id"] for s in listed] == [first]
    assert listed[0]["langauge"] == listed[0]["result_language"] == "en"
    assert samsar.get("/video/list_completed_video_sessions", params={"limit": "x"}).status_code == 400


def test_fonts_and_models_need_no_key(sandbox) -> None:
    fonts = httpx.get(f"{sandbox.base_urls['samsar']}/supported_fonts")
    assert fonts.status_code == 200 and "Poppins" in fonts.json()["fontsByLanguage"]["en"]
    models = httpx.get(f"{sandbox.base_urls['samsar']}/video/supported_models").json()
    runway = next(m for m in models["VIDEO_MODELS"] if m["value"] == "RUNWAYML")
    assert runway["basePrice"] == 30 and runway["pricingDistribution"]["video"] == 14
    assert runway["pricingDistribution"]["optionalAddons"] == {"express_cta_generation": 1}
    assert {m["value"] for m in models["IMAGE_MODELS"]} >= {"GPTIMAGE2", "SEEDREAM"}


def test_create_movie_and_its_older_status_shape(make_sandbox, clients, clock) -> None:
    sb = make_sandbox(render_seconds=10, clock=clock)
    samsar = clients(sb.base_urls["samsar"])
    movie = {"prompt": "A heist", "image_model": "FLUX1.1PRO", "video_model": "LUMA", "duration": 60}
    r = samsar.post("/video/create_movie", json={"input": movie})
    assert r.status_code == 200 and list(r.json()) == ["request_id"]
    assert charged(r) == 600  # the docs: 60 s at 10 credits/s
    rid = r.json()["request_id"]
    pending = status(samsar, rid, "/video/status")
    assert pending["status"] == "PENDING" and isinstance(pending["details"], list)
    clock.advance(10)
    done = status(samsar, rid, "/video/status")
    assert done["status"] == "COMPLETED" and done["result"]["url"].endswith(".mp4")
    assert samsar.get("/video/status").json() == {"message": "request_id query parameter is missing."}
    bad = samsar.post("/video/create_movie", json={"input": {**movie, "duration": 121}})
    assert bad.status_code == 400 and "duration" in bad.json()["message"]


@pytest.mark.parametrize(("path", "inp", "field"), [
    ("/video/text_to_video", {k: v for k, v in TEXT_TO_VIDEO.items() if k != "prompt"}, "prompt"),
    ("/video/text_to_video", {**TEXT_TO_VIDEO, "duration": 300}, "duration"),
    ("/video/text_to_video", {**TEXT_TO_VIDEO, "video_model": "NOPE"}, "video_model"),
    ("/video/create", {**TEXT_TO_VIDEO, "prompt": "x" * 1001}, "prompt"),
    ("/video/image_list_to_video", {"image_urls": []}, "image_urls"),
    ("/video/translate_video", {"videoSessionId": "vid_1"}, "language"),
    ("/video/join_videos", {"session_ids": "vid_1"}, "session_ids"),
    ("/video/clone", {}, "videoSessionId"),
    ("/video/add_subtitles", {}, "videoSessionId"),
    ("/video/add_outro_image", {"videoSessionId": "vid_1"}, "outro_image_url"),
    ("/video/update_footer_image", {"videoSessionId": "vid_1", "cta_text": 5}, "cta_text"),
    ("/video/cancel_render", {}, "videoSessionId"),
    ("/video/create_movie", {"prompt": "x", "image_model": "GPTIMAGE2", "video_model": "LUMA", "duration": 5}, "image_model"),
])
def test_validation_errors_name_the_field(samsar: httpx.Client, sandbox, path: str, inp: dict, field: str) -> None:
    r = samsar.post(path, json={"input": inp})
    assert r.status_code == 400
    assert field in r.json()["message"]
    assert sandbox.state.counters.credits_charged["samsar"] == 0


def test_bodies_that_are_not_json_objects(samsar: httpx.Client) -> None:
    assert samsar.post("/video/text_to_video", content=b"{nope").status_code == 400
    assert samsar.post("/video/text_to_video", json=[1]).status_code == 400
    assert samsar.post("/video/text_to_video", json={"input": "x"}).json()["message"] == "input must be an object"


def test_auth(make_sandbox, clients) -> None:
    sb = make_sandbox(api_key="the-key")
    url = sb.base_urls["samsar"]
    body = {"input": TEXT_TO_VIDEO}
    missing = clients(url, None).post("/video/text_to_video", json=body)
    assert missing.status_code == 400 and "API key" in missing.json()["message"]
    for empty in ("", "Bearer"):
        r = httpx.post(f"{url}/video/text_to_video", json=body, headers={"Authorization": empty})
        assert r.status_code == 400, empty
    assert clients(url, "wrong").post("/video/text_to_video", json=body).status_code == 401
    assert clients(url, "wrong").get("/status", params={"request_id": "vid_1"}).status_code == 401
    assert httpx.post(f"{url}/video/text_to_video", json=body, headers={"Authorization": "Basic the-key"}).status_code == 401
    assert clients(url, "the-key").post("/video/text_to_video", json=body).status_code == 200
    assert sum(sb.state.counters.accepted.values()) == 1


def test_any_non_empty_key_is_valid_by_default(sandbox, clients) -> None:
    assert clients(sandbox.base_urls["samsar"], "whatever").post("/video/text_to_video", json={"input": TEXT_TO_VIDEO}).status_code == 200


def test_402_when_credits_run_out_charges_and_creates_nothing(make_sandbox, clients) -> None:
    sb = make_sandbox(credits=350)
    samsar = clients(sb.base_urls["samsar"])
    make_video(samsar)  # 300
    r = samsar.post("/video/text_to_video", json={"input": TEXT_TO_VIDEO})
    assert r.status_code == 402 and "credits" in r.json()["message"]
    assert sb.state.remaining(KEY, "samsar") == 50
    assert len(sb.state.sessions) == 1 and sum(sb.state.counters.accepted.values()) == 1
    # balances are per key
    assert clients(sb.base_urls["samsar"], OTHER_KEY).post("/video/text_to_video", json={"input": TEXT_TO_VIDEO}).status_code == 200


def test_unknown_and_foreign_ids_are_404(sandbox, clients) -> None:
    mine, theirs = clients(sandbox.base_urls["samsar"]), clients(sandbox.base_urls["samsar"], OTHER_KEY)
    sid = make_video(mine)
    assert theirs.get("/status", params={"request_id": sid}).status_code == 404
    assert mine.get("/status", params={"request_id": "vid_unknown"}).status_code == 404
    for path, inp in [("/video/translate_video", {"videoSessionId": sid, "language": "es"}),
                      ("/video/clone", {"videoSessionId": sid}),
                      ("/video/add_outro_image", {"videoSessionId": sid, "outro_image_url": "https://x.test/o.png"}),
                      ("/video/cancel_render", {"videoSessionId": sid})]:
        assert theirs.post(path, json={"input": inp}).status_code == 404, path
    assert mine.get("/status").status_code == 400
