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


def _video(route: str, family: str, *, path: str | None = None, schema: str | None = None, **kw: Any) -> Route:
    external = route.startswith("external_users/")
    return Route(
        endpoint=f"samsar/{route}",
        provider=NAME,
        path=path or f"/{route.removeprefix('v2/')}",
        schema=schema or f"samsar.{route.replace('/', '.')}.schema.json",
        family=family,
        wrap_input=True,
        job_keys=_EXTERNAL if external else _VIDEO,
        status_path="/external_users/status" if external else "/status",
        **kw,
    )


def _image(route: str, family: str, **kw: Any) -> Route:
    kw.setdefault("schema", f"samsar.{route.replace('/', '.')}.schema.json")
    return Route(
        endpoint=f"samsar/{route}", provider=NAME, path=f"/{route}", family=family,
        status_path="/image/status", **kw,
    )


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
    _video("v2/video/clone", "clone", schema="samsar.video.clone.schema.json", api_version="v2",
           alias_of="samsar/video/clone"),
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
    _video("external_users/text_to_video", "text_to_video"),
    _video("external_users/image_list_to_video", "image_list_to_video"),
    _video("external_users/add_outro_image", "outro_footer"),
    _video("external_users/update_outro_image", "outro_footer"),
    _video("external_users/update_footer_image", "outro_footer"),
    _video("external_users/translate_video", "translate"),
    _video("external_users/join_videos", "join"),
    _image("image/enhance", "image_enhance"),
    _image("image/remove_branding", "image_remove_branding"),
    _image("image/add_image_set", "image_add_image_set"),
    _image("image/create_rollup_banner", "image_rollup"),
    _image("image/create_rollup_banner_with_enhance", "image_rollup_enhance"),
    _image("image/enhance_and_generate_rollup_banner", "image_rollup_enhance",
           schema="samsar.image.create_rollup_banner_with_enhance.schema.json",
           alias_of="samsar/image/create_rollup_banner_with_enhance",
           note="the path samsar-js calls for rollup-with-enhance"),
)

SOURCE_KEYS = ("videoSessionId", "request_id", "session_id")  # the session a follow-up acts on
