"""Samsar: who it is and the routes campaigns name (the docs', and samsar-js's paths beside them)."""

from __future__ import annotations

from typing import Any

from renderer.vocabulary import Route

NAME = "samsar"
TITLE = "Samsar"  # as people write it
ENV_KEY = "SAMSAR_API_KEY"
ENV_BASE_URL = "SAMSAR_BASE_URL"
DEFAULT_BASE_URL = "https://api.samsar.one/v1"

_VIDEO = ("webhookUrl",)
_EXTERNAL = ("external_user", "webhookUrl")
# A step render's controls, as samsar-js sends them beside `input` (its default: a straight,
# "1-step express" render; an approval asks for False and ["ai_video_generation"] instead).
STEP_CONTROLS: tuple[tuple[str, Any], ...] = (("auto_render_full_video", True), ("manual_step_stages", ()))
STEP_STATUS_PATH = "/video/step/{request_id}/status"


def _video(route: str, family: str, *, path: str | None = None, schema: str | None = None, **kw: Any) -> Route:
    external = route.startswith("external_users/")
    v2 = route.startswith("v2/")
    kw.setdefault("status_path", "/external_users/status" if external else "/status")
    return Route(
        endpoint=f"samsar/{route}",
        provider=NAME,
        path=path or f"/{route.removeprefix('v2/')}",
        schema=schema or f"samsar.{route.replace('/', '.')}.schema.json",
        family=family,
        wrap_input=True,
        job_keys=_EXTERNAL if (external or v2) else _VIDEO,  # v2: external_user optional (samsar-js options.externalUser)
        api_version="v2" if v2 else "v1",
        **kw,
    )


def _image(route: str, family: str, **kw: Any) -> Route:
    kw.setdefault("schema", f"samsar.{route.replace('/', '.')}.schema.json")
    kw.setdefault("status_path", "/image/status")
    kw.setdefault("path", f"/{route}")
    return Route(endpoint=f"samsar/{route}", provider=NAME, family=family, **kw)


# Routes whose answer is the result (samsar-js types them synchronous): nothing to poll.
_AT_ONCE: dict[str, Any] = {"creates_session": False}

ROUTES: tuple[Route, ...] = (
    _video("video/text_to_video", "text_to_video"),
    _video("video/create", "text_to_video", schema="samsar.video.text_to_video.schema.json",
           alias_of="samsar/video/text_to_video", note="the path samsar-js calls for text-to-video"),
    _video("video/image_list_to_video", "image_list_to_video"),
    _video("video/translate_video", "translate"),
    _video("video/retranslate_video", "translate", schema="samsar.video.translate_video.schema.json",
           alias_of="samsar/video/translate_video"),
    _video("video/join_videos", "join"),
    _video("video/clone", "clone"),
    _video("video/add_subtitles", "subtitles"),
    _video("video/remove_subtitles", "subtitles"),
    _video("video/add_outro_image", "outro_footer"),
    _video("video/update_outro_image", "outro_footer"),
    _video("video/update_footer_image", "outro_footer"),
    _video("video/cancel_render", "cancel", creates_session=False),
    Route(
        endpoint="samsar/video/create_movie", provider=NAME, path="/video/create_movie",
        schema="samsar.video.create_movie.schema.json", family="create_movie", wrap_input=True,
        job_keys=_VIDEO, status_path="/video/status",
    ),
    _video("external_users/text_to_video", "text_to_video", requires=("external_user",)),
    _video("external_users/image_list_to_video", "image_list_to_video", requires=("external_user",)),
    # follow-ups: an internal session id without external_user is billed to the account (video doc)
    _video("external_users/add_outro_image", "outro_footer"),
    _video("external_users/update_outro_image", "outro_footer"),
    _video("external_users/update_footer_image", "outro_footer"),
    _video("external_users/translate_video", "translate"),
    _video("external_users/join_videos", "join"),
    # the /v2 omni routes (samsar-js README; priced under samsar_v2, unpublished but for clone)
    _video("v2/text_to_video", "text_to_video"),
    _video("v2/image_list_to_video", "image_list_to_video"),
    _video("v2/translate_video", "translate"),
    _video("v2/video/clone", "clone", schema="samsar.video.clone.schema.json", alias_of="samsar/video/clone"),
    _video("v2/video/regenerate_avatar", "regenerate_avatar"),
    _video("v2/update_outro_image", "outro_footer"),
    _video("v2/update_footer_image", "outro_footer"),
    _video("v2/add_outro_image", "outro_footer"),
    _video("v2/image/assign_title", "image_assign_title", **_AT_ONCE),
    _video("v2/video/step/text_to_video", "step_text_to_video", beside=STEP_CONTROLS, status_path=STEP_STATUS_PATH),
    _video("v2/video/step/image_to_video", "step_image_to_video", beside=STEP_CONTROLS, status_path=STEP_STATUS_PATH),
    _image("image/enhance", "image_enhance"),
    _image("image/remove_branding", "image_remove_branding"),
    _image("image/replace_branding", "image_replace_branding",
           note="the samsar-js README's replaceBrandingFromImage; its path is assumed (no client method names it)"),
    _image("image/add_image_set", "image_add_image_set"),
    _image("image/create_rollup_banner", "image_rollup"),
    _image("image/create_rollup_banner_with_enhance", "image_rollup_enhance"),
    _image("image/enhance_and_generate_rollup_banner", "image_rollup_enhance",
           schema="samsar.image.create_rollup_banner_with_enhance.schema.json",
           alias_of="samsar/image/create_rollup_banner_with_enhance",
           note="the path samsar-js calls for rollup-with-enhance"),
    _image("image/assign_title", "image_assign_title", status_path="/status", **_AT_ONCE),
    # a created template is read back (free) by GET /image/template_json: its "status"
    _image("image/receipt_templates/create", "receipt_template_create", status_path="/image/template_json", **_AT_ONCE),
    _image("image/receipt_templates/query", "receipt_query", status_path="/status", **_AT_ONCE),
    _image("receipts/create_template", "receipt_template_create", path="/image/receipt_templates/create",
           schema="samsar.image.receipt_templates.create.schema.json", status_path="/image/template_json",
           alias_of="samsar/image/receipt_templates/create", **_AT_ONCE),
    _image("receipts/query", "receipt_query", path="/image/receipt_templates/query",
           schema="samsar.image.receipt_templates.query.schema.json", status_path="/status",
           alias_of="samsar/image/receipt_templates/query", **_AT_ONCE),
)

SOURCE_KEYS = ("videoSessionId", "request_id", "session_id")  # the session a follow-up acts on
ROLLUP_FRAME_KEYS = ("header_image_url", "footer_image_url")  # rollup-with-enhance: enhanced like tiles when below the minimum
# Models whose price prices.json takes from samsar-js (dist/express-video-pricing.js) because the
# docs omit them: campaigns may name them, but GET /video/supported_models does not list them.
CLIENT_ONLY_VIDEO_MODELS = ("COSMOS3SUPERI2V", "KLINGIMGTOVIDTURBO")
CLIENT_ONLY_IMAGE_MODELS = ("IMAGEN4",)
# The route that lets a paused step render continue (not a campaign endpoint: an approval sends it).
PROCESS_NEXT = Route(
    endpoint="samsar/v2/video/step/process_next", provider=NAME, path="/video/step/{request_id}/process_next",
    schema="samsar.v2.video.step.process_next.schema.json", family="step_process_next", api_version="v2",
    creates_session=False,
)
