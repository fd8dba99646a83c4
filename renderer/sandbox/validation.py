"""Request checks: our JSON Schemas first, then the few rules the server needs to act.

The schemas (``schemas/*.schema.json``) are the contract; a route whose schema file
does not exist yet is simply not schema-checked. The built-in rules below are what a
server cannot work without (a priced model, a source session id, a duration it can
bill), each naming the field the way the schemas' messages do.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, Callable, Mapping

from renderer.providers.base import Route
from renderer.providers.samsar import SOURCE_KEYS
from renderer.spec.schemas import check, is_valid

_present: set[str] = set()  # only positive answers are cached: a schema may land while we run


def _schema_exists(name: str) -> bool:
    if name in _present:
        return True
    try:
        exists = resources.files("renderer.schemas").joinpath(name).is_file()
    except (ModuleNotFoundError, FileNotFoundError):
        return False
    if exists:
        _present.add(name)
    return exists


def validate(route: Route, body: Mapping[str, Any], table: Mapping[str, Any]) -> str | None:
    """The problems with a (canonical, wrapped) request body, as one message; None if fine.

    Like the campaign's `input`, a wrapped route's schema describes the fields inside
    `input`, so its messages name those fields as a campaign author writes them.
    """
    checked = body["input"] if route.wrap_input else body
    # is_valid is the compiled gate; the slower check() runs only to word a refusal
    if _schema_exists(route.schema) and not is_valid(route.schema, checked):
        violations = check(route.schema, checked)
        if violations:
            return "; ".join(dict.fromkeys(v.message for v in violations[:5]))
    rule = _RULES.get(route.family)
    if rule is None:
        return None
    if route.wrap_input:
        return _external_user(route, body) or rule(route, checked, "input.", table)
    return rule(route, checked, "", table)


# -- small predicates ------------------------------------------------------------


def _str(v: Any) -> bool:
    return isinstance(v, str) and bool(v.strip())


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def source_id(inp: Mapping[str, Any]) -> Any:
    for key in SOURCE_KEYS:
        if key in inp:
            return inp[key]
    return None


def _need_source(inp: Mapping[str, Any], p: str) -> str | None:
    if not _str(source_id(inp)):
        return f"missing required field {p}videoSessionId (or {p}request_id / {p}session_id)"
    return None


def _external_user(route: Route, body: Mapping[str, Any]) -> str | None:
    creates = route.family in ("text_to_video", "image_list_to_video")
    if route.endpoint.startswith("samsar/external_users/") and creates:
        if not isinstance(body.get("external_user"), Mapping):
            return "missing required field external_user"
    return None


def _model(inp: Mapping[str, Any], p: str, table: Mapping[str, Any], required: bool) -> str | None:
    rates = table["samsar"]["video_model_per_second"]
    model = inp.get("video_model")
    if model is None and not required:
        return None
    if not _str(model):
        return f"missing required field {p}video_model"
    if rates.get(model) is None:
        supported = ", ".join(k for k, v in rates.items() if v is not None)
        return f"{p}video_model: {model!r} is not supported; use one of: {supported}"
    return None


# -- rules per family --------------------------------------------------------------

Rule = Callable[[Route, Mapping[str, Any], str, Mapping[str, Any]], "str | None"]


def _text_to_video(route: Route, inp: Mapping[str, Any], p: str, table: Mapping[str, Any]) -> str | None:
    prompt = inp.get("prompt")
    if not _str(prompt):
        return f"missing required field {p}prompt" if prompt is None else f"{p}prompt must not be empty"
    if len(prompt) > 1000:
        return f"{p}prompt is {len(prompt)} characters long; the limit is 1000"
    if not _str(inp.get("image_model")):
        return f"missing required field {p}image_model"
    problem = _model(inp, p, table, required=True)
    if problem:
        return problem
    duration = inp.get("duration")
    if not _num(duration):
        return f"missing required field {p}duration" if duration is None else f"{p}duration must be a number"
    if duration <= 0 or duration > 240:
        return f"{p}duration is {duration}; it must be more than 0 and at most 240"
    return None


_IMAGE_KEYS = ("image_url", "imageUrl", "url", "src", "enhanced_url", "enhancedUrl")


def _image_item(item: Any, keys: tuple[str, ...] = _IMAGE_KEYS) -> bool:
    if _str(item):
        return True
    return isinstance(item, Mapping) and any(_str(item.get(k)) for k in keys)


def _image_list_to_video(route: Route, inp: Mapping[str, Any], p: str, table: Mapping[str, Any]) -> str | None:
    urls = inp.get("image_urls")
    if not isinstance(urls, list) or not urls:
        return f"{p}image_urls must be a non-empty array"
    for i, item in enumerate(urls):
        if not _image_item(item):
            return f"{p}image_urls[{i}] must be a URL or an object with image_url"
    return _model(inp, p, table, required=False)


def _translate(route: Route, inp: Mapping[str, Any], p: str, table: Mapping[str, Any]) -> str | None:
    problem = _need_source(inp, p)
    if problem:
        return problem
    if not _str(inp.get("language")):
        return f"missing required field {p}language"
    return None


def _join(route: Route, inp: Mapping[str, Any], p: str, table: Mapping[str, Any]) -> str | None:
    ids = inp.get("session_ids")
    if not isinstance(ids, list) or len(ids) < 2 or not all(_str(i) for i in ids):
        return f"{p}session_ids must be an array of 2 or more session ids"
    if len(set(ids)) != len(ids):
        return f"{p}session_ids has repeated items; they must be unique"
    return None


def _source_only(route: Route, inp: Mapping[str, Any], p: str, table: Mapping[str, Any]) -> str | None:
    return _need_source(inp, p)


_OUTRO_URL_KEYS = ("outro_image_url", "outroImageUrl", "new_outro_image_url", "newOutroImageUrl")


def _outro_footer(route: Route, inp: Mapping[str, Any], p: str, table: Mapping[str, Any]) -> str | None:
    problem = _need_source(inp, p)
    if problem:
        return problem
    kind = route.endpoint.rsplit("/", 1)[-1]
    has_url = any(_str(inp.get(k)) for k in _OUTRO_URL_KEYS)
    if kind == "add_outro_image" and not has_url:
        return f"missing required field {p}outro_image_url"
    if kind == "update_outro_image":
        generate = inp.get("generate_outro_image") is True or (not has_url and _str(inp.get("cta_url")))
        if generate and has_url:
            return f"{p}generate_outro_image and {p}outro_image_url cannot be used together"
        if generate and not _str(inp.get("cta_url")):
            return f"missing required field {p}cta_url (required when generate_outro_image is true)"
        if not generate and not has_url:
            return f"missing required field {p}outro_image_url (or set generate_outro_image with cta_url)"
    if kind == "update_footer_image" and inp.get("remove_footer") is not True:
        if not any(_str(inp.get(k)) for k in ("cta_text", "cta_logo", "cta_url")):
            return f"{p}cta_text, {p}cta_logo or {p}cta_url is required unless {p}remove_footer is true"
    return None


def _create_movie(route: Route, inp: Mapping[str, Any], p: str, table: Mapping[str, Any]) -> str | None:
    prompt = inp.get("prompt")
    if not _str(prompt):
        return f"missing required field {p}prompt" if prompt is None else f"{p}prompt must not be empty"
    if len(prompt) > 500:
        return f"{p}prompt is {len(prompt)} characters long; the limit is 500"
    if inp.get("image_model") not in ("FLUX1.1PRO", "IMAGEN3"):
        return f"{p}image_model must be one of: FLUX1.1PRO, IMAGEN3"
    models = table["samsar_create_movie"]["per_second"]
    if inp.get("video_model") not in models:
        return f"{p}video_model must be one of: {', '.join(models)}"
    duration = inp.get("duration")
    if not _num(duration) or duration <= 0 or duration > 120:
        return f"{p}duration must be a number more than 0 and at most 120"
    return None


def _image_url(route: Route, inp: Mapping[str, Any], p: str, table: Mapping[str, Any]) -> str | None:
    if not _str(inp.get("image_url")):
        return f"missing required field {p}image_url"
    return None


def _image_enhance(route: Route, inp: Mapping[str, Any], p: str, table: Mapping[str, Any]) -> str | None:
    problem = _image_url(route, inp, p, table)
    if problem:
        return problem
    res = inp.get("resolution")
    allowed = table["samsar"]["image_enhance"]
    if res is not None and not (isinstance(res, str) and res.lower() in allowed):
        return f"{p}resolution: {res!r} is not allowed; use one of: {', '.join(allowed)}"
    return None


def _add_image_set(route: Route, inp: Mapping[str, Any], p: str, table: Mapping[str, Any]) -> str | None:
    urls = inp.get("image_urls")
    if not isinstance(urls, list) or not urls or not all(_str(u) for u in urls):
        return f"{p}image_urls must be a non-empty array of URL strings"
    n = inp.get("num_images")
    if n is not None and (not _num(n) or n <= 0):
        return f"{p}num_images must be a positive number"
    return None


def rollup_images(inp: Mapping[str, Any]) -> Any:
    return next((inp[k] for k in ("images", "image_list", "image_urls") if k in inp), None)


def _rollup(route: Route, inp: Mapping[str, Any], p: str, table: Mapping[str, Any]) -> str | None:
    images = rollup_images(inp)
    if not isinstance(images, list) or not images:
        return f"{p}images (or image_list / image_urls) must be a non-empty array"
    for i, item in enumerate(images):
        if not _image_item(item, ("image_url", "enhanced_url")):
            return f"{p}images[{i}] must include image_url or enhanced_url"
    columns = inp.get("columns")
    if columns is not None and (not isinstance(columns, int) or isinstance(columns, bool) or not 1 <= columns <= 6):
        return f"{p}columns must be an integer from 1 to 6"
    tiles = inp.get("max_tiles")
    if tiles is not None and (not isinstance(tiles, int) or isinstance(tiles, bool) or tiles < 1):
        return f"{p}max_tiles must be a positive integer"
    return None


_OP_PARAMS: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    "enhance": lambda a: None if a.get("scale") in (2, 4, 8) else "scale must be 2, 4 or 8",
    "convert": lambda a: None if a.get("output_format") in ("png", "jpg", "jpeg", "webp") else "output_format must be png, jpg, jpeg or webp",
    "replace-background": lambda a: None if a.get("background_type") in ("color", "image", "transparent", "prompt") else "background_type must be color, image, transparent or prompt",
    "remove-object": lambda a: None if _str(a.get("mask_data_url")) else "mask_data_url is required",
    "crop-resize": lambda a: None if ("crop" in a or "resize" in a) else "crop or resize is required",
}


def _enhancecraft(route: Route, body: Mapping[str, Any], p: str, table: Mapping[str, Any]) -> str | None:
    if not _str(body.get("input_key")):
        return "missing required field input_key"
    ops = body.get("operations")
    if not isinstance(ops, list) or not ops:
        return "operations must be a non-empty array"
    known = table["enhancecraft"]["operations"]
    for i, op in enumerate(ops):
        kind = op.get("type") if isinstance(op, Mapping) else None
        if kind not in known:
            return f"operations[{i}].type: {kind!r} is not an operation; use one of: {', '.join(known)}"
        params = op.get("params", {})
        if not isinstance(params, Mapping):
            return f"operations[{i}].params must be an object"
        check_params = _OP_PARAMS.get(kind)
        problem = check_params(params) if check_params else None
        if problem:
            return f"operations[{i}].params.{problem}"
    return None


_RULES: dict[str, Rule] = {
    "text_to_video": _text_to_video,
    "image_list_to_video": _image_list_to_video,
    "translate": _translate,
    "join": _join,
    "clone": _source_only,
    "subtitles": _source_only,
    "cancel": _source_only,
    "outro_footer": _outro_footer,
    "create_movie": _create_movie,
    "image_enhance": _image_enhance,
    "image_remove_branding": _image_url,
    "image_add_image_set": _add_image_set,
    "image_rollup": _rollup,
    "image_rollup_enhance": _rollup,
    "enhancecraft_job": _enhancecraft,
}
