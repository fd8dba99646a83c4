"""Our schemas (the campaign's and plan's, and each provider's request schemas): well-formed, faithful to the docs' samples, and
every documented rule and limit reported at the right place with a message that names
the fields involved.

Samples are copied from shared/api-docs (the inner `input` fields for the routes whose
docs wrap the body as {"input": {...}}).
"""

from __future__ import annotations

from pathlib import Path

import copy
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from renderer import providers
from renderer.providers import samsar
from renderer.campaign.schemas import CAMPAIGN_SCHEMA, check, is_valid, load_schema, schema_names

# -- helpers ---------------------------------------------------------------------------


def with_(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(base)
    out.update(changes)
    return out


def without(base: dict[str, Any], *keys: str) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k in keys:
        out.pop(k, None)
    return out


def S(route: str) -> str:
    """Schema file name of an endpoint."""
    return providers.ROUTES[route].schema


TTV = "samsar.video.text_to_video.schema.json"
ILV = "samsar.video.image_list_to_video.schema.json"
ADD_OUTRO = "samsar.video.add_outro_image.schema.json"
UPD_OUTRO = "samsar.video.update_outro_image.schema.json"
UPD_FOOTER = "samsar.video.update_footer_image.schema.json"
TRANSLATE = "samsar.video.translate_video.schema.json"
JOIN = "samsar.video.join_videos.schema.json"
CLONE = "samsar.video.clone.schema.json"
MOVIE = "samsar.video.create_movie.schema.json"
X_TTV = "samsar.external_users.text_to_video.schema.json"
X_ILV = "samsar.external_users.image_list_to_video.schema.json"
X_ADD_OUTRO = "samsar.external_users.add_outro_image.schema.json"
X_UPD_OUTRO = "samsar.external_users.update_outro_image.schema.json"
X_UPD_FOOTER = "samsar.external_users.update_footer_image.schema.json"
X_TRANSLATE = "samsar.external_users.translate_video.schema.json"
X_JOIN = "samsar.external_users.join_videos.schema.json"
ENHANCE = "samsar.image.enhance.schema.json"
BRANDING = "samsar.image.remove_branding.schema.json"
IMAGE_SET = "samsar.image.add_image_set.schema.json"
ROLLUP = "samsar.image.create_rollup_banner.schema.json"
ROLLUP_ENH = "samsar.image.create_rollup_banner_with_enhance.schema.json"
EC = "enhancecraft.jobs.schema.json"

# -- the docs' samples -----------------------------------------------------------------

AREA = {"x": 240, "y": 140, "width": 720, "height": 420}

TEXT_TO_VIDEO = {  # samsar-video-api.txt, POST /video/text_to_video sample request
    "prompt": "A timelapse of clouds over a futuristic city at sunrise",
    "duration": 30,
    "image_model": "GPTIMAGE2",
    "video_model": "RUNWAYML",
    "tone": "grounded",
    "aspect_ratio": "16:9",
    "language": "en",
    "enable_subtitles": True,
    "font_key": "Poppins",
    "generate_outro_image": True,
    "cta_url": "https://example.com/tour",
    "cta_text_top": "Scan for the tour",
    "cta_text_bottom": "Book a demo",
    "add_footer_animation": True,
    "footer_metadata": [{"url": "https://example.com/tour", "title": "Book a demo"}],
}
TEXT_TO_VIDEO_PROVIDED = {  # the request-body block, with its provided-outro fields filled in
    "prompt": "A timelapse of clouds over a futuristic city at sunrise",
    "image_model": "NANOBANANA2",
    "video_model": "VEO3.1I2V",
    "duration": 30,
    "tone": "cinematic",
    "aspect_ratio": "9:16",
    "language": "auto",
    "outro_image_url": "https://cdn.example.com/outro.png",
    "generate_outro_image": False,
    "add_outro_animation": True,
    "add_outro_focus_area": True,
    "outro_focus_area": {"x": 0, "y": 0, "width": 1024, "height": 1792},
}
TEXT_TO_VIDEO_CLIENT = {  # samsar-js-client-readme.txt, createVideoFromText
    "prompt": "A drone shot of a beach at sunrise",
    "image_model": "GPTIMAGE2",
    "video_model": "RUNWAYML",
    "duration": 30,
    "font_key": "Poppins",
    "enable_subtitles": True,
}
TEXT_TO_VIDEO_CLIENT_QR = {
    "prompt": "A boutique hotel launch reel with cinematic room details",
    "image_model": "GPTIMAGE2",
    "video_model": "RUNWAYML",
    "duration": 20,
    "aspect_ratio": "9:16",
    "generate_outro_image": True,
    "cta_url": "https://example.com/book",
    "cta_text_top": "Scan to book",
    "cta_text_bottom": "Opening offers",
    "add_footer_animation": True,
    "footer_metadata": [{"url": "https://example.com/book", "title": "Book your stay"}],
}
IMAGE_LIST_PROVIDED = {  # sample request: provided outro image
    "image_urls": ["https://cdn.example.com/frame1.png", "https://cdn.example.com/frame2.png"],
    "prompt": "Make this feel like a fast-paced teaser",
    "metadata": {"project": "launch_trailer"},
    "video_model": "KLINGIMGTOVID3PRO",
    "aspect_ratio": "16:9",
    "language": "en",
    "enable_subtitles": True,
    "font_key": "Poppins",
    "limit_single_narrator": True,
    "outro_image_url": "https://cdn.example.com/outro.png",
    "add_outro_animation": True,
    "add_outro_focus_area": True,
    "outro_focust_area": AREA,
}
IMAGE_LIST_GENERATED = {  # sample request: generate QR outro image server-side
    "image_urls": [
        {"image_url": "https://cdn.example.com/frame1.png", "title": "Blue Lagoon Tour"},
        {"image_url": "https://cdn.example.com/frame2.png", "title": "Sunset Dinner"},
    ],
    "prompt": "Travel offer reel with a scannable booking outro",
    "metadata": {"project": "destination_campaign"},
    "video_model": "RUNWAYML",
    "aspect_ratio": "9:16",
    "language": "en",
    "enable_subtitles": True,
    "font_key": "Poppins",
    "add_narrator_avatar": True,
    "generate_outro_image": True,
    "cta_url": "https://example.com/book",
    "cta_text_top": "Scan to book",
    "cta_text_bottom": "Limited availability",
    "cta_logo": "https://cdn.example.com/logo-white.png",
    "add_footer_animation": True,
    "footer_metadata": [
        {"url": "https://example.com/blue-lagoon", "title": "Blue Lagoon Tour"},
        {"url": "https://example.com/sunset-dinner", "title": "Sunset Dinner"},
    ],
}
IMAGE_LIST_EXPRESS = {  # sample request: express CTA generation from one link
    "image_urls": [
        {"image_url": "https://cdn.example.com/frame1.png", "title": "Blue Lagoon Tour"},
        {"image_url": "https://cdn.example.com/frame2.png", "title": "Sunset Dinner"},
    ],
    "prompt": "Travel offer reel with concise scene CTAs",
    "metadata": {"brand": "Guidestination", "offer": "Bookable Bangkok experiences"},
    "video_model": "RUNWAYML",
    "aspect_ratio": "9:16",
    "language": "en",
    "enable_subtitles": True,
    "font_key": "Poppins",
    "express_cta_generation": True,
    "cta_url": "https://example.com/book",
}
EXTERNAL_IMAGE_LIST = {  # POST /external_users/image_list_to_video sample (its `input`)
    "image_urls": [{"image_url": "https://cdn.example.com/frame1.png", "title": "Blue Lagoon Tour"}],
    "video_model": "RUNWAYML",
    "generate_outro_image": True,
    "cta_url": "https://example.com/book",
    "add_footer_animation": True,
    "footer_metadata": [{"url": "https://example.com/book", "title": "Book now"}],
}
EXTERNAL_USER = {"provider": "guidestination", "unique_key": "traveler_123", "external_user_id": "traveler_123"}
OUTRO_PROVIDED = {  # POST /video/add_outro_image and update_outro_image, provided outro
    "videoSessionId": "vid_a1b2c3d4",
    "outro_image_url": "https://cdn.example.com/outro.png",
    "add_outro_animation": True,
    "add_outro_focus_area": True,
    "outro_focust_area": AREA,
}
OUTRO_GENERATED = {  # POST /video/update_outro_image, generated CTA outro request body
    "videoSessionId": "vid_a1b2c3d4",
    "generate_outro_image": True,
    "cta_url": "https://example.com/book",
    "cta_text_top": "Scan to book",
    "cta_text_bottom": "Limited availability",
    "add_outro_animation": True,
}
FOOTER_UPDATE = {
    "videoSessionId": "vid_a1b2c3d4",
    "cta_text": "Scan to book",
    "cta_logo": "https://cdn.example.com/logo-white.png",
    "cta_url": "https://example.com/book",
}
FOOTER_REMOVE = {"videoSessionId": "vid_a1b2c3d4", "remove_footer": True}
EXTREQ = "extreq_df04419ab0cf426e9b30891da71a9293"
X_OUTRO_PROVIDED = with_(without(OUTRO_PROVIDED, "videoSessionId"), request_id=EXTREQ)
X_OUTRO_GENERATED = with_(without(OUTRO_GENERATED, "videoSessionId"), request_id=EXTREQ)
X_FOOTER_UPDATE = with_(without(FOOTER_UPDATE, "videoSessionId"), request_id=EXTREQ)
TRANSLATE_SAMPLE = {
    "videoSessionId": "vid_a1b2c3d4",
    "language": "es",
    "enable_subtitles": False,
    "translate_outro": True,
    "translate_footer": True,
}
JOIN_SAMPLE = {"session_ids": ["vid_a1b2c3d4", "vid_e5f6g7h8"], "blend_scenes": True}
SESSION = {"videoSessionId": "vid_a1b2c3d4"}
MOVIE_SAMPLE = {  # create_movie: the documented fields with valid values
    "prompt": "A lone lighthouse keeper discovers a message in a bottle",
    "aspect_ratio": "9:16",
    "image_model": "FLUX1.1PRO",
    "video_model": "KLINGIMGTOVIDPRO",
    "duration": 60,
}
ENHANCE_SAMPLE = {"image_url": "https://cdn.example.com/photo.png", "resolution": "2k"}
BRANDING_SAMPLE = {"image_url": "https://cdn.example.com/watermarked.png"}
IMAGE_SET_SAMPLE = {
    "image_urls": ["https://cdn.example.com/look1.png", "https://cdn.example.com/look2.png"],
    "metadata": {"campaign": "spring"},
    "prompt": "Optional creative direction",
    "num_images": 4,
}
TILING = {
    "font_key": "en",
    "font_family": "Poppins, Helvetica, Arial, sans-serif",
    "top_left": {
        "margin_min": 28, "margin_ratio": 0.02, "diameter_min": 220, "diameter_max": 320,
        "diameter_ratio": 0.215, "inner_padding_min": 12, "inner_padding_ratio": 0.08,
    },
    "top_right": {
        "margin_min": 28, "margin_ratio": 0.02, "max_width_floor": 260, "min_width": 220, "padding_left": 36,
        "padding_right": 48, "padding_top": 30, "padding_bottom": 24, "overlay_height_min": 140,
    },
    "bottom": {
        "inset_min": 32, "inset_ratio": 0.03, "offset_min": 12, "offset_ratio": 0.02, "container_margin_min": 40,
        "container_margin_ratio": 0.08, "text_inset_min": 18, "text_inset_ratio": 0.04, "overlay_height_min": 280,
    },
}
ROLLUP_ENHANCE_SAMPLE = {
    "images": [{
        "image_url": "https://cdn.example.com/tile-1.png",
        "image_text": "Rooftop Bar",
        "image_category": "Social",
        "overlay": {"top_left": "2 hours", "top_right": "City", "footer": "Rooftop Bar"},
    }],
    "header_image_url": "https://cdn.example.com/header.png",
    "footer_image_url": "https://cdn.example.com/footer.png",
    "columns": 4,
    "max_tiles": 28,
    "image_tiling_position": TILING,
}
ROLLUP_SAMPLE = {
    "image_list": [
        {"image_url": "https://cdn.example.com/tile-1.png", "title": "Rooftop Bar", "image_category": "Social",
         "image_duration": "2 hours"},
        {"enhanced_url": "https://cdn.example.com/tile-2.png",
         "overlay": {"top_left": "Half day", "top_right": "Pool", "footer": "Cabana"}},
    ],
    "header_image_url": "https://cdn.example.com/header.png",
    "footer_image_url": "https://cdn.example.com/footer.png",
    "columns": 4,
    "max_tiles": 28,
    "image_tiling_position": TILING,
}
EC_SAMPLE = {"input_key": "uploads/user-id/image.jpg", "operations": [{"type": "enhance", "params": {"scale": 2}}]}
EC_OPERATIONS = [  # one job per operation of the table, with every documented parameter
    {"type": "enhance", "params": {"scale": 8}},
    {"type": "enhance-anime"},
    {"type": "enhance-face", "params": {"enhancement_level": 0.7}},
    {"type": "denoise", "params": {"enhancement_level": 1.0}},
    {"type": "deblur", "params": {"strength": 1.5}},
    {"type": "restore-old-photo", "params": {"face_enhancement_level": 0.5, "auto_repair_damage": True,
                                             "color_boost": 1.2, "enable_colorization": True,
                                             "colorization_strength": 0.8}},
    {"type": "remove-background", "params": {"output_format": "png"}},
    {"type": "replace-background", "params": {"background_type": "color", "background_color": "#1A2b3C"}},
    {"type": "replace-background", "params": {"background_type": "image", "background_image_key": "uploads/u/bg.jpg"}},
    {"type": "replace-background", "params": {"background_type": "transparent"}},
    {"type": "replace-background", "params": {"background_type": "prompt", "background_prompt": "a sunny beach"}},
    {"type": "blur-background", "params": {"blur_radius": 25, "output_format": "jpg"}},
    {"type": "smart-crop", "params": {"aspect_ratio": "4:3", "padding_percent": 10}},
    {"type": "remove-object", "params": {"mask_data_url": "data:image/png;base64,iVBORw0KGgo="}},
    {"type": "remove-text", "params": {"auto_detect": True}},
    {"type": "remove-text", "params": {"auto_detect": False, "mask_data_url": "data:image/png;base64,iVBORw0KGgo="}},
    {"type": "compress-optimize", "params": {"quality": 85}},
    {"type": "crop-resize", "params": {"crop": {"pixels": [0, 0, 800, 600]}}},
    {"type": "crop-resize", "params": {"crop": {"percentage": [10, 10, 80, 80]},
                                       "resize": {"width": 1024, "height": 768, "maintain_aspect": True}}},
    {"type": "convert", "params": {"output_format": "webp", "quality": 90}},
]

SAMPLES: list[tuple[str, dict[str, Any]]] = [
    (TTV, TEXT_TO_VIDEO),
    (TTV, TEXT_TO_VIDEO_PROVIDED),
    (TTV, TEXT_TO_VIDEO_CLIENT),
    (TTV, TEXT_TO_VIDEO_CLIENT_QR),
    (TTV, with_(TEXT_TO_VIDEO_CLIENT, video_model="COSMOS3SUPERI2V", image_model="IMAGEN4")),
    (ILV, IMAGE_LIST_PROVIDED),
    (ILV, IMAGE_LIST_GENERATED),
    (ILV, IMAGE_LIST_EXPRESS),
    (ILV, with_(without(IMAGE_LIST_EXPRESS, "express_cta_generation"), generateCtaTexts=True)),
    (ILV, {"image_urls": [{"imageUrl": "https://a/1.png", "activity_title": "Kayak"}, {"src": "https://a/2.png",
                                                                                      "label": "Dinner"},
                          {"enhancedUrl": "https://a/3.png", "name": "Pool", "image_text": "Pool"},
                          {"url": "https://a/4.png"}, {"enhanced_url": "https://a/5.png"}],
           "video_model": "KLINGIMGTOVIDTURBO"}),
    (X_ILV, EXTERNAL_IMAGE_LIST),
    (X_TTV, TEXT_TO_VIDEO),
    (ADD_OUTRO, OUTRO_PROVIDED),
    (UPD_OUTRO, OUTRO_PROVIDED),
    (UPD_OUTRO, OUTRO_GENERATED),
    (UPD_OUTRO, without(OUTRO_GENERATED, "add_outro_animation")),  # the curl sample
    (UPD_OUTRO, {"videoSessionId": "vid_1", "cta_url": "https://example.com/book"}),  # generated mode inferred
    (UPD_OUTRO, {"videoSessionId": "vid_1", "newOutroImageUrl": "https://cdn.example.com/o.png"}),
    (UPD_FOOTER, FOOTER_UPDATE),
    (UPD_FOOTER, FOOTER_REMOVE),
    (X_ADD_OUTRO, X_OUTRO_PROVIDED),
    (X_UPD_OUTRO, X_OUTRO_GENERATED),
    (X_UPD_OUTRO, with_(without(X_OUTRO_PROVIDED, "request_id"), session_id=EXTREQ)),
    (X_UPD_FOOTER, X_FOOTER_UPDATE),
    (X_TRANSLATE, with_(without(TRANSLATE_SAMPLE, "videoSessionId"), request_id=EXTREQ)),
    (X_JOIN, {"session_ids": [EXTREQ, "extreq_9b30891da71a9293df04419ab0cf426e"]}),
    (CLONE, SESSION),
    (TRANSLATE, TRANSLATE_SAMPLE),
    (TRANSLATE, with_(TRANSLATE_SAMPLE, language="bn")),
    (TRANSLATE, with_(TRANSLATE_SAMPLE, language="de")),  # not in the translate docs: a warning, not an error
    (JOIN, JOIN_SAMPLE),
    ("samsar.video.remove_subtitles.schema.json", SESSION),
    ("samsar.video.add_subtitles.schema.json", SESSION),
    ("samsar.video.cancel_render.schema.json", SESSION),
    (MOVIE, MOVIE_SAMPLE),
    (ENHANCE, ENHANCE_SAMPLE),
    (ENHANCE, {"image_url": "https://cdn.example.com/photo.png", "resolution": "4K"}),
    (ENHANCE, {"image_url": "https://cdn.example.com/photo.png"}),
    (BRANDING, BRANDING_SAMPLE),
    (IMAGE_SET, IMAGE_SET_SAMPLE),
    (ROLLUP_ENH, ROLLUP_ENHANCE_SAMPLE),
    (ROLLUP, ROLLUP_SAMPLE),
    (ROLLUP, {"image_list": [{"image_url": "https://cdn.example.com/tile-1.png"}], "image_tiling_position": {"font_key": "ja"}}),
    (EC, EC_SAMPLE),
    *[(EC, {"input_file": "photos/in.jpg", "operations": [op]}) for op in EC_OPERATIONS],
    (EC, {"input_key": "uploads/u/a.jpg", "operations": EC_OPERATIONS}),
]


@pytest.mark.parametrize("name,body", SAMPLES, ids=[f"{i}-{n.split('.')[-3]}" for i, (n, _) in enumerate(SAMPLES)])
def test_documented_samples_pass(name: str, body: dict[str, Any]) -> None:
    assert check(name, body) == []
    assert is_valid(name, body)


# -- the schema files themselves -----------------------------------------------------


def _walk(node: Any, path: tuple = ()):
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from _walk(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, path + (i,))


@pytest.mark.parametrize("name", schema_names())
def test_schema_file_is_a_valid_2020_12_schema(name: str) -> None:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == name
    assert schema["title"] and schema["description"]
    for path, node in _walk(schema):
        # every property an editor can offer carries a description
        in_rule = any(k in ("allOf", "if", "then", "not") or k.startswith("when_") for k in path if isinstance(k, str))
        if path and path[-1] == "properties" and path[-2:-1] != ("properties",) and not in_rule:
            for key, sub in node.items():
                assert isinstance(sub, dict) and sub.get("description"), f"{name}: {path + (key,)} has no description"
        # every cross-file reference names a schema file that exists
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            target = ref.split("#")[0]
            assert target in schema_names(), f"{name}: $ref to missing {target}"
        # an object that lists its properties says what else it takes (false: typos are caught)
        if node.get("type") == "object" and "properties" in node and not in_rule:
            assert "additionalProperties" in node, (name, path)


def test_every_route_schema_exists() -> None:
    names = set(schema_names())
    for endpoint, route in providers.ROUTES.items():
        assert route.schema in names, f"{endpoint}: {route.schema} is missing"


def test_campaign_schema_validates_each_endpoints_input() -> None:
    job = load_schema(CAMPAIGN_SCHEMA)["$defs"]["job"]
    assert sorted(job["properties"]["endpoint"]["enum"]) == sorted(providers.ROUTES)
    refs = {
        r["if"]["properties"]["endpoint"]["const"]: r["then"]["properties"]["input"]["$ref"]
        for r in job["allOf"]
        if "const" in r.get("if", {}).get("properties", {}).get("endpoint", {})
    }
    assert refs == {e: r.schema for e, r in providers.ROUTES.items()}


def test_express_aliases_match_the_provider() -> None:
    props = load_schema(ILV)["properties"]
    assert all(k in props for k in samsar.EXPRESS_CTA_KEYS)


def test_video_models_cover_the_price_table() -> None:
    """Every priced model is accepted, and every accepted model is priced."""
    table = providers.price_table()["samsar"]["video_model_per_second"]
    accepted = load_schema(TTV)["$defs"]["video_model"]["anyOf"][0]["enum"]
    assert sorted(accepted) == sorted(table)


def test_enhancecraft_operation_types_match_the_price_table() -> None:
    ops = load_schema(EC)["$defs"]["operation"]["else"]["properties"]["type"]["anyOf"][0]["enum"]
    assert sorted(ops) == sorted(providers.price_table()["enhancecraft"]["operations"])


# -- every rule and limit ---------------------------------------------------------------
# (schema, body, expected path, expected at_key, words the message must contain)

IMG = ["https://cdn.example.com/a.png"]
TTV_MIN = TEXT_TO_VIDEO_CLIENT
ILV_MIN = {"image_urls": IMG}
ROLLUP_MIN = {"images": [{"image_url": "https://cdn.example.com/t.png"}]}


def op(type_: str, params: dict | None = None) -> dict:
    o: dict[str, Any] = {"type": type_}
    if params is not None:
        o["params"] = params
    return {"input_key": "uploads/u/a.jpg", "operations": [o]}


P0 = ("operations", 0, "params")

CASES: list[tuple[str, str, dict[str, Any], tuple, bool, list[str]]] = [
    # text_to_video: required fields, enums and limits
    ("ttv-required-prompt", TTV, without(TTV_MIN, "prompt"), (), False, ["prompt"]),
    ("ttv-required-image_model", TTV, without(TTV_MIN, "image_model"), (), False, ["image_model"]),
    ("ttv-required-video_model", TTV, without(TTV_MIN, "video_model"), (), False, ["video_model"]),
    ("ttv-required-duration", TTV, without(TTV_MIN, "duration"), (), False, ["duration"]),
    ("ttv-prompt-empty", TTV, with_(TTV_MIN, prompt=""), ("prompt",), False, ["prompt", "empty"]),
    ("ttv-prompt-1001", TTV, with_(TTV_MIN, prompt="x" * 1001), ("prompt",), False, ["prompt", "1000"]),
    ("ttv-duration-241", TTV, with_(TTV_MIN, duration=241), ("duration",), False, ["duration", "240"]),
    ("ttv-duration-0", TTV, with_(TTV_MIN, duration=0), ("duration",), False, ["duration", "0"]),
    ("ttv-duration-text", TTV, with_(TTV_MIN, duration="30s"), ("duration",), False, ["duration", "number"]),
    ("ttv-video_model", TTV, with_(TTV_MIN, video_model="RUNWAY"), ("video_model",), False,
     ["video_model", "RUNWAYML", "KLINGIMGTOVIDTURBO"]),
    ("ttv-image_model", TTV, with_(TTV_MIN, image_model="FLUX1.1PRO"), ("image_model",), False,
     ["image_model", "GPTIMAGE2", "IMAGEN4"]),
    ("ttv-tone", TTV, with_(TTV_MIN, tone="moody"), ("tone",), False, ["tone", "grounded", "cinematic"]),
    ("ttv-aspect_ratio", TTV, with_(TTV_MIN, aspect_ratio="4:3"), ("aspect_ratio",), False, ["aspect_ratio", "16:9"]),
    ("ttv-language", TTV, with_(TTV_MIN, language=""), ("language",), False, ["language", "empty"]),
    ("ttv-enable_subtitles", TTV, with_(TTV_MIN, enable_subtitles="yes"), ("enable_subtitles",), False,
     ["enable_subtitles", "boolean"]),
    ("ttv-unknown-field", TTV, with_(TTV_MIN, promt="x"), ("promt",), True, ["promt", "prompt"]),
    ("ttv-cta_url-http", TTV, with_(TTV_MIN, generate_outro_image=True, cta_url="example.com/book"), ("cta_url",),
     False, ["cta_url"]),
    # text_to_video: outro and footer modes
    ("ttv-generate-needs-cta_url", TTV, with_(TTV_MIN, generate_outro_image=True), ("generate_outro_image",), True,
     ["generate_outro_image", "cta_url"]),
    *[(f"ttv-generate-omits-{k}", TTV, with_(TTV_MIN, generate_outro_image=True, cta_url="https://e.com", **{k: v}),
       (k,), True, ["generate_outro_image", k])
      for k, v in (("outro_image_url", "https://e.com/o.png"), ("outro_focust_area", AREA), ("outro_focus_area", AREA))],
    # Samsar derives the animation and the box: true (what samsar-js adds) is accepted, false contradicts it
    *[(f"ttv-generate-derives-{k}", TTV, with_(TTV_MIN, generate_outro_image=True, cta_url="https://e.com", **{k: False}),
       (k,), False, ["generate_outro_image", k, "may only be true"])
      for k in ("add_outro_animation", "add_outro_focus_area")],
    ("ttv-focus-needs-animation-missing", TTV,
     with_(TTV_MIN, outro_image_url="https://e.com/o.png", add_outro_focus_area=True, outro_focust_area=AREA),
     ("add_outro_focus_area",), True, ["add_outro_focus_area", "add_outro_animation"]),
    ("ttv-focus-needs-animation-false", TTV,
     with_(TTV_MIN, outro_image_url="https://e.com/o.png", add_outro_focus_area=True, add_outro_animation=False,
           outro_focust_area=AREA),
     ("add_outro_animation",), False, ["add_outro_focus_area", "add_outro_animation"]),
    ("ttv-focus-needs-area", TTV,
     with_(TTV_MIN, outro_image_url="https://e.com/o.png", add_outro_focus_area=True, add_outro_animation=True),
     ("add_outro_focus_area",), True, ["add_outro_focus_area", "outro_focust_area"]),
    ("ttv-area-once", TTV, with_(TTV_MIN, outro_focust_area=AREA, outro_focus_area=AREA), ("outro_focus_area",), True,
     ["outro_focust_area", "outro_focus_area"]),
    ("ttv-area-negative", TTV, with_(TTV_MIN, outro_focust_area=with_(AREA, x=-1)), ("outro_focust_area", "x"), False,
     ["outro_focust_area.x", "0"]),
    ("ttv-area-missing-height", TTV, with_(TTV_MIN, outro_focust_area=without(AREA, "height")),
     ("outro_focust_area",), False, ["height"]),
    ("ttv-footer-needs-metadata", TTV, with_(TTV_MIN, add_footer_animation=True), ("add_footer_animation",), True,
     ["add_footer_animation", "footer_metadata"]),
    ("ttv-footer-empty", TTV, with_(TTV_MIN, add_footer_animation=True, footer_metadata=[]), ("footer_metadata",),
     False, ["footer_metadata", "1"]),
    ("ttv-footer-item-title", TTV, with_(TTV_MIN, footer_metadata=[{"url": "https://e.com"}]),
     ("footer_metadata", 0), False, ["title"]),
    # image_list_to_video
    ("ilv-required-image_urls", ILV, {"prompt": "x"}, (), False, ["image_urls"]),
    ("ilv-image_urls-empty", ILV, {"image_urls": []}, ("image_urls",), False, ["image_urls", "1"]),
    ("ilv-image-object-needs-url", ILV, {"image_urls": [{"title": "Sunset"}]}, ("image_urls", 0), False,
     ["image_url", "imageUrl", "url", "src", "enhanced_url", "enhancedUrl"]),
    ("ilv-image-object-unknown-key", ILV, {"image_urls": [{"image_url": "https://a/b.png", "titel": "x"}]},
     ("image_urls", 0, "titel"), True, ["titel", "title"]),
    ("ilv-video_model", ILV, with_(ILV_MIN, video_model="LUMA"), ("video_model",), False, ["video_model"]),
    ("ilv-language", ILV, with_(ILV_MIN, language=7), ("language",), False, ["language", "string"]),
    ("ilv-generate-needs-cta_url", ILV, with_(ILV_MIN, generate_outro_image=True), ("generate_outro_image",), True,
     ["generate_outro_image", "cta_url"]),
    *[(f"ilv-generate-omits-{k}", ILV, with_(ILV_MIN, generate_outro_image=True, cta_url="https://e.com", **{k: v}),
       (k,), True, ["generate_outro_image", k])
      for k, v in (("outro_image_url", "https://e.com/o.png"), ("outro_focust_area", AREA), ("outro_focus_area", AREA))],
    *[(f"ilv-generate-derives-{k}", ILV, with_(ILV_MIN, generate_outro_image=True, cta_url="https://e.com", **{k: False}),
       (k,), False, ["generate_outro_image", k, "may only be true"])
      for k in ("add_outro_animation", "add_outro_focus_area")],
    ("ilv-express-needs-cta_url", ILV, with_(ILV_MIN, express_cta_generation=True), (), False,
     ["express_cta_generation", "cta_url"]),
    *[(f"ilv-express-alias-{a}-needs-cta_url", ILV, with_(ILV_MIN, **{a: True}), (), False,
       ["express_cta_generation", "cta_url"]) for a in samsar.EXPRESS_CTA_KEYS[1:]],
    *[(f"ilv-express-omits-{k}", ILV, with_(ILV_MIN, express_cta_generation=True, cta_url="https://e.com", **{k: v}),
       (k,), True, ["express_cta_generation", k])
      for k, v in (("cta_text_top", "Scan"), ("cta_text_bottom", "Now"),
                   ("footer_metadata", [{"url": "https://e.com", "title": "t"}]))],
    *[(f"ilv-express-omits-{k}", ILV, with_(ILV_MIN, autoGenerateCtaText=True, cta_url="https://e.com", **{k: v}),
       (k,), True, ["express_cta_generation", k])
      for k, v in (("outro_image_url", "https://e.com/o.png"), ("outro_focust_area", AREA), ("outro_focus_area", AREA))],
    *[(f"ilv-express-derives-{k}", ILV, with_(ILV_MIN, autoGenerateCtaText=True, cta_url="https://e.com", **{k: False}),
       (k,), False, ["express_cta_generation", k, "may only be true"])
      for k in ("add_outro_animation", "add_outro_focus_area")],
    ("ilv-express-switch-once", ILV,
     with_(ILV_MIN, express_cta_generation=True, expressCtaGeneration=True, cta_url="https://e.com"), (), False,
     ["express_cta_generation", "expressCtaGeneration"]),
    ("ilv-focus-needs-animation", ILV,
     with_(ILV_MIN, outro_image_url="https://e.com/o.png", add_outro_focus_area=True, outro_focus_area=AREA),
     ("add_outro_focus_area",), True, ["add_outro_focus_area", "add_outro_animation"]),
    ("ilv-focus-needs-area", ILV,
     with_(ILV_MIN, outro_image_url="https://e.com/o.png", add_outro_focus_area=True, add_outro_animation=True),
     ("add_outro_focus_area",), True, ["outro_focust_area"]),
    ("ilv-footer-needs-metadata", ILV, with_(ILV_MIN, add_footer_animation=True), ("add_footer_animation",), True,
     ["add_footer_animation", "footer_metadata"]),
    ("ilv-metadata-object", ILV, with_(ILV_MIN, metadata="launch"), ("metadata",), False, ["metadata", "object"]),
    # external-user routes
    ("x-ilv-same-rules", X_ILV, with_(ILV_MIN, generate_outro_image=True), ("generate_outro_image",), True,
     ["cta_url"]),
    ("x-ttv-same-rules", X_TTV, with_(TTV_MIN, duration=300), ("duration",), False, ["duration", "240"]),
    ("x-add-outro-needs-request_id", X_ADD_OUTRO, without(X_OUTRO_PROVIDED, "request_id"), (), False,
     ["request_id", "session_id"]),
    ("x-add-outro-not-both-ids", X_ADD_OUTRO, with_(X_OUTRO_PROVIDED, session_id=EXTREQ), ("session_id",), True,
     ["request_id", "session_id"]),
    ("x-add-outro-unknown-field", X_ADD_OUTRO, with_(X_OUTRO_PROVIDED, video_session_id="vid_1"),
     ("video_session_id",), True, ["video_session_id"]),
    ("x-add-outro-needs-outro_image_url", X_ADD_OUTRO, without(X_OUTRO_PROVIDED, "outro_image_url"), (), False,
     ["outro_image_url"]),
    ("x-update-outro-needs-request_id", X_UPD_OUTRO, without(X_OUTRO_GENERATED, "request_id"), (), False,
     ["request_id"]),
    ("x-update-outro-generate-needs-cta_url", X_UPD_OUTRO, without(X_OUTRO_GENERATED, "cta_url"),
     ("generate_outro_image",), True, ["generate_outro_image", "cta_url"]),
    ("x-update-footer-needs-cta", X_UPD_FOOTER, {"request_id": EXTREQ}, (), False,
     ["cta_text", "cta_logo", "cta_url", "remove_footer"]),
    ("x-translate-needs-request_id", X_TRANSLATE, {"language": "es"}, (), False, ["request_id"]),
    ("x-join-2", X_JOIN, {"session_ids": [EXTREQ]}, ("session_ids",), False, ["session_ids", "2"]),
    # add_outro_image
    ("add-outro-needs-url", ADD_OUTRO, without(OUTRO_PROVIDED, "outro_image_url"), (), False, ["outro_image_url"]),
    ("add-outro-needs-session", ADD_OUTRO, without(OUTRO_PROVIDED, "videoSessionId"), (), False, ["videoSessionId"]),
    ("add-outro-focus-needs-animation", ADD_OUTRO, without(OUTRO_PROVIDED, "add_outro_animation"),
     ("add_outro_focus_area",), True, ["add_outro_animation"]),
    ("add-outro-focus-needs-area", ADD_OUTRO, without(OUTRO_PROVIDED, "outro_focust_area"),
     ("add_outro_focus_area",), True, ["outro_focust_area"]),
    # samsar-js also sends the generated mode to add_outro_image: one mode at a time
    ("add-outro-one-mode", ADD_OUTRO, with_(OUTRO_PROVIDED, generate_outro_image=True, cta_url="https://e.com"),
     ("outro_image_url",), True, ["outro_image_url"]),
    ("add-outro-generated-needs-cta", ADD_OUTRO, {"videoSessionId": "vid_1", "generate_outro_image": True},
     ("generate_outro_image",), True, ["cta_url"]),
    # update_outro_image
    ("update-outro-needs-url", UPD_OUTRO, {"videoSessionId": "vid_1", "add_outro_animation": True}, (), False,
     ["outro_image_url", "outroImageUrl", "new_outro_image_url", "newOutroImageUrl", "generate_outro_image",
      "cta_url"]),
    ("update-outro-generate-false-needs-url", UPD_OUTRO, {"videoSessionId": "vid_1", "generate_outro_image": False},
     (), False, ["outro_image_url"]),
    ("update-outro-generate-needs-cta_url", UPD_OUTRO, without(OUTRO_GENERATED, "cta_url"),
     ("generate_outro_image",), True, ["generate_outro_image", "cta_url"]),
    *[(f"update-outro-generate-omits-{k}", UPD_OUTRO, with_(OUTRO_GENERATED, **{k: "https://e.com/o.png"}), (k,),
       True, ["generate_outro_image", k])
      for k in ("outro_image_url", "outroImageUrl", "new_outro_image_url", "newOutroImageUrl")],
    ("update-outro-generate-omits-area", UPD_OUTRO, with_(OUTRO_GENERATED, outro_focust_area=AREA),
     ("outro_focust_area",), True, ["generate_outro_image", "outro_focust_area"]),
    ("update-outro-url-once", UPD_OUTRO, with_(OUTRO_PROVIDED, outroImageUrl="https://e.com/o2.png"), (), False,
     ["outro_image_url", "outroImageUrl"]),
    ("update-outro-focus-needs-animation", UPD_OUTRO, with_(OUTRO_PROVIDED, add_outro_animation=False),
     ("add_outro_animation",), False, ["add_outro_focus_area", "add_outro_animation"]),
    ("update-outro-focus-needs-area", UPD_OUTRO, without(OUTRO_PROVIDED, "outro_focust_area"),
     ("add_outro_focus_area",), True, ["outro_focust_area"]),
    ("update-outro-cta_url-http", UPD_OUTRO, with_(OUTRO_GENERATED, cta_url="ftp://e.com"), ("cta_url",), False,
     ["cta_url"]),
    # update_footer_image
    ("update-footer-needs-cta", UPD_FOOTER, {"videoSessionId": "vid_1"}, (), False,
     ["cta_text", "cta_logo", "cta_url", "remove_footer"]),
    ("update-footer-remove-false-needs-cta", UPD_FOOTER, {"videoSessionId": "vid_1", "remove_footer": False}, (),
     False, ["cta_text"]),
    ("update-footer-remove-footer-bool", UPD_FOOTER, with_(FOOTER_REMOVE, remove_footer="yes"), ("remove_footer",),
     False, ["remove_footer", "boolean"]),
    # translate, join, clone, subtitles, cancel
    ("translate-needs-language", TRANSLATE, without(TRANSLATE_SAMPLE, "language"), (), False, ["language"]),
    ("translate-needs-session", TRANSLATE, without(TRANSLATE_SAMPLE, "videoSessionId"), (), False,
     ["videoSessionId"]),
    ("translate-language", TRANSLATE, with_(TRANSLATE_SAMPLE, language=""), ("language",), False,
     ["language", "empty"]),
    ("translate-no-outro_image_url", TRANSLATE, with_(TRANSLATE_SAMPLE, outro_image_url="https://e.com/o.png"),
     ("outro_image_url",), True, ["outro_image_url", "update_outro_image"]),
    ("join-needs-session_ids", JOIN, {"blend_scenes": True}, (), False, ["session_ids"]),
    ("join-2-ids", JOIN, {"session_ids": ["vid_1"]}, ("session_ids",), False, ["session_ids", "2"]),
    ("join-unique", JOIN, {"session_ids": ["vid_1", "vid_1"]}, ("session_ids",), False, ["session_ids", "unique"]),
    ("join-strings", JOIN, {"session_ids": ["vid_1", 2]}, ("session_ids", 1), False, ["session_ids[1]", "string"]),
    ("clone-needs-session", CLONE, {}, (), False, ["videoSessionId"]),
    ("clone-empty-session", CLONE, {"videoSessionId": ""}, ("videoSessionId",), False, ["videoSessionId", "empty"]),
    ("remove-subtitles-needs-session", "samsar.video.remove_subtitles.schema.json", {}, (), False,
     ["videoSessionId"]),
    ("add-subtitles-needs-session", "samsar.video.add_subtitles.schema.json", {}, (), False, ["videoSessionId"]),
    ("add-subtitles-no-session_id", "samsar.video.add_subtitles.schema.json",
     {"videoSessionId": "vid_1", "session_id": "vid_1"}, ("session_id",), True, ["session_id", "videoSessionId"]),
    ("cancel-needs-session", "samsar.video.cancel_render.schema.json", {}, (), False, ["videoSessionId"]),
    # create_movie
    ("movie-prompt-501", MOVIE, with_(MOVIE_SAMPLE, prompt="x" * 501), ("prompt",), False, ["prompt", "500"]),
    ("movie-prompt-empty", MOVIE, with_(MOVIE_SAMPLE, prompt=""), ("prompt",), False, ["prompt", "empty"]),
    ("movie-duration-121", MOVIE, with_(MOVIE_SAMPLE, duration=121), ("duration",), False, ["duration", "120"]),
    ("movie-duration-0", MOVIE, with_(MOVIE_SAMPLE, duration=0), ("duration",), False, ["duration"]),
    ("movie-image_model", MOVIE, with_(MOVIE_SAMPLE, image_model="GPTIMAGE2"), ("image_model",), False,
     ["image_model", "FLUX1.1PRO", "IMAGEN3"]),
    ("movie-video_model", MOVIE, with_(MOVIE_SAMPLE, video_model="RUNWAYML"), ("video_model",), False,
     ["video_model", "LUMA", "KLINGIMGTOVIDPRO", "PIXVERSEI2V", "WAN2.1", "VEOI2V"]),
    ("movie-aspect_ratio", MOVIE, with_(MOVIE_SAMPLE, aspect_ratio="16x9"), ("aspect_ratio",), False,
     ["aspect_ratio"]),
    *[(f"movie-required-{k}", MOVIE, without(MOVIE_SAMPLE, k), (), False, [k])
      for k in ("prompt", "image_model", "video_model", "duration")],
    # image routes
    ("enhance-needs-image_url", ENHANCE, {"resolution": "2k"}, (), False, ["image_url"]),
    ("enhance-empty-image_url", ENHANCE, {"image_url": ""}, ("image_url",), False, ["image_url", "empty"]),
    ("enhance-resolution", ENHANCE, with_(ENHANCE_SAMPLE, resolution="3k"), ("resolution",), False,
     ["resolution", "1k", "2k", "4k"]),
    ("branding-needs-image_url", BRANDING, {}, (), False, ["image_url"]),
    ("image-set-needs-urls", IMAGE_SET, {"num_images": 4}, (), False, ["image_urls"]),
    ("image-set-urls-empty", IMAGE_SET, with_(IMAGE_SET_SAMPLE, image_urls=[]), ("image_urls",), False,
     ["image_urls"]),
    ("image-set-num-0", IMAGE_SET, with_(IMAGE_SET_SAMPLE, num_images=0), ("num_images",), False,
     ["num_images", "1"]),
    ("image-set-num-text", IMAGE_SET, with_(IMAGE_SET_SAMPLE, num_images="four"), ("num_images",), False,
     ["num_images"]),
    # rollups
    ("rollup-needs-tiles", ROLLUP, {"columns": 4}, (), False, ["images", "image_list"]),
    ("rollup-one-tile-key", ROLLUP, with_(ROLLUP_MIN, image_list=ROLLUP_MIN["images"]), (), False,
     ["images", "image_list"]),
    ("rollup-tiles-empty", ROLLUP, {"images": []}, ("images",), False, ["images", "1"]),
    ("rollup-tile-needs-url", ROLLUP, {"images": [{"image_text": "Bar"}]}, ("images", 0), False,
     ["image_url", "enhanced_url"]),
    ("rollup-columns-7", ROLLUP, with_(ROLLUP_MIN, columns=7), ("columns",), False, ["columns", "6"]),
    ("rollup-columns-0", ROLLUP, with_(ROLLUP_MIN, columns=0), ("columns",), False, ["columns", "1"]),
    ("rollup-columns-int", ROLLUP, with_(ROLLUP_MIN, columns=2.5), ("columns",), False, ["columns", "integer"]),
    ("rollup-max_tiles-0", ROLLUP, with_(ROLLUP_MIN, max_tiles=0), ("max_tiles",), False, ["max_tiles", "1"]),
    ("rollup-max_tiles-int", ROLLUP, with_(ROLLUP_MIN, max_tiles=2.5), ("max_tiles",), False,
     ["max_tiles", "integer"]),
    ("rollup-tiling-font_key", ROLLUP, with_(ROLLUP_MIN, image_tiling_position=without(TILING, "font_key")),
     ("image_tiling_position",), False, ["font_key"]),
    *[(f"rollup-{group}-{key}", ROLLUP_ENH,
       with_(ROLLUP_ENHANCE_SAMPLE, image_tiling_position=with_(TILING, **{group: with_(TILING[group], **{key: 1.5})})),
       ("image_tiling_position", group, key), False, [key, "1"])
      for group in ("top_left", "top_right", "bottom") for key in TILING[group] if key.endswith("_ratio")],
    ("rollup-ratio-negative", ROLLUP_ENH,
     with_(ROLLUP_ENHANCE_SAMPLE, image_tiling_position=with_(TILING, bottom={"inset_ratio": -0.1})),
     ("image_tiling_position", "bottom", "inset_ratio"), False, ["inset_ratio", "0"]),
    ("rollup-tiling-unknown", ROLLUP_ENH,
     with_(ROLLUP_ENHANCE_SAMPLE, image_tiling_position=with_(TILING, top_left={"margn_min": 1})),
     ("image_tiling_position", "top_left", "margn_min"), True, ["margn_min", "margin_min"]),
    ("rollup-enh-needs-tiles", ROLLUP_ENH, {"max_tiles": 28}, (), False, ["images", "image_list", "image_urls"]),
    ("rollup-overlay-unknown", ROLLUP, {"images": [{"image_url": "https://a/t.png", "overlay": {"top": "x"}}]},
     ("images", 0, "overlay", "top"), True, ["top"]),
    # enhancecraft jobs
    ("ec-one-input", EC, with_(EC_SAMPLE, input_file="a.jpg"), (), False, ["input_key", "input_file"]),
    ("ec-needs-input", EC, without(EC_SAMPLE, "input_key"), (), False, ["input_key", "input_file"]),
    ("ec-needs-operations", EC, {"input_key": "uploads/u/a.jpg"}, (), False, ["operations"]),
    ("ec-operations-empty", EC, with_(EC_SAMPLE, operations=[]), ("operations",), False, ["operations", "1"]),
    ("ec-operation-type", EC, op("sharpen"), ("operations", 0, "type"), False, ["type", "enhance"]),
    ("ec-operation-needs-type", EC, {"input_key": "k", "operations": [{"params": {}}]}, ("operations", 0), False,
     ["type"]),
    ("ec-enhance-needs-params", EC, op("enhance"), ("operations", 0, "type"), True, ["enhance", "params", "scale"]),
    ("ec-enhance-needs-scale", EC, op("enhance", {}), P0, False, ["scale"]),
    ("ec-enhance-scale", EC, op("enhance", {"scale": 3}), P0 + ("scale",), False, ["scale", "2", "4", "8"]),
    ("ec-enhance-unknown-param", EC, op("enhance", {"scale": 2, "factor": 2}), P0 + ("factor",), True, ["factor"]),
    ("ec-anime-no-params", EC, op("enhance-anime", {"scale": 4}), P0 + ("scale",), True, ["scale"]),
    ("ec-face-level", EC, op("enhance-face", {"enhancement_level": 1.5}), P0 + ("enhancement_level",), False,
     ["enhancement_level", "1"]),
    ("ec-denoise-level", EC, op("denoise", {"enhancement_level": -0.1}), P0 + ("enhancement_level",), False,
     ["enhancement_level", "0"]),
    ("ec-deblur-strength-high", EC, op("deblur", {"strength": 1.6}), P0 + ("strength",), False, ["strength", "1.5"]),
    ("ec-deblur-strength-low", EC, op("deblur", {"strength": 0.4}), P0 + ("strength",), False, ["strength", "0.5"]),
    ("ec-restore-color_boost", EC, op("restore-old-photo", {"color_boost": 2.5}), P0 + ("color_boost",), False,
     ["color_boost", "2"]),
    ("ec-restore-face-level", EC, op("restore-old-photo", {"face_enhancement_level": 2}),
     P0 + ("face_enhancement_level",), False, ["face_enhancement_level", "1"]),
    ("ec-restore-colorization_strength", EC, op("restore-old-photo", {"colorization_strength": 1.1}),
     P0 + ("colorization_strength",), False, ["colorization_strength", "1"]),
    ("ec-restore-bool", EC, op("restore-old-photo", {"auto_repair_damage": "yes"}), P0 + ("auto_repair_damage",),
     False, ["auto_repair_damage", "boolean"]),
    ("ec-remove-bg-format", EC, op("remove-background", {"output_format": "webp"}), P0 + ("output_format",), False,
     ["output_format", "png", "jpg"]),
    ("ec-replace-bg-needs-params", EC, op("replace-background"), ("operations", 0, "type"), True,
     ["replace-background", "background_type"]),
    ("ec-replace-bg-needs-type", EC, op("replace-background", {"background_color": "#ffffff"}), P0, False,
     ["background_type"]),
    ("ec-replace-bg-type", EC, op("replace-background", {"background_type": "gradient"}), P0 + ("background_type",),
     False, ["background_type", "color", "image", "transparent", "prompt"]),
    ("ec-replace-bg-color-needs-color", EC, op("replace-background", {"background_type": "color"}),
     P0 + ("background_type",), True, ["background_type", "color", "background_color"]),
    ("ec-replace-bg-image-needs-key", EC, op("replace-background", {"background_type": "image"}),
     P0 + ("background_type",), True, ["background_type", "image", "background_image_key"]),
    ("ec-replace-bg-prompt-needs-prompt", EC, op("replace-background", {"background_type": "prompt"}),
     P0 + ("background_type",), True, ["background_type", "prompt", "background_prompt"]),
    ("ec-replace-bg-color-pattern", EC, op("replace-background", {"background_type": "color",
                                                                  "background_color": "red"}),
     P0 + ("background_color",), False, ["background_color"]),
    ("ec-blur-radius-high", EC, op("blur-background", {"blur_radius": 101}), P0 + ("blur_radius",), False,
     ["blur_radius", "100"]),
    ("ec-blur-radius-low", EC, op("blur-background", {"blur_radius": 0}), P0 + ("blur_radius",), False,
     ["blur_radius", "1"]),
    ("ec-blur-format", EC, op("blur-background", {"output_format": "gif"}), P0 + ("output_format",), False,
     ["output_format"]),
    ("ec-smart-crop-ratio", EC, op("smart-crop", {"aspect_ratio": "5:4"}), P0 + ("aspect_ratio",), False,
     ["aspect_ratio", "1:1", "2:3"]),
    ("ec-smart-crop-padding", EC, op("smart-crop", {"padding_percent": 31}), P0 + ("padding_percent",), False,
     ["padding_percent", "30"]),
    ("ec-remove-object-needs-params", EC, op("remove-object"), ("operations", 0, "type"), True,
     ["remove-object", "mask_data_url"]),
    ("ec-remove-object-needs-mask", EC, op("remove-object", {}), P0, False, ["mask_data_url"]),
    ("ec-remove-object-data-url", EC, op("remove-object", {"mask_data_url": "https://e.com/m.png"}),
     P0 + ("mask_data_url",), False, ["mask_data_url"]),
    ("ec-remove-text-needs-mask", EC, op("remove-text", {"auto_detect": False}), P0 + ("auto_detect",), True,
     ["auto_detect", "mask_data_url"]),
    ("ec-compress-quality", EC, op("compress-optimize", {"quality": 0}), P0 + ("quality",), False, ["quality", "1"]),
    ("ec-compress-quality-high", EC, op("compress-optimize", {"quality": 101}), P0 + ("quality",), False,
     ["quality", "100"]),
    ("ec-crop-resize-needs-params", EC, op("crop-resize"), ("operations", 0, "type"), True,
     ["crop-resize", "crop", "resize"]),
    ("ec-crop-resize-needs-one", EC, op("crop-resize", {}), P0, False, ["crop", "resize"]),
    ("ec-crop-one-box", EC, op("crop-resize", {"crop": {"pixels": [0, 0, 1, 1], "percentage": [0, 0, 1, 1]}}),
     P0 + ("crop",), False, ["pixels", "percentage"]),
    ("ec-crop-four-numbers", EC, op("crop-resize", {"crop": {"pixels": [0, 0, 1]}}), P0 + ("crop", "pixels"), False,
     ["pixels", "4"]),
    ("ec-resize-needs-size", EC, op("crop-resize", {"resize": {"maintain_aspect": True}}), P0 + ("resize",), False,
     ["width", "height"]),
    ("ec-convert-needs-params", EC, op("convert"), ("operations", 0, "type"), True, ["convert", "output_format"]),
    ("ec-convert-needs-format", EC, op("convert", {"quality": 80}), P0, False, ["output_format"]),
    ("ec-convert-format", EC, op("convert", {"output_format": "gif"}), P0 + ("output_format",), False,
     ["output_format", "webp"]),
    ("ec-convert-quality", EC, op("convert", {"output_format": "png", "quality": 101}), P0 + ("quality",), False,
     ["quality", "100"]),
]


@pytest.mark.parametrize("name,body,path,at_key,words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_rule_reports_where_and_what(name: str, body: dict, path: tuple, at_key: bool, words: list[str]) -> None:
    violations = check(name, body)
    assert len(violations) == 1, violations
    (v,) = violations
    assert v.path == path, v
    assert v.at_key is at_key, v
    for word in words:
        assert word in v.message, (word, v.message)


# -- templates -------------------------------------------------------------------------


@pytest.mark.parametrize("name,body", [
    (TTV, with_(TTV_MIN, duration="{{ matrix.seconds }}", video_model="{{ matrix.model }}",
                enable_subtitles="{{ vars.subs }}", language="{{ matrix.language }}")),
    (ILV, {"image_urls": "{{ needs.stills | map(attribute='result_url') | list }}", "generate_outro_image": True,
           "cta_url": "{{ vars.book_url }}?city={{ matrix.city }}", "footer_metadata": "{{ matrix.footer }}"}),
    (JOIN, {"session_ids": "{{ needs.teaser | map(attribute='session_id') | list }}"}),
    (ROLLUP, {"images": [{"image_url": "{{ needs.stills.result_url }}"}], "columns": "{{ matrix.columns }}"}),
    (EC, {"input_file": "{{ matrix.file }}", "operations": [{"type": "enhance", "params": {"scale": "{{ vars.s }}"}}]}),
])
def test_templates_stand_in_for_any_value(name: str, body: dict) -> None:
    """Editors see the campaign before templates render; the rendered value is checked again."""
    assert check(name, body) == []


def test_rendered_values_are_still_checked() -> None:
    assert check(TTV, with_(TTV_MIN, duration="thirty"))[0].path == ("duration",)


# -- the campaign file ---------------------------------------------------------------------

CAMPAIGN_EXAMPLE = (Path(__file__).parents[1] / "data" / "contract-example.yaml").read_text()


def campaign() -> dict[str, Any]:
    return yaml.safe_load(CAMPAIGN_EXAMPLE)


def test_campaign_example_from_the_contract_is_valid() -> None:
    assert check(CAMPAIGN_SCHEMA, campaign()) == []


def test_campaign_with_everything() -> None:
    doc = campaign()
    doc["providers"] = {
        "samsar": {"idempotent_keys": True, "concurrency": 4, "requests_per_minute": 30},
        "enhancecraft": {"tier": "business", "idempotent_keys": False, "concurrency": 2, "requests_per_minute": 0.5},
    }
    doc["pricing"] = {
        "samsar": {"video_model_per_second": {"RUNWAYML": 28}, "image_enhance": {"4k": 55}, "source": "contract"},
        "samsar_create_movie": {"per_second": {"VEOI2V": 20}},
        "enhancecraft": {"operations": {"enhance": 10, "convert": 0}, "tiers_requests_per_minute": {"pro": 60}},
    }
    doc["jobs"]["teaser"]["matrix"] = {
        "listing": {"from": "listings.csv"},
        "language": ["en", "es"],
        "include": [{"language": "fr"}],
        "exclude": [{"language": "es", "listing": {"id": 3}}],
    }
    doc["jobs"]["teaser"]["estimate"] = {"duration": {"min": 20, "max": 40}}
    doc["jobs"]["teaser"]["webhookUrl"] = "https://example.com/hook"
    doc["jobs"]["ext"] = {
        "endpoint": "samsar/external_users/image_list_to_video",
        "external_user": {"provider": "whop", "unique_key": "whop:usr_123", "external_user_id": "usr_123",
                          "external_app_id": "app_abc", "username": "roy24x7"},
        "input": EXTERNAL_IMAGE_LIST,
        "webhookUrl": "https://example.com/webhook",
    }
    doc["jobs"]["rollup"] = {"endpoint": "samsar/image/enhance_and_generate_rollup_banner",
                             "input": ROLLUP_ENHANCE_SAMPLE, "estimate": {"low_res_images": {"min": 0, "max": 1}}}
    doc["jobs"]["photo"] = {"endpoint": "enhancecraft/jobs", "input": {"input_file": "in.jpg",
                                                                      "operations": EC_OPERATIONS}}
    doc["jobs"]["movie"] = {"endpoint": "samsar/video/create_movie", "input": MOVIE_SAMPLE}
    assert check(CAMPAIGN_SCHEMA, doc) == []


def _job(**job: Any) -> dict[str, Any]:
    return {"version": 1, "name": "t", "jobs": {"j": job}}


TTV_JOB = {"endpoint": "samsar/video/text_to_video", "input": TTV_MIN}
J = ("jobs", "j")

CAMPAIGN_CASES: list[tuple[str, dict[str, Any], tuple, bool, list[str]]] = [
    ("version", with_(campaign(), version=2), ("version",), False, ["version", "1"]),
    ("needs-version", without(campaign(), "version"), (), False, ["version"]),
    ("needs-name", without(campaign(), "name"), (), False, ["name"]),
    ("name-empty", with_(campaign(), name=""), ("name",), False, ["name", "empty"]),
    ("needs-jobs", without(campaign(), "jobs"), (), False, ["jobs"]),
    ("jobs-empty", with_(campaign(), jobs={}), ("jobs",), False, ["jobs", "empty"]),
    ("unknown-top-key", with_(campaign(), job={}), ("job",), True, ["job", "jobs"]),
    ("budget-negative", with_(campaign(), budget={"max_credits": -1}), ("budget", "max_credits"), False,
     ["max_credits", "0"]),
    ("budget-needs-max", with_(campaign(), budget={}), ("budget",), False, ["max_credits"]),
    ("tier", with_(campaign(), providers={"enhancecraft": {"tier": "free"}}), ("providers", "enhancecraft", "tier"),
     False, ["tier", "pro", "business", "enterprise"]),
    ("concurrency", with_(campaign(), providers={"samsar": {"concurrency": 0}}), ("providers", "samsar", "concurrency"),
     False, ["concurrency", "1"]),
    ("rpm", with_(campaign(), providers={"samsar": {"requests_per_minute": 0}}),
     ("providers", "samsar", "requests_per_minute"), False, ["requests_per_minute", "0"]),
    ("unknown-provider", with_(campaign(), providers={"openai": {}}), ("providers", "openai"), True, ["openai"]),
    ("pricing-unknown-key", with_(campaign(), pricing={"samsar": {"video_model_per_sec": {}}}),
     ("pricing", "samsar", "video_model_per_sec"), True, ["video_model_per_sec", "video_model_per_second"]),
    ("pricing-negative", with_(campaign(), pricing={"samsar": {"join_per_second": -3}}),
     ("pricing", "samsar", "join_per_second"), False, ["join_per_second", "0"]),
    ("pricing-operation", with_(campaign(), pricing={"enhancecraft": {"operations": {"sharpen": 5}}}),
     ("pricing", "enhancecraft", "operations"), False, ["sharpen"]),
    ("job-name", {"version": 1, "name": "t", "jobs": {"1st": TTV_JOB}}, ("jobs",), False, ["1st"]),
    ("job-needs-endpoint", _job(input=TTV_MIN), J, False, ["endpoint"]),
    ("job-needs-input", _job(endpoint="samsar/video/text_to_video"), J, False, ["input"]),
    ("job-endpoint", _job(endpoint="samsar/video/text2video", input={}), J + ("endpoint",), False, ["endpoint"]),
    ("job-unknown-key", _job(**TTV_JOB, webhook="https://e.com"), J + ("webhook",), True, ["webhook", "webhookUrl"]),
    ("job-needs-unique", _job(**TTV_JOB, needs=["a", "a"]), J + ("needs",), False, ["needs", "unique"]),
    ("job-needs-names", _job(**TTV_JOB, needs=["a-b"]), J + ("needs", 0), False, ["needs[0]"]),
    ("matrix-empty-axis", _job(**TTV_JOB, matrix={"city": []}), J + ("matrix", "city"), False, ["city"]),
    ("matrix-from", _job(**TTV_JOB, matrix={"row": {"from": "rows.txt"}}), J + ("matrix", "row", "from"), False,
     [".csv", ".json", ".yaml"]),
    ("matrix-key", _job(**TTV_JOB, matrix={"my-city": ["a"]}), J + ("matrix",), False, ["my-city"]),
    ("matrix-include", _job(**TTV_JOB, matrix={"city": ["a"], "include": {"city": "b"}}),
     J + ("matrix", "include"), False, ["include", "array"]),
    ("matrix-exclude-items", _job(**TTV_JOB, matrix={"city": ["a"], "exclude": ["a"]}),
     J + ("matrix", "exclude", 0), False, ["exclude[0]", "object"]),
    ("estimate-duration", _job(**TTV_JOB, estimate={"duration": 0}), J + ("estimate", "duration"), False,
     ["estimate.duration"]),
    ("estimate-duration-range", _job(**TTV_JOB, estimate={"duration": {"min": 5}}), J + ("estimate", "duration"),
     False, ["estimate.duration", "min", "max"]),
    ("estimate-low-res", _job(**TTV_JOB, estimate={"low_res_images": 1.5}), J + ("estimate", "low_res_images"),
     False, ["estimate.low_res_images"]),
    ("estimate-unknown", _job(**TTV_JOB, estimate={"seconds": 5}), J + ("estimate", "seconds"), True, ["seconds"]),
    # (not pointed at `endpoint`: the loader reports endpoint problems itself and skips schema errors there)
    ("external-needs-user", _job(endpoint="samsar/external_users/text_to_video", input=TTV_MIN), J, False,
     ["external_user", "external_users"]),
    ("external-user-elsewhere", _job(**TTV_JOB, external_user=EXTERNAL_USER), J + ("external_user",), True,
     ["external_user"]),
    ("external-user-provider", _job(endpoint="samsar/external_users/text_to_video", input=TTV_MIN,
                                    external_user={"external_user_id": "u1"}), J + ("external_user",), False,
     ["provider"]),
    ("external-user-id", _job(endpoint="samsar/external_users/text_to_video", input=TTV_MIN,
                              external_user={"provider": "p"}), J + ("external_user",), False,
     ["unique_key", "external_user_id"]),
    ("webhook-on-image-route", _job(endpoint="samsar/image/enhance", input=ENHANCE_SAMPLE,
                                    webhookUrl="https://e.com"), J + ("webhookUrl",), True, ["webhookUrl"]),
    # the input is checked against the endpoint's schema (editors get completion from this)
    ("input-per-endpoint", _job(endpoint="samsar/video/text_to_video", input=with_(TTV_MIN, video_model="SORA")),
     J + ("input", "video_model"), False, ["video_model"]),
    ("input-alias-endpoint", _job(endpoint="samsar/video/create", input=with_(TTV_MIN, duration=500)),
     J + ("input", "duration"), False, ["duration", "240"]),
    ("input-rule", _job(endpoint="samsar/video/image_list_to_video",
                        input={"image_urls": IMG, "generate_outro_image": True}),
     J + ("input", "generate_outro_image"), True, ["cta_url"]),
    ("input-enhancecraft", _job(endpoint="enhancecraft/jobs", input=op("enhance", {"scale": 3})),
     J + ("input", "operations", 0, "params", "scale"), False, ["scale"]),
    ("input-rollup-alias", _job(endpoint="samsar/image/enhance_and_generate_rollup_banner", input={}),
     J + ("input",), False, ["images", "image_list", "image_urls"]),
]


@pytest.mark.parametrize("doc,path,at_key,words", [c[1:] for c in CAMPAIGN_CASES], ids=[c[0] for c in CAMPAIGN_CASES])
def test_campaign_rules(doc: dict, path: tuple, at_key: bool, words: list[str]) -> None:
    violations = check(CAMPAIGN_SCHEMA, doc)
    assert len(violations) == 1, violations
    (v,) = violations
    assert v.path == path, v
    assert v.at_key is at_key, v
    for word in words:
        assert word in v.message, (word, v.message)
