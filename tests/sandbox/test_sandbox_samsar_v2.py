"""The sandbox's /v2 omni routes, step renders, titles, branding replacement and receipts, over loopback.

The step render's stop is tested at the API level: the pause, its previews, process_next
(charged then, once, replayable), and the provider's ``APPROVAL`` reading those very answers.
"""

from __future__ import annotations

import httpx
import pytest

from renderer import providers
from renderer.sandbox import ManualClock, Sandbox
from renderer.vocabulary import ApiState, Paused, Preview
from helpers.sandbox_requests import IMAGE_LIST, KEY, OTHER_KEY, TEXT_TO_VIDEO, charged

STEP_PRICES = {"samsar_v2": {"step_video_model_per_second": {"RUNWAYML": 30}}}
STEP = {**TEXT_TO_VIDEO, "duration": 20}
STOP = {"auto_render_full_video": False, "manual_step_stages": ["ai_video_generation"]}
STRAIGHT = {"auto_render_full_video": True, "manual_step_stages": []}
USER = {"provider": "whop", "unique_key": "whop:usr_123", "external_user_id": "usr_123"}
SAMSAR = providers.get("samsar")
STEP_ROUTE = providers.ROUTES["samsar/v2/video/step/text_to_video"]


@pytest.fixture
def v2(sandbox: Sandbox, clients) -> httpx.Client:
    return clients(sandbox.base_urls["samsar"].removesuffix("/v1") + "/v2")


def stepped(make_sandbox, clients, clock: ManualClock, **kw) -> tuple[Sandbox, httpx.Client]:
    sb = make_sandbox(render_seconds=10, clock=clock, pricing=STEP_PRICES, **kw)
    return sb, clients(sb.base_urls["samsar"].removesuffix("/v1") + "/v2")


# -- the omni routes and their list ---------------------------------------------------------------------


def test_v2_text_to_video_is_unpriced_status_and_listed(sandbox, v2: httpx.Client) -> None:
    r = v2.post("/text_to_video", json={"input": TEXT_TO_VIDEO})
    assert r.status_code == 200, r.text
    rid = r.json()["request_id"]
    assert charged(r) == 0 and sandbox.state.counters.unpriced["samsar/v2/text_to_video"] == 1  # unpublished
    assert v2.get("/status", params={"request_id": rid}).json()["status"] == "COMPLETED"
    [item] = v2.get("/requests").json()["requests"]
    assert item["request_id"] == rid and item["route_key"] == "text_to_video" and item["status"] == "COMPLETED"
    assert item["prompt"] == TEXT_TO_VIDEO["prompt"] and item["video_url"].endswith(f"/files/{rid}.mp4")
    status = SAMSAR.parse_status(providers.ROUTES["samsar/v2/text_to_video"], providers.batch_read(
        providers.ROUTES["samsar/v2/text_to_video"]).as_status(item, rid))
    assert status.state == ApiState.COMPLETED and status.result_url == item["video_url"]


def test_v2_requests_newest_first_limited_and_per_external_user(sandbox, v2: httpx.Client) -> None:
    first = v2.post("/image_list_to_video", json={"input": IMAGE_LIST}).json()["request_id"]
    second = v2.post("/image_list_to_video", json={"input": IMAGE_LIST, "external_user": USER}).json()["request_id"]
    assert second.startswith("extreq_") and not first.startswith("extreq_")
    listed = v2.get("/requests").json()["requests"]
    assert [i["request_id"] for i in listed] == [second, first]
    assert listed[0]["external_request_id"] == second and listed[0]["image_count"] == 2
    assert [i["request_id"] for i in v2.get("/requests", params={"limit": 1}).json()["requests"]] == [second]
    mine = v2.get("/requests", params={"unique_key": "whop:usr_123"}).json()
    assert [i["request_id"] for i in mine["requests"]] == [second] and mine["external_user"] == {"unique_key": "whop:usr_123"}
    r = v2.get("/requests", params={"limit": "lots"})
    assert r.status_code == 400 and r.json() == {"message": "limit must be a positive integer"}


def test_v2_follow_ups_act_on_a_v2_session(sandbox, v2: httpx.Client) -> None:
    source = v2.post("/image_list_to_video", json={"input": IMAGE_LIST}).json()["request_id"]
    for path, body in [("/translate_video", {"language": "es"}), ("/video/clone", {}), ("/video/regenerate_avatar", {}),
                       ("/update_outro_image", {"generate_outro_image": True, "cta_url": "https://example.com/book"}),
                       ("/update_footer_image", {"cta_text": "Scan"}),
                       ("/add_outro_image", {"outro_image_url": "https://cdn.example.com/o.png"})]:
        r = v2.post(path, json={"input": {"videoSessionId": source, **body}})
        assert r.status_code == 200, (path, r.text)
    avatar = [s for s in sandbox.state.sessions.values() if s.id.startswith("vid_avatar_")]
    assert len(avatar) == 1 and avatar[0].duration == 10  # keeps its source's length
    r = v2.post("/translate_video", json={"input": {"videoSessionId": source, "language": "de"}})
    assert r.status_code == 400 and r.json()["message"].startswith("language: 'de' is not a language translate_video")
    assert v2.post("/video/clone", json={"input": {"videoSessionId": "vid_nope"}}).status_code == 404


def test_v2_credits_name_the_external_user_asked_about(sandbox, v2: httpx.Client) -> None:
    assert v2.get("/credits").json() == {"remainingCredits": 100_000, "lastTopUp": None}
    asked = v2.get("/credits", params={"provider": "whop", "unique_key": "whop:usr_123"}).json()
    assert asked["external_user"] == {"provider": "whop", "unique_key": "whop:usr_123"}
    assert v2.get("/user/credits").json()["remainingCredits"] == 100_000


# -- step renders ------------------------------------------------------------------------------------------


def test_a_straight_step_render_is_charged_at_once_and_never_stops(make_sandbox, clients, clock) -> None:
    sb, v2 = stepped(make_sandbox, clients, clock)
    r = v2.post("/video/step/text_to_video", json={**STRAIGHT, "input": STEP})
    assert r.status_code == 200 and charged(r) == 600  # 20 s x 30/s
    rid = r.json()["request_id"]
    assert r.json()["step"]["manual_step_stages"] == [] and r.json()["status"] == "PENDING"
    for _ in range(2):
        clock.advance(5)
        read = v2.get(f"/video/step/{rid}/status").json()
        assert read["waiting_for_process_next"] is False and SAMSAR.APPROVAL.paused(read) is None
    assert read["status"] == "COMPLETED" and read["result_url"].endswith(f"{rid}.mp4")
    assert SAMSAR.parse_status(STEP_ROUTE, read).state == ApiState.COMPLETED
    assert sb.state.counters.credits_charged["samsar"] == 600


def test_a_step_render_stops_after_its_images_until_process_next(make_sandbox, clients, clock) -> None:
    sb, v2 = stepped(make_sandbox, clients, clock)
    r = v2.post("/video/step/text_to_video", json={**STOP, "input": STEP})
    assert r.status_code == 200 and charged(r) == 280  # the stages before the stop: 20 s x 14/s
    rid = r.json()["request_id"]
    early = v2.get(f"/video/step/{rid}/status").json()
    assert early["waiting_for_process_next"] is False and early["current_step"] == "prompt_generation"
    clock.advance(5)
    paused = v2.get(f"/video/step/{rid}/status").json()
    assert paused["status"] == "PENDING" and paused["waiting_for_process_next"] is True
    assert paused["step"]["can_process_next"] is True and paused["next_step"] == "ai_video_generation"
    assert SAMSAR.parse_status(STEP_ROUTE, paused).state == ApiState.PENDING
    assert SAMSAR.APPROVAL.paused(paused) == Paused("ai_video_generation", "Music generation")
    clock.advance(3600)  # a stop does not expire (nor finish)
    assert v2.get(f"/video/step/{rid}/status").json()["waiting_for_process_next"] is True

    path, params = SAMSAR.APPROVAL.previews_request(STEP_ROUTE, rid)
    detail = v2.get(path, params=params).json()
    assert detail["status_detail_schema"] == "video_session_preview.v1" and detail["session"]["routeType"] == "step"
    previews = SAMSAR.APPROVAL.previews(detail)
    host = sb.base_urls["samsar"].removesuffix("/v1")
    assert previews[0] == Preview("image", f"{host}/files/{rid}-scene-1.png", 0, 0.0, 5.0, "scene 1")
    assert [p.kind for p in previews] == ["image"] * 4 + ["audio"]
    assert httpx.get(previews[0].url).headers["content-type"] == "image/png"

    path, body = SAMSAR.APPROVAL.proceed(STEP_ROUTE, rid)
    r = v2.post(path, json=body, headers={"Idempotency-Key": "approve-1"})
    assert r.status_code == 200 and charged(r) == 320  # the rest: 600 - 280
    assert SAMSAR.APPROVAL.proceeded(r.json()) is True and r.json()["current_step"] == "ai_video_generation"
    again = v2.post(path, json=body, headers={"Idempotency-Key": "approve-1"})
    assert again.headers["idempotent-replayed"] == "true" and again.json() == r.json()
    clock.advance(5)
    done = v2.get(f"/video/step/{rid}/status").json()
    assert done["status"] == "COMPLETED" and SAMSAR.APPROVAL.proceeded(done) is True
    assert SAMSAR.parse_status(STEP_ROUTE, done).result_url == done["result_url"]
    c = sb.state.counters
    assert c.credits_charged["samsar"] == 600 and c.accepted["samsar/v2/video/step/process_next"] == 1
    r = v2.post(path, json=body)
    assert r.status_code == 400 and r.json()["message"] == (
        f"Step render {rid} is not waiting for process_next (status COMPLETED, current_step video_generation)")
    assert v2.post("/video/step/vid_step_nope/process_next", json={}).status_code == 404
    assert v2.get("/video/step/vid_step_nope/status").status_code == 404


def test_process_next_before_the_stop_and_for_another_key(make_sandbox, clients, clock) -> None:
    sb, v2 = stepped(make_sandbox, clients, clock)
    rid = v2.post("/video/step/text_to_video", json={**STOP, "input": STEP}).json()["request_id"]
    r = v2.post(f"/video/step/{rid}/process_next", json={})
    assert r.status_code == 400 and "current_step prompt_generation" in r.json()["message"]
    clock.advance(5)
    other = clients(sb.base_urls["samsar"].removesuffix("/v1") + "/v2", key=OTHER_KEY)
    assert other.post(f"/video/step/{rid}/process_next", json={}).status_code == 404


def test_the_clients_doubled_step_controls_are_one_request(make_sandbox, clients, clock) -> None:
    sb, v2 = stepped(make_sandbox, clients, clock)
    client_body = {"auto_render_full_video": False, "autoRenderFullVideo": False,
                   "manual_step_stages": ["ai_video_generation"], "manualStepStages": ["ai_video_generation"],
                   "input": {**STEP, "auto_render_full_video": False, "autoRenderFullVideo": False,
                             "manual_step_stages": ["ai_video_generation"], "manualStepStages": ["ai_video_generation"]}}
    r = v2.post("/video/step/text_to_video", json=client_body)
    assert r.status_code == 200 and charged(r) == 280
    client_body["input"]["autoRenderFullVideo"] = True
    r = v2.post("/video/step/text_to_video", json=client_body)
    assert r.status_code == 400 and r.json()["message"] == (
        "autoRenderFullVideo and auto_render_full_video differ (True and False): give one")


def test_an_image_step_render_has_a_still_per_image(make_sandbox, clients, clock) -> None:
    sb, v2 = stepped(make_sandbox, clients, clock, price_factor=1.0)
    rid = v2.post("/video/step/image_to_video", json={**STOP, "input": IMAGE_LIST}).json()["request_id"]
    clock.advance(5)
    detail = v2.get(f"/video/step/{rid}/status_detailed").json()
    assert len(detail["session"]["layers"]) == 2 and detail["step"]["route_type"] == "image_to_video"


def test_a_render_failure_ends_a_stopping_render_at_the_stop(make_sandbox, clients, clock) -> None:
    sb, v2 = stepped(make_sandbox, clients, clock, faults=_faults(rates={"render_failure": 1.0}))
    rid = v2.post("/video/step/text_to_video", json={**STOP, "input": STEP}).json()["request_id"]
    clock.advance(5)
    read = v2.get(f"/video/step/{rid}/status").json()
    assert read["status"] == "FAILED" and read["waiting_for_process_next"] is False
    assert SAMSAR.APPROVAL.paused(read) is None and SAMSAR.parse_status(STEP_ROUTE, read).state == ApiState.FAILED
    assert v2.post(f"/video/step/{rid}/process_next", json={}).status_code == 400


def test_a_lost_process_next_answer_is_told_by_the_status(make_sandbox, clients, clock) -> None:
    sb, v2 = stepped(make_sandbox, clients, clock, faults=_faults(schedule={2: "drop_after"}))
    rid = v2.post("/video/step/text_to_video", json={**STOP, "input": STEP}).json()["request_id"]  # submission 1
    clock.advance(5)
    with pytest.raises(httpx.RemoteProtocolError):
        v2.post(f"/video/step/{rid}/process_next", json={})  # submission 2: processed, its answer lost
    read = v2.get(f"/video/step/{rid}/status").json()
    assert SAMSAR.APPROVAL.proceeded(read) is True and SAMSAR.APPROVAL.paused(read) is None
    assert sb.state.counters.credits_charged["samsar"] == 600


def _faults(**kw):
    from renderer.sandbox.faults import FaultSettings

    return FaultSettings(**kw)


# -- titles, branding replacement, receipts ------------------------------------------------------------------

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")


def test_assign_title_answers_at_once_from_json_a_form_and_v2(sandbox, samsar: httpx.Client, v2: httpx.Client) -> None:
    r = samsar.post("/image/assign_title", json={"image_url": "https://example.com/product-photo.png",
                                                 "metadata": {"product": "linen travel shirt"}})
    assert r.status_code == 200 and r.json() == {"content": "Linen Travel Shirt", "title": "Linen Travel Shirt"}
    r = samsar.post("/image/assign_title", files={"image": ("p.png", PNG, "image/png")},
                    data={"metadata": '{"product": "linen travel shirt"}'})
    assert r.status_code == 200, r.text
    r = samsar.post("/image/assign_title", files={"image": ("p.bmp", PNG, "image/bmp")})
    assert r.status_code == 400 and "image_data" in r.json()["message"]
    r = v2.post("/image/assign_title", json={"input": {"image_url": "https://cdn.example.com/product-frame.png"}})
    assert r.status_code == 200 and r.json()["content"] == "Product Frame"
    assert sandbox.state.counters.unpriced["samsar/image/assign_title"] == 2  # unpublished: charged 0, counted


def test_replace_branding_is_queued_and_listed(sandbox, samsar: httpx.Client) -> None:
    urls = ["https://example.com/photo.png", "https://example.com/new-logo.png"]
    r = samsar.post("/image/replace_branding", json={"image_urls": urls})
    assert r.status_code == 200 and r.json()["case_type"] == "logo_replace"
    assert samsar.get("/image/status", params={"request_id": r.json()["request_id"]}).json()["status"] == "COMPLETED"
    listed = samsar.get("/image/list").json()["sessions"][0]
    assert listed["case_type"] == "logo_replace" and listed["image_urls"] == urls
    r = samsar.post("/image/replace_branding", json={"image_urls": urls[:1]})
    assert r.status_code == 400 and r.json()["message"] == (
        "image_urls needs exactly two URLs: the original image, then the replacement logo or image")


def test_receipt_templates_free_then_a_query_at_50(sandbox, samsar: httpx.Client, clients) -> None:
    url = "https://example.com/receipt-template.png"
    r = samsar.post("/image/receipt_templates/create", json={"image_url": url, "receipt_url": url, "template_url": url,
                                                             "template_name": "kbank"})
    assert r.status_code == 200 and charged(r) == 0
    tid = r.json()["template_id"]
    got = samsar.get("/image/template_json", params={"template_id": tid}).json()
    assert got["template_id"] == tid and got["source_image_url"] == url and got["template_json"]["fields"]
    assert clients(sandbox.base_urls["samsar"], key=OTHER_KEY).get(
        "/image/template_json", params={"template_id": tid}).status_code == 404
    receipt = "https://example.com/receipt-instance.png"
    r = samsar.post("/image/receipt_templates/query", json={
        "image_url": receipt, "receipt_url": receipt, "template_id": tid, "receipt_template_id": tid})
    assert r.status_code == 200 and charged(r) == 50
    assert r.json()["template_id"] == tid and r.json()["validation"]["is_valid"] is True and r.json()["receipt_json"]
    r = samsar.post("/image/receipt_templates/query", json={"image_url": receipt, "template_id": "rtpl_nope"})
    assert r.status_code == 404 and "x-credits-charged" not in r.headers
    r = samsar.post("/image/receipt_templates/query", json={"image_url": receipt, "receipt_url": "https://x/y.png",
                                                            "template_id": tid})
    assert r.status_code == 400 and r.json()["message"].startswith("receipt_url and image_url differ")
    assert sandbox.state.counters.credits_charged["samsar"] == 50
    assert sandbox.state.remaining(KEY, "samsar") == 100_000 - 50


def test_a_stopped_render_stays_stopped_across_a_sandbox_restart(tmp_path, clients) -> None:
    from renderer.sandbox import SandboxConfig, running_sandbox_sync

    clock = ManualClock(1000.0)  # the sandbox clock and the wall clock: its saved times stay consistent
    config = SandboxConfig(render_seconds=10, clock=clock, wall_clock=clock, pricing=STEP_PRICES, state_dir=tmp_path)
    with running_sandbox_sync(config) as sb:
        v2 = clients(sb.base_urls["samsar"].removesuffix("/v1") + "/v2")
        rid = v2.post("/video/step/text_to_video", json={**STOP, "input": STEP}).json()["request_id"]
        clock.advance(5)
        assert v2.get(f"/video/step/{rid}/status").json()["waiting_for_process_next"] is True
    clock.advance(600)
    with running_sandbox_sync(config) as sb:
        v2 = clients(sb.base_urls["samsar"].removesuffix("/v1") + "/v2")
        assert v2.get(f"/video/step/{rid}/status").json()["waiting_for_process_next"] is True
        r = v2.post(f"/video/step/{rid}/process_next", json={})
        assert r.status_code == 200 and charged(r) == 320
        clock.advance(5)
        assert v2.get(f"/video/step/{rid}/status").json()["status"] == "COMPLETED"


def test_the_body_an_approval_asks_for_stops_the_render(make_sandbox, clients, clock) -> None:
    """What a gate will send: the route's body with APPROVAL.controls(True) as its beside-fields."""
    sb, v2 = stepped(make_sandbox, clients, clock)
    assert set(SAMSAR.APPROVAL.controls(True)) == {k for k, _ in STEP_ROUTE.beside}
    assert STEP_ROUTE.body(STEP, {}) == {**SAMSAR.APPROVAL.controls(False), "input": STEP}  # no approval asked: straight
    body = STEP_ROUTE.body(STEP, SAMSAR.APPROVAL.controls(True))
    rid = v2.post("/video/step/text_to_video", json=body).json()["request_id"]
    clock.advance(5)
    assert SAMSAR.APPROVAL.paused(v2.get(f"/video/step/{rid}/status").json()) is not None
