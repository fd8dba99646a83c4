"""Samsar's rules between fields that JSON Schema cannot say (the provider's ``check``).

- The outro focus box lies inside the canvas (video doc: "{x, y, width, height} within the
  output canvas (16:9 is 1792x1024, 9:16 is 1024x1792)"; follow-ups: "validated against the
  session canvas"). A creation route's canvas comes from its ``aspect_ratio``; a follow-up's
  from its source session when the caller knows it (the stand-in does), else the box must
  fit the canvas of either aspect ratio.
- ``font_key`` is one ``GET /supported_fonts`` lists for the chosen language (``default``
  when the language has no list of its own; any list for ``auto``). The table is the docs'
  (``fonts.json``): offline, ``validate`` warns (the live route may list more), the stand-in
  refuses, and ``renderer pricing refresh`` compares the table with the live route.
- samsar-js sends an external follow-up's id twice (``request_id`` and ``videoSessionId``):
  both must name the same video.

Values not known yet (a pending upstream output, a template) are judged when they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from renderer.providers.defaults import package_json
from renderer.providers.protocol import CheckContext, Remark
from renderer.vocabulary import Pending, Route

CANVAS = {"16:9": (1792, 1024), "9:16": (1024, 1792)}
FOCUS_KEYS = ("outro_focust_area", "outro_focus_area")
# families whose body makes a new video (its canvas from aspect_ratio); the image-list ones fall back to 16:9
_CREATES = {"text_to_video": False, "step_text_to_video": False, "image_list_to_video": True, "step_image_to_video": True}
_BOXED = frozenset((*_CREATES, "outro_footer"))
_FONTS_OF = frozenset(_CREATES)
_GENERATED = ("generate_outro_image", "express_cta_generation", "expressCtaGeneration", "auto_generate_cta_text",
              "autoGenerateCtaText", "generate_cta_texts", "generateCtaTexts")
_SOURCE_KEYS = ("request_id", "session_id")


def fonts_by_language() -> Mapping[str, Sequence[str]]:
    """The docs' table of ``GET /supported_fonts`` (what the stand-in serves, too)."""
    table: Mapping[str, Sequence[str]] = package_json(__package__ or "", "fonts.json")["fontsByLanguage"]
    return table


def check(route: Route, inp: Mapping[str, Any], ctx: CheckContext) -> list[Remark]:
    """The remarks on one request's input (the fields inside `input` of a wrapped route)."""
    out: list[Remark] = []  # each rule looks only when its field is there: a plan checks every instance
    if ("outro_focust_area" in inp or "outro_focus_area" in inp) and route.family in _BOXED:
        out += _focus_area(route, inp, ctx)
    if "font_key" in inp and route.family in _FONTS_OF:
        out += _font(inp)
    if "videoSessionId" in inp:
        out += _same_source(inp)
    return out


# -- the focus box ------------------------------------------------------------------------


def _known(value: Any) -> bool:
    """A plain value: not pending on an upstream job, not a template the plan left as it is."""
    if isinstance(value, Pending):
        return False
    return not (isinstance(value, str) and ("\x00pending:" in value or "{{" in value or "{%" in value))


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _canvas(route: Route, inp: Mapping[str, Any], ctx: CheckContext) -> tuple[str, tuple[int, int]] | None:
    """(aspect ratio, (width, height)) of the video the box is drawn on; None when unknown."""
    if route.family in _CREATES:
        ratio = inp.get("aspect_ratio", "16:9")
        if ratio in CANVAS:
            return ratio, CANVAS[ratio]
        if _CREATES[route.family] and isinstance(ratio, str) and _known(ratio):
            return "16:9", CANVAS["16:9"]  # "omitted or unsupported values fall back to 16:9"
        return None
    source = next((inp[k] for k in ("videoSessionId", *_SOURCE_KEYS) if k in inp), None)
    ratio = ctx.aspect_of(source) if source is not None and _known(source) else None
    return (ratio, CANVAS[ratio]) if ratio in CANVAS else None


def _focus_area(route: Route, inp: Mapping[str, Any], ctx: CheckContext) -> list[Remark]:
    if any(inp.get(k) is True for k in _GENERATED):
        return []  # Samsar computes the box itself (and the schema refuses one given)
    out: list[Remark] = []
    canvas = _canvas(route, inp, ctx)
    for key in FOCUS_KEYS:
        box = inp.get(key)
        if not isinstance(box, Mapping) or not all(_number(box.get(k)) for k in ("x", "y", "width", "height")):
            continue
        right, bottom = _tidy(box["x"] + box["width"]), _tidy(box["y"] + box["height"])
        if canvas is None:
            for what, edge in (("x + width", right), ("y + height", bottom)):
                if edge > 1792:
                    out.append(Remark((key,), f"{key}: {what} is {edge}, past the canvas of either aspect ratio "
                                              "(1792x1024 or 1024x1792); the box must lie inside the canvas"))
            continue
        ratio, (width, height) = canvas
        for what, edge, limit, side in (("x + width", right, width, "width"), ("y + height", bottom, height, "height")):
            if edge > limit:
                out.append(Remark((key,), f"{key}: {what} is {edge}, past the {limit} px {side} of the {ratio} canvas "
                                          f"({width}x{height}); the box must lie inside the canvas"))
    return out


def _tidy(x: float) -> float | int:
    return int(x) if float(x).is_integer() else x


# -- fonts ----------------------------------------------------------------------------------


def _font(inp: Mapping[str, Any]) -> list[Remark]:
    font = inp.get("font_key")
    if not isinstance(font, str) or not _known(font):
        return []
    table = fonts_by_language()
    language = inp.get("language")
    if isinstance(language, str) and language != "auto" and _known(language):
        allowed = list(table.get(language) or table.get(language.lower()) or table["default"])
        if font in allowed:
            return []
        shown = ", ".join(allowed)
        return [Remark(("font_key",),
                       f"font_key: {font!r} is not a font GET /supported_fonts lists for language {language!r} "
                       f"({shown}); the server may refuse it", warning=True,
                       refusal=f"font_key: {font!r} is not supported for language {language!r}; "
                               f"GET /supported_fonts lists {shown}")]
    if language is not None and language != "auto":
        return []  # the language is known at run time: so is the font's list
    if any(font in fonts for fonts in table.values()):
        return []
    return [Remark(("font_key",),
                   f"font_key: {font!r} is not a font GET /supported_fonts lists for any language; the server may refuse it",
                   warning=True, refusal=f"font_key: {font!r} is not a font GET /supported_fonts lists")]


# -- one video, named twice ---------------------------------------------------------------------


def _same_source(inp: Mapping[str, Any]) -> list[Remark]:
    named = inp.get("videoSessionId")
    if not isinstance(named, str) or not _known(named):
        return []
    for key in _SOURCE_KEYS:
        other = inp.get(key)
        if isinstance(other, str) and _known(other) and other != named:
            return [Remark(("videoSessionId",), f"{key} and videoSessionId name different videos "
                                                f"({other!r} and {named!r}): give one id")]
    return []
