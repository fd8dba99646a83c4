"""Issue 27's table, row by row: what `validate` says (the exact located error or warning) and what the
sandbox answers, each as the docs say (shared/api-docs; where the docs and samsar-js disagree, both
are accepted).

Rows: 1 the outro focus box inside the canvas, 2 cta_logo, 3 translate's language, 4 font_key,
5 rollup tiles, 6 external follow-ups without external_user, 7 image-list aspect_ratio fallback,
8 six supported models, 9 no cancel of create_movie, 10 fetch_latest_version, 11 the express CTA
body samsar-js sends, 12 samsar-js's videoSessionId beside request_id, 13 add_image_set aspect_ratio.
(Row 9's `renderer cancel` and row 10's run are in tests/execute/test_run_samsar_v2.py.)
"""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest

from renderer.cli import main
from renderer.providers.samsar import refresh
from helpers.sandbox_requests import IMAGE_LIST, TEXT_TO_VIDEO, charged, make_video, status

HEAD = "version: 1\nname: rows\njobs:\n  t:\n"
Q = '"'  # a value's column is its opening quote's


def validate(tmp_path: Path, job: str) -> tuple[int, list[str], Path]:
    """`renderer validate` of a one-job campaign (``job``: the job's lines, indented by 4)."""
    path = tmp_path / "c.yaml"
    path.write_text(HEAD + textwrap.indent(textwrap.dedent(job).strip("\n"), "    ") + "\n")
    err = io.StringIO()
    code = main(["validate", str(path)], out=io.StringIO(), err=err, env={})
    return code, [line.removeprefix(f"{path}:") for line in err.getvalue().splitlines()], path


def col(path: Path, line: int, text: str) -> str:
    """LINE:COL of the first ``text`` on a line of the file."""
    return f"{line}:{path.read_text().splitlines()[line - 1].index(text) + 1}"


def video(**fields: Any) -> str:
    body = {**TEXT_TO_VIDEO, **fields}
    return "endpoint: samsar/video/text_to_video\ninput:\n" + "".join(f"  {k}: {_yaml(v)}\n" for k, v in body.items())


def _yaml(value: Any) -> str:
    return json.dumps(value)  # JSON is YAML too


def refused(r: httpx.Response, text: str, sandbox: Any, before: int = 0) -> None:
    """A 400 with exactly this message, before anything was charged or accepted."""
    assert r.status_code == 400, r.text
    assert r.json() == {"message": text}
    assert "x-credits-charged" not in r.headers
    assert sum(sandbox.state.counters.accepted.values()) == before


# -- 1. the outro focus box lies inside the canvas ------------------------------------------------


def test_row1_a_focus_box_past_every_canvas_is_refused_by_the_schema(tmp_path: Path) -> None:
    code, err, path = validate(tmp_path, video(outro_focust_area={"x": 5000, "y": 0, "width": 100, "height": 100}))
    assert code == 1
    assert err == [f"{col(path, 11, '5000')}: t: outro_focust_area.x is 5000; the maximum is 1792"]


@pytest.mark.parametrize(("ratio", "box", "message"), [
    ("16:9", {"x": 1000, "y": 0, "width": 900, "height": 100},
     "outro_focust_area: x + width is 1900, past the 1792 px width of the 16:9 canvas (1792x1024); "
     "the box must lie inside the canvas"),
    ("16:9", {"x": 0, "y": 1000, "width": 100, "height": 100},
     "outro_focust_area: y + height is 1100, past the 1024 px height of the 16:9 canvas (1792x1024); "
     "the box must lie inside the canvas"),
    ("9:16", {"x": 0, "y": 0, "width": 1100, "height": 100},
     "outro_focust_area: x + width is 1100, past the 1024 px width of the 9:16 canvas (1024x1792); "
     "the box must lie inside the canvas"),
])
def test_row1_validate_refuses_a_box_outside_the_canvas_at_its_key(tmp_path: Path, ratio: str, box: dict,
                                                                     message: str) -> None:
    code, err, path = validate(tmp_path, video(aspect_ratio=ratio, outro_focust_area=box))
    assert code == 1
    assert err == [f"{col(path, 12, 'outro_focust_area')}: t: {message}"]


def test_row1_the_same_box_fits_the_other_canvas(tmp_path: Path) -> None:
    code, err, _ = validate(tmp_path, video(aspect_ratio="16:9", outro_focust_area={"x": 0, "y": 0, "width": 1100,
                                                                                     "height": 100}))
    assert (code, err) == (0, [])


def test_row1_a_follow_up_box_is_checked_against_its_session_canvas(sandbox, samsar: httpx.Client) -> None:
    tall = make_video(samsar, aspect_ratio="9:16")
    wide = make_video(samsar)
    body = {"outro_image_url": "https://cdn.example.com/o.png",
            "outro_focust_area": {"x": 0, "y": 0, "width": 1100, "height": 100}}
    r = samsar.post("/video/add_outro_image", json={"input": {"videoSessionId": tall, **body}})
    refused(r, "outro_focust_area: x + width is 1100, past the 1024 px width of the 9:16 canvas (1024x1792); "
               "the box must lie inside the canvas", sandbox, before=2)
    assert sandbox.state.counters.credits_charged["samsar"] == 600  # the two renders only
    r = samsar.post("/video/add_outro_image", json={"input": {"videoSessionId": wide, **body}})
    assert r.status_code == 200 and charged(r) == 75


def test_row1_validate_checks_a_follow_up_box_against_either_canvas(tmp_path: Path) -> None:
    job = """
        endpoint: samsar/video/add_outro_image
        input:
          videoSessionId: vid_1
          outro_image_url: https://cdn.example.com/o.png
          outro_focust_area: {x: 1000, y: 0, width: 900, height: 100}
        """
    code, err, path = validate(tmp_path, job)
    assert code == 1
    assert err == [f"{col(path, 9, 'outro_focust_area')}: t: outro_focust_area: x + width is 1900, past the "
                   "canvas of either aspect ratio (1792x1024 or 1024x1792); the box must lie inside the canvas"]


# -- 2. cta_logo: HTTP(S) or an image data URL ------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["samsar/video/update_footer_image", "samsar/external_users/update_footer_image"])
def test_row2_an_ftp_logo_is_refused(tmp_path: Path, endpoint: str) -> None:
    source = "request_id" if "external" in endpoint else "videoSessionId"
    job = f"""
        endpoint: {endpoint}
        input:
          {source}: vid_1
          cta_logo: ftp://cdn.example.com/logo.png
        """
    code, err, path = validate(tmp_path, job)
    assert code == 1
    assert err == [f"{col(path, 8, 'ftp')}: t: cta_logo: \"ftp://cdn.example.com/logo.png\" is neither an "
                   "http(s) URL nor an image data URL: write https://... or data:image/png;base64,..."]


@pytest.mark.parametrize("logo", ["https://cdn.example.com/logo.png", "data:image/png;base64,iVBORw0KGgo="])
def test_row2_http_and_data_logos_pass(tmp_path: Path, logo: str) -> None:
    job = f"""
        endpoint: samsar/video/update_footer_image
        input: {{videoSessionId: vid_1, cta_logo: "{logo}"}}
        """
    assert validate(tmp_path, job)[:2] == (0, [])


def test_row2_the_sandbox_refuses_an_ftp_logo(sandbox, samsar: httpx.Client) -> None:
    sid = make_video(samsar)
    r = samsar.post("/video/update_footer_image",
                    json={"input": {"videoSessionId": sid, "cta_logo": "ftp://cdn.example.com/logo.png"}})
    refused(r, 'cta_logo: "ftp://cdn.example.com/logo.png" is neither an http(s) URL nor an image data URL: '
               "write https://... or data:image/png;base64,...", sandbox, before=1)


# -- 3. translate's language: validate warns, the API (and so the sandbox) refuses ---------------------


def test_row3_validate_warns_and_the_sandbox_refuses_a_language_translate_lacks(tmp_path: Path, sandbox,
                                                                                samsar: httpx.Client) -> None:
    code, err, path = validate(tmp_path, "endpoint: samsar/video/translate_video\ninput: {videoSessionId: v, language: de}")
    assert code == 0
    assert err == [f"{col(path, 6, 'de}')}: warning: t: language: 'de' is not one the docs list for "
                   "samsar/video/translate_video (en, es, fr, ja, th, zh, bn, hi, sa, la); the server refuses it"]
    sid = make_video(samsar)
    left = sandbox.state.remaining("test-key", "samsar")
    r = samsar.post("/video/translate_video", json={"input": {"videoSessionId": sid, "language": "de"}})
    refused(r, "language: 'de' is not a language translate_video supports; pass one of en, es, fr, ja, th, zh, bn, "
               "hi, sa, la", sandbox, before=1)
    assert sandbox.state.remaining("test-key", "samsar") == left
    r = samsar.post("/video/translate_video", json={"input": {"videoSessionId": sid, "language": "es"}})
    assert r.status_code == 200 and charged(r) == 30  # 3/s of the 10 s source


# -- 4. font_key must be one the chosen language supports ------------------------------------------------


def test_row4_validate_warns_of_a_font_the_language_lacks(tmp_path: Path) -> None:
    code, err, path = validate(tmp_path, video(language="ja", font_key="Poppins"))
    assert code == 0
    assert err == [f"{col(path, 12, Q + 'Poppins')}: warning: t: font_key: 'Poppins' is not a font GET /supported_fonts "
                   "lists for language 'ja' (Noto Sans JP, M PLUS Rounded 1c, Hiragino Sans, Yu Gothic UI, sans-serif); "
                   "the server may refuse it"]


@pytest.mark.parametrize("language", ["en", "auto", None])
def test_row4_a_font_of_the_language_or_of_any_for_auto_passes(tmp_path: Path, language: str | None) -> None:
    fields = {"font_key": "Poppins", **({"language": language} if language else {})}
    assert validate(tmp_path, video(**fields))[:2] == (0, [])


def test_row4_a_language_without_a_list_of_its_own_takes_the_default_one(tmp_path: Path) -> None:
    code, err, _ = validate(tmp_path, video(language="es", font_key="Poppins"))
    assert code == 0 and len(err) == 1
    assert "lists for language 'es' (Rampart One, Montserrat, Arial, sans-serif)" in err[0]


def test_row4_the_sandbox_refuses_a_font_the_language_lacks(sandbox, samsar: httpx.Client) -> None:
    r = samsar.post("/video/text_to_video", json={"input": {**TEXT_TO_VIDEO, "language": "ja", "font_key": "Comic Sans"}})
    refused(r, "font_key: 'Comic Sans' is not supported for language 'ja'; GET /supported_fonts lists Noto Sans JP, "
               "M PLUS Rounded 1c, Hiragino Sans, Yu Gothic UI, sans-serif", sandbox)
    assert samsar.get("/supported_fonts").json()["fontsByLanguage"]["ja"][0] == "Noto Sans JP"


def test_row4_pricing_refresh_reads_the_live_fonts_and_says_when_they_drifted(sandbox) -> None:
    out = io.StringIO()
    assert refresh.refresh(out, {"SAMSAR_BASE_URL": sandbox.base_urls["samsar"]}) == 0  # the sandbox serves the docs'
    assert out.getvalue().endswith("no drift: the built-in prices and fonts match the API\n")
    models = httpx.get(sandbox.base_urls["samsar"] + "/video/supported_models").json()
    live = {"fontsByLanguage": {**refresh.built_in_fonts(), "fr": ["Poppins", "sans-serif"]}}

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=live if request.url.path.endswith("/supported_fonts") else models)

    out = io.StringIO()
    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        assert refresh.refresh(out, {"SAMSAR_BASE_URL": "http://api.test/v1"}, client) == 1
    assert "fonts        fr                    -         2    added" in out.getvalue().splitlines()


# -- 5. rollup tiles are objects -------------------------------------------------------------------------


def test_row5_a_bare_url_tile_is_refused_at_the_tile(tmp_path: Path, sandbox, samsar: httpx.Client) -> None:
    job = """
        endpoint: samsar/image/create_rollup_banner
        input:
          image_list: ["https://cdn.example.com/a.png"]
        """
    code, err, path = validate(tmp_path, job)
    message = ('image_list[0]: a tile is an object with image_url or enhanced_url (plus optional title, image_text, '
               'image_category, image_duration, overlay), not a bare URL: write {image_url: "https://..."}')
    assert code == 1 and err == [f"{col(path, 7, Q + 'https')}: t: {message.removeprefix('image_list[0]: ')}"]
    r = samsar.post("/image/create_rollup_banner", json={"image_list": ["https://cdn.example.com/a.png"]})
    refused(r, message.removeprefix("image_list[0]: "), sandbox)


def test_row5_image_urls_belongs_to_the_rollup_with_enhance_only(tmp_path: Path) -> None:
    job = """
        endpoint: samsar/image/create_rollup_banner
        input:
          image_urls: [{image_url: "https://cdn.example.com/a.png"}]
        """
    code, err, path = validate(tmp_path, job)
    assert code == 1
    assert err == [f"{col(path, 7, 'image_urls')}: t: image_urls is not a create_rollup_banner field: "
                   "give the tiles as image_list (or images)"]
    job = job.replace("create_rollup_banner", "create_rollup_banner_with_enhance")
    assert validate(tmp_path, job)[:2] == (0, [])  # documented there (image doc L195)


# -- 6. external_users follow-ups: an internal session without external_user is the account's -------------


def test_row6_validate_takes_an_external_follow_up_without_external_user(tmp_path: Path) -> None:
    job = "endpoint: samsar/external_users/translate_video\ninput: {request_id: vid_1, language: es}"
    assert validate(tmp_path, job)[:2] == (0, [])
    job = "endpoint: samsar/external_users/text_to_video\ninput: " + _yaml(TEXT_TO_VIDEO)
    code, err, _ = validate(tmp_path, job)
    assert code == 1 and err == ["4:3: samsar/external_users/text_to_video and "
                                 "samsar/external_users/image_list_to_video need external_user: {provider, unique_key "
                                 "and/or external_user_id} of the user the request is for"]


def test_row6_the_sandbox_bills_an_internal_follow_up_to_the_account(sandbox, samsar: httpx.Client) -> None:
    sid = make_video(samsar)
    r = samsar.post("/external_users/translate_video", json={"input": {"request_id": sid, "language": "es"}})
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"request_id", "session_id"} and charged(r) == 30
    new = r.json()["request_id"]
    assert new.startswith("vid_tr_")
    assert status(samsar, new)["status"] == "COMPLETED"
    assert status(samsar, new, "/external_users/status")["status"] == "COMPLETED"
    r = samsar.post("/external_users/text_to_video", json={"input": TEXT_TO_VIDEO})
    refused(r, "missing required field external_user", sandbox, before=2)


# -- 7. image_list_to_video: unsupported aspect ratios fall back to 16:9 ----------------------------------


def test_row7_an_unsupported_aspect_ratio_is_a_warning_and_renders_16_9(tmp_path: Path, sandbox,
                                                                        samsar: httpx.Client) -> None:
    job = "endpoint: samsar/video/image_list_to_video\ninput:\n  image_urls: [https://cdn.example.com/a.png]\n" \
          "  aspect_ratio: \"1:1\""
    code, err, path = validate(tmp_path, job)
    assert code == 0
    assert err == [f"{col(path, 8, Q + '1:1')}: warning: t: aspect_ratio: '1:1' is not one the docs list for "
                   "samsar/video/image_list_to_video (16:9, 9:16); the server renders 16:9 instead"]
    r = samsar.post("/video/image_list_to_video", json={"input": {**IMAGE_LIST, "aspect_ratio": "1:1"}})
    assert r.status_code == 200
    assert sandbox.state.sessions[r.json()["session_id"]].aspect_ratio == "16:9"
    box = {"x": 0, "y": 0, "width": 100, "height": 1100}  # fits 9:16 only
    r = samsar.post("/video/image_list_to_video", json={"input": {
        **IMAGE_LIST, "aspect_ratio": "1:1", "outro_image_url": "https://cdn.example.com/o.png", "outro_focust_area": box}})
    refused(r, "outro_focust_area: y + height is 1100, past the 1024 px height of the 16:9 canvas (1792x1024); "
               "the box must lie inside the canvas", sandbox, before=1)


# -- 8. /video/supported_models lists the docs' six -----------------------------------------------------


def test_row8_supported_models_are_the_docs_six(sandbox, samsar: httpx.Client) -> None:
    models = samsar.get("/video/supported_models").json()["VIDEO_MODELS"]
    assert [(m["value"], m["label"], m["basePrice"]) for m in models] == [
        ("VEO3.1I2V", "VEO3.1I2V", 60), ("VEO3.1I2VFAST", "VEO3.1I2VFAST", 36), ("SEEDANCEI2V", "Seedance 1.5", 30),
        ("KLINGIMGTOVID3PRO", "KLINGIMGTOVID3PRO", 36), ("HAPPYHORSEI2V", "Happy Horse 1.0 I2V", 36),
        ("RUNWAYML", "RunwayML Gen 4.5", 30)]
    out = io.StringIO()
    assert refresh.refresh(out, {"SAMSAR_BASE_URL": sandbox.base_urls["samsar"]}) == 0
    text = out.getvalue()
    assert text.count("not listed (samsar-js)") == 3  # COSMOS3SUPERI2V, KLINGIMGTOVIDTURBO and the image model IMAGEN4
    r = samsar.post("/video/text_to_video", json={"input": {**TEXT_TO_VIDEO, "video_model": "COSMOS3SUPERI2V"}})
    assert r.status_code == 200 and charged(r) == 200  # still priced and accepted (samsar-js)


# -- 9. create_movie has no cancel ------------------------------------------------------------------------


def test_row9_cancel_render_does_not_cancel_a_movie(sandbox, samsar: httpx.Client) -> None:
    movie = samsar.post("/video/create_movie", json={"input": {
        "prompt": "A lighthouse", "image_model": "FLUX1.1PRO", "video_model": "LUMA", "duration": 10}})
    mid = movie.json()["request_id"]
    r = samsar.post("/video/cancel_render", json={"input": {"videoSessionId": mid}})
    assert r.status_code == 404 and r.json() == {"message": f"Session {mid} not found"}


# -- 11. the express CTA body samsar-js sends ------------------------------------------------------------------

EXPRESS = {  # samsar-js createVideoFromImageList with express_cta_generation: what it sends (dist/index.js:298-308)
    "image_urls": [{"image_url": "https://example.com/a.jpg", "title": "Blue Lagoon Tour"},
                   {"image_url": "https://example.com/b.jpg", "title": "Sunset Dinner"}],
    "prompt": "Travel offer reel with concise scene CTAs", "video_model": "RUNWAYML", "aspect_ratio": "9:16",
    "express_cta_generation": True, "cta_url": "https://example.com/book", "generate_outro_image": True,
    "add_outro_animation": True, "add_outro_focus_area": True, "add_footer_animation": True,
}


def test_row11_the_clients_express_cta_body_is_accepted_and_priced_31_per_second(tmp_path: Path, sandbox,
                                                                                samsar: httpx.Client) -> None:
    job = "endpoint: samsar/video/image_list_to_video\ninput: " + _yaml(EXPRESS)
    assert validate(tmp_path, job)[:2] == (0, [])
    r = samsar.post("/video/image_list_to_video", json={"input": EXPRESS})
    assert r.status_code == 200, r.text
    assert charged(r) == 2 * 5 * (30 + 1)  # two RUNWAYML clips of 5 s, at 30/s + 1/s express CTA


def test_row11_turning_the_derived_animation_off_contradicts_it(tmp_path: Path) -> None:
    job = "endpoint: samsar/video/image_list_to_video\ninput:\n" + "".join(
        f"  {k}: {_yaml(v)}\n" for k, v in {**EXPRESS, "add_outro_animation": False}.items())
    code, err, path = validate(tmp_path, job)
    assert code == 1
    assert err == [f"{col(path, 14, 'false')}: t: with generate_outro_image or express_cta_generation on, "
                   "Samsar turns the outro animation on itself: add_outro_animation may only be true (or left out)"]


# -- 12. samsar-js sends an external follow-up's id again as videoSessionId ---------------------------------------

USER = {"provider": "whop", "unique_key": "whop:usr_123", "external_user_id": "usr_123"}


@pytest.mark.parametrize("path", ["/external_users/update_outro_image", "/external_users/update_footer_image",
                                  "/external_users/add_outro_image"])
def test_row12_the_clients_external_follow_ups_are_accepted(sandbox, samsar: httpx.Client, path: str) -> None:
    made = samsar.post("/external_users/text_to_video", json={"external_user": USER, "input": TEXT_TO_VIDEO}).json()
    ext = made["request_id"]
    fields = {"update_footer_image": {"cta_text": "Scan to shop", "cta_url": "https://example.com/shop", "remove_footer": False},
              "update_outro_image": {"generate_outro_image": True, "cta_url": "https://example.com/shop"},
              "add_outro_image": {"outro_image_url": "https://cdn.example.com/outro.png", "generate_outro_image": False},
              }[path.rsplit("/", 1)[1]]
    r = samsar.post(path, json={"external_user": USER, "input": {"request_id": ext, "videoSessionId": ext, **fields}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"request_id", "session_id", "external_request_id", "status_endpoint", "creditsCharged"}
    assert body["creditsCharged"] == 75 and body["request_id"].startswith("extreq_")


def test_row12_two_different_ids_are_refused(tmp_path: Path, sandbox, samsar: httpx.Client) -> None:
    job = """
        endpoint: samsar/external_users/update_footer_image
        external_user: {provider: whop, unique_key: "whop:usr_123"}
        input:
          request_id: extreq_a1
          videoSessionId: extreq_b2
          cta_text: Scan
        """
    code, err, path = validate(tmp_path, job)
    message = "request_id and videoSessionId name different videos ('extreq_a1' and 'extreq_b2'): give one id"
    assert code == 1 and err == [f"{col(path, 9, 'videoSessionId')}: t: {message}"]
    r = samsar.post("/external_users/update_footer_image", json={
        "external_user": USER, "input": {"request_id": "extreq_a1", "videoSessionId": "extreq_b2", "cta_text": "Scan"}})
    refused(r, message, sandbox)


# -- 13. add_image_set takes aspect_ratio (samsar-js's README) -------------------------------------------------


def test_row13_extend_image_list_with_aspect_ratio(tmp_path: Path, sandbox, samsar: httpx.Client) -> None:
    sample = {"image_urls": ["https://example.com/extra.jpg"], "prompt": "Create a cinematic travel header banner",
              "num_images": 4, "aspect_ratio": "16:9"}
    assert validate(tmp_path, "endpoint: samsar/image/add_image_set\ninput: " + _yaml(sample))[:2] == (0, [])
    r = samsar.post("/image/add_image_set", json=sample)
    assert r.status_code == 200 and charged(r) == 200 and r.json()["aspect_ratio"] == "16:9"
    listed = samsar.get("/image/list").json()["sessions"][0]
    assert listed["aspect_ratio"] == "16:9" and listed["num_images"] == 4
    code, err, _ = validate(tmp_path, "endpoint: samsar/image/add_image_set\ninput: " + _yaml({**sample, "aspect_ratio": "4:3"}))
    assert code == 0 and err[0].endswith("aspect_ratio: '4:3' is not one the docs list for samsar/image/add_image_set "
                                         "(16:9, 9:16); the server may refuse it")
