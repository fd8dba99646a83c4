"""Every documented rule, broken alone in a campaign, gives exit 1 at the exact spot.

Each case writes a campaign whose job `job` has the endpoint and input given,
one input field per line (values as JSON, which is YAML too), so the expected
location of a field's key or value follows from its position in the input:

    line 1  version: 1
    line 2  name: rules
    line 3  jobs:
    line 4    job:
    line 5      endpoint: ...
    line 6      input:            <- "input": errors about the whole body
    line 7        first_field: ...
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from renderer.cli import main

T2V = {"prompt": "A city at dawn", "image_model": "GPTIMAGE2", "video_model": "RUNWAYML", "duration": 10}
IL2V = {"image_urls": ["https://cdn.example.com/a.png"], "video_model": "RUNWAYML"}
SESSION = {"videoSessionId": "vid_1"}
EXTERNAL = {"request_id": "extreq_1"}
ROLLUP = {"image_list": [{"image_url": "https://cdn.example.com/a.png"}]}
MOVIE = {"prompt": "A lighthouse", "image_model": "FLUX1.1PRO", "video_model": "LUMA", "duration": 30}
EC = {"input_key": "uploads/a.jpg"}


def write(tmp_path: Path, endpoint: str, body: dict[str, Any], extra: str = "") -> Path:
    lines = ["version: 1", "name: rules", "jobs:", "  job:", f"    endpoint: {endpoint}", "    input:"]
    lines += [f"      {k}: {json.dumps(v)}" for k, v in body.items()]
    if "/external_users/" in endpoint and not extra:  # after the input: positions stay put
        extra = "    external_user: {provider: acme, external_user_id: u1}\n"
    path = tmp_path / "c.yaml"
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


def where(body: dict[str, Any], field: str | None, at: str) -> str:
    """LINE:COL of a field's key or value in the file `write` makes; None: the input key.

    ``at`` is "key", "value", or "@TEXT": the column where TEXT first appears on
    the field's line (for values nested inside a flow mapping).
    """
    if field is None:
        return "6:5"
    line = 7 + list(body).index(field)
    if at.startswith("@"):
        text = f"      {field}: {json.dumps(body[field])}"
        return f"{line}:{text.index(at[1:]) + 1}"
    return f"{line}:7" if at == "key" else f"{line}:{7 + len(field) + 2}"


def validate(path: Path) -> tuple[int, list[str]]:
    err = io.StringIO()
    code = main(["validate", str(path)], out=io.StringIO(), err=err, env={})
    return code, [ln for ln in err.getvalue().splitlines() if ln.startswith(str(path))]


CASES = [
    # name, endpoint, body, field, at, words in the message
    ("prompt required", "samsar/video/text_to_video", {k: v for k, v in T2V.items() if k != "prompt"}, None, "key", "prompt"),
    ("prompt max 1000", "samsar/video/text_to_video", {**T2V, "prompt": "x" * 1001}, "prompt", "value", "1000"),
    ("duration max 240", "samsar/video/text_to_video", {**T2V, "duration": 300}, "duration", "value", "240"),
    ("video model enum", "samsar/video/text_to_video", {**T2V, "video_model": "RUNWAY"}, "video_model", "value", "RUNWAYML"),
    ("image model enum", "samsar/video/text_to_video", {**T2V, "image_model": "DALLE"}, "image_model", "value", "GPTIMAGE2"),
    ("aspect ratio enum", "samsar/video/text_to_video", {**T2V, "aspect_ratio": "4:3"}, "aspect_ratio", "value", "16:9"),
    ("language empty", "samsar/video/text_to_video", {**T2V, "language": ""}, "language", "value", "empty"),
    ("tone enum", "samsar/video/text_to_video", {**T2V, "tone": "dramatic"}, "tone", "value", "cinematic"),
    ("unknown field", "samsar/video/text_to_video", {**T2V, "promt": "x"}, "promt", "key", "promt"),
    ("generated outro needs cta_url", "samsar/video/text_to_video", {**T2V, "generate_outro_image": True}, "generate_outro_image", "key", "cta_url"),
    ("one outro mode", "samsar/video/text_to_video",
     {**T2V, "generate_outro_image": True, "cta_url": "https://e.com", "outro_image_url": "https://e.com/o.png"}, "outro_image_url", "key", "outro_image_url"),
    ("generated outro derives animation", "samsar/video/image_list_to_video",
     {**IL2V, "generate_outro_image": True, "cta_url": "https://e.com", "add_outro_animation": False}, "add_outro_animation", "value", "add_outro_animation"),
    ("focus area needs animation", "samsar/video/text_to_video",
     {**T2V, "outro_image_url": "https://e.com/o.png", "add_outro_focus_area": True, "outro_focust_area": {"x": 1, "y": 1, "width": 9, "height": 9}},
     "add_outro_focus_area", "key", "add_outro_animation"),
    ("focus area needs an area", "samsar/video/add_outro_image",
     {**SESSION, "outro_image_url": "https://e.com/o.png", "add_outro_animation": True, "add_outro_focus_area": True},
     "add_outro_focus_area", "key", "outro_focust_area"),
    ("footer needs metadata", "samsar/video/text_to_video", {**T2V, "add_footer_animation": True}, "add_footer_animation", "key", "footer_metadata"),
    ("image_urls non-empty", "samsar/video/image_list_to_video", {**IL2V, "image_urls": []}, "image_urls", "key", "image_urls"),
    ("express CTA needs cta_url", "samsar/video/image_list_to_video", {**IL2V, "express_cta_generation": True}, None, "key", "cta_url"),
    ("express CTA omits CTA texts", "samsar/video/image_list_to_video",
     {**IL2V, "express_cta_generation": True, "cta_url": "https://e.com", "cta_text_top": "Scan"}, "cta_text_top", "key", "cta_text_top"),
    ("express CTA alias omits footer", "samsar/video/image_list_to_video",
     {**IL2V, "expressCtaGeneration": True, "cta_url": "https://e.com", "footer_metadata": [{"url": "https://e.com", "title": "t"}]},
     "footer_metadata", "key", "footer_metadata"),
    ("join needs 2+", "samsar/video/join_videos", {"session_ids": ["vid_1"]}, "session_ids", "key", "2"),
    ("join ids unique", "samsar/video/join_videos", {"session_ids": ["vid_1", "vid_1"]}, "session_ids", "key", "unique"),
    ("footer update needs a CTA field", "samsar/video/update_footer_image", dict(SESSION), None, "key", "cta_text"),
    ("outro update needs an image or CTA", "samsar/video/update_outro_image", dict(SESSION), None, "key", "outro_image_url"),
    ("outro update: one mode", "samsar/video/update_outro_image",
     {**SESSION, "generate_outro_image": True, "cta_url": "https://e.com", "outro_image_url": "https://e.com/o.png"}, "outro_image_url", "key", "outro_image_url"),
    ("translate language required", "samsar/video/translate_video", dict(SESSION), None, "key", "language"),
    ("session id required", "samsar/video/clone", {}, None, "key", "videoSessionId"),
    ("external needs request_id", "samsar/external_users/add_outro_image", {"outro_image_url": "https://e.com/o.png"}, None, "key", "request_id"),
    ("rollup columns 1-6", "samsar/image/create_rollup_banner", {**ROLLUP, "columns": 7}, "columns", "value", "6"),
    ("rollup ratio 0-1", "samsar/image/create_rollup_banner_with_enhance",
     {"images": ROLLUP["image_list"], "image_tiling_position": {"font_key": "en", "top_left": {"margin_ratio": 1.5}}}, "image_tiling_position", "@1.5", "margin_ratio"),
    ("rollup needs images", "samsar/image/create_rollup_banner", {"columns": 2}, None, "key", "image_list"),
    ("enhance resolution", "samsar/image/enhance", {"image_url": "https://e.com/a.png", "resolution": "8k"}, "resolution", "value", "4k"),
    ("image_url required", "samsar/image/remove_branding", {}, None, "key", "image_url"),
    ("image set count positive", "samsar/image/add_image_set", {"image_urls": ["https://e.com/a.png"], "num_images": 0}, "num_images", "value", "num_images"),
    ("movie prompt max 500", "samsar/video/create_movie", {**MOVIE, "prompt": "y" * 501}, "prompt", "value", "500"),
    ("movie duration max 120", "samsar/video/create_movie", {**MOVIE, "duration": 121}, "duration", "value", "120"),
    ("movie image model", "samsar/video/create_movie", {**MOVIE, "image_model": "GPTIMAGE2"}, "image_model", "value", "FLUX1.1PRO"),
    ("enhance scale 2/4/8", "enhancecraft/jobs", {**EC, "operations": [{"type": "enhance", "params": {"scale": 3}}]}, "operations", "@3}", "scale"),
    ("quality 1-100", "enhancecraft/jobs", {**EC, "operations": [{"type": "compress-optimize", "params": {"quality": 101}}]}, "operations", "@101", "100"),
    ("replace-background needs type", "enhancecraft/jobs", {**EC, "operations": [{"type": "replace-background", "params": {}}]}, "operations", '@"params"', "background_type"),
    ("enhancement level 0-1", "enhancecraft/jobs", {**EC, "operations": [{"type": "denoise", "params": {"enhancement_level": 1.5}}]}, "operations", "@1.5", "enhancement_level"),
    ("operation type enum", "enhancecraft/jobs", {**EC, "operations": [{"type": "sharpen"}]}, "operations", '@"sharpen"', "sharpen"),
    ("one input only", "enhancecraft/jobs", {**EC, "input_file": "a.png", "operations": [{"type": "convert", "params": {"output_format": "png"}}]}, None, "key", "input_file"),
]


@pytest.mark.parametrize("name, endpoint, body, field, at, words", CASES, ids=[c[0] for c in CASES])
def test_rule_broken_alone(tmp_path, name, endpoint, body, field, at, words):
    path = write(tmp_path, endpoint, body)
    code, errors = validate(path)
    assert code == 1
    assert errors, "no located error"
    expected = f"{path}:{where(body, field, at)}: job: "
    assert any(e.startswith(expected) for e in errors), (expected, errors)
    assert any(words in e for e in errors), (words, errors)


@pytest.mark.parametrize(
    "endpoint, body",
    [
        ("samsar/video/text_to_video", T2V),
        ("samsar/video/image_list_to_video", IL2V),
        ("samsar/video/join_videos", {"session_ids": ["vid_1", "vid_2"]}),
        ("samsar/video/update_footer_image", {**SESSION, "remove_footer": True}),
        ("samsar/video/update_outro_image", {**SESSION, "cta_url": "https://e.com"}),
        ("samsar/image/create_rollup_banner", ROLLUP),
        ("samsar/video/create_movie", MOVIE),
        ("enhancecraft/jobs", {**EC, "operations": [{"type": "enhance", "params": {"scale": 4}}]}),
    ],
)
def test_the_same_bodies_without_the_fault_are_valid(tmp_path, endpoint, body):
    code, errors = validate(write(tmp_path, endpoint, body))
    assert (code, errors) == (0, [])


def test_external_user_routes_need_external_user(tmp_path):
    body = {**T2V}
    path = write(tmp_path, "samsar/external_users/text_to_video", body, extra="\n")
    code, errors = validate(path)
    assert code == 1
    assert any(e.startswith(f"{path}:4:3: ") and "external_user" in e for e in errors), errors


def test_unknown_endpoint_suggests_the_nearest(tmp_path):
    path = write(tmp_path, "samsar/video/text2video", T2V)
    code, errors = validate(path)
    assert code == 1
    assert errors == [f"{path}:5:15: unknown endpoint 'samsar/video/text2video'; did you mean 'samsar/video/text_to_video'?"]


def test_unknown_needs_and_cycles(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "version: 1\nname: x\njobs:\n"
        "  a:\n    endpoint: samsar/video/clone\n    needs: [b]\n    input: {videoSessionId: v}\n"
        "  b:\n    endpoint: samsar/video/clone\n    needs: [c, a]\n    input: {videoSessionId: v}\n"
        "  c:\n    endpoint: samsar/video/clone\n    needs: [b]\n    input: {videoSessionId: v}\n"
        "  d:\n    endpoint: samsar/video/clone\n    needs: [stills]\n    input: {videoSessionId: v}\n"
    )
    code, errors = validate(path)
    assert code == 1
    assert f"{path}:6:13: needs form a cycle: a -> b -> c -> b" in errors or any("cycle" in e for e in errors)
    assert f"{path}:18:13: needs 'stills': no job of that name; jobs are: a, b, c, d" in errors
    cycle = [e for e in errors if "cycle" in e][0]
    assert "a -> b" in cycle or "b -> c" in cycle


def test_undefined_template_name_names_the_instance(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "version: 1\nname: x\njobs:\n  clip:\n    endpoint: samsar/video/text_to_video\n"
        "    matrix:\n      city: [lisbon, tokyo]\n    input:\n"
        '      prompt: "Dawn in {{ matrix.citty }}"\n'
        "      image_model: GPTIMAGE2\n      video_model: RUNWAYML\n      duration: 10\n"
    )
    code, errors = validate(path)
    assert code == 1
    assert errors == [
        f"{path}:9:15: clip[city=lisbon]: template: no key 'citty' here (keys: city) (and in 1 more instance(s))"
    ]


def test_expanded_value_breaking_the_schema_names_the_instance(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "version: 1\nname: x\njobs:\n  clip:\n    endpoint: samsar/video/text_to_video\n"
        "    matrix:\n      seconds: [30, 300]\n    input:\n"
        "      prompt: Dawn\n      image_model: GPTIMAGE2\n      video_model: RUNWAYML\n"
        '      duration: "{{ matrix.seconds }}"\n'
    )
    code, errors = validate(path)
    assert code == 1
    assert errors == [f"{path}:12:17: clip[seconds=300]: duration is 300; the maximum is 240"]


def test_every_error_of_every_file_is_reported(tmp_path):
    a = write(tmp_path, "samsar/video/text_to_video", {**T2V, "duration": 300, "tone": "loud"})
    b = tmp_path / "b.yaml"
    b.write_text("version: 1\nname: b\nname: c\n")
    err = io.StringIO()
    code = main(["validate", str(a), str(b)], out=io.StringIO(), err=err, env={})
    lines = err.getvalue().splitlines()
    assert code == 1
    assert any(ln.startswith(f"{a}:10:17:") for ln in lines)  # duration
    assert any(ln.startswith(f"{a}:11:13:") for ln in lines)  # tone
    assert any(ln.startswith(f"{b}:3:1: duplicate key") for ln in lines)
    assert lines[-1] == "3 errors"


def test_usage_errors_exit_2():
    err = io.StringIO()
    assert main(["validate"], out=io.StringIO(), err=err, env={}) == 2
    assert main(["frobnicate"], out=io.StringIO(), err=io.StringIO(), env={}) == 2


@pytest.mark.parametrize("job, expected", [
    # a key typed wrong: the missing endpoint said once (with an example), the typo with a suggestion
    ("    endpont: samsar/image/enhance\n    input: {}\n",
     ["4:3: job 'job' needs an endpoint, e.g. samsar/video/text_to_video",
      "5:5: unknown field jobs.job.endpont; did you mean 'endpoint'?"]),
    ("    input: {}\n", ["4:3: job 'job' needs an endpoint, e.g. samsar/video/text_to_video"]),
    # a number is not an external_users endpoint: no rule about external_user fires
    ("    endpoint: 5\n    input: {}\n", ["5:15: endpoint must be a string like samsar/video/text_to_video"]),
])
def test_a_broken_endpoint_is_said_once(tmp_path: Path, job: str, expected: list[str]) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("version: 1\nname: rules\njobs:\n  job:\n" + job)
    err = io.StringIO()
    assert main(["validate", str(path)], out=io.StringIO(), err=err, env={}) == 1
    lines = [line for line in err.getvalue().splitlines() if not line.endswith(" errors")]
    assert lines == [f"{path}:{e}" for e in expected]
