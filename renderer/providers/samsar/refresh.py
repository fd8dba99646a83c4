"""`renderer pricing refresh`: compare the built-in prices (and fonts) with what Samsar says now.

``GET {SAMSAR_BASE_URL}/video/supported_models`` (no key needed) lists the models
``/video/text_to_video`` accepts, each video model with its ``basePrice`` in
credits/sec and its ``optionalAddons.express_cta_generation`` surcharge. This
command sets them beside ``renderer/providers/samsar/prices.json`` and the image models
the request schemas accept, prints one table, and exits 1 when anything drifted
(a model added or removed, a price changed) so a scheduled CI job can flag it.
It never edits prices.json: a person updates the table and its ``as_of`` date.

``GET {SAMSAR_BASE_URL}/supported_fonts`` (no key needed either) is the other live list
the docs name: ``validate`` checks each ``font_key`` offline against the docs' table
(``fonts.json``), and this command is where that table meets the live route: a
language added or removed, or a language whose fonts changed, is drift too.

httpx enters here only; its exceptions become ``TransportError``/``ApiError``
with a one-line message (exit 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

import httpx

from renderer.errors import ApiError, ConfigError, TransportError
from renderer.providers.defaults import package_json, package_schemas
from renderer.providers.samsar import routes as samsar

PATH = "/video/supported_models"
FONTS_PATH = "/supported_fonts"
TIMEOUT = httpx.Timeout(15.0)

# Models the docs omit (routes.CLIENT_ONLY_*): the API not listing them is expected, not drift.
CLIENT_ONLY_VIDEO_MODELS = samsar.CLIENT_ONLY_VIDEO_MODELS
CLIENT_ONLY_IMAGE_MODELS = samsar.CLIENT_ONLY_IMAGE_MODELS


@dataclass(frozen=True, slots=True)
class Row:
    kind: str  # "video" | "express_cta" | "image"
    model: str
    ours: Any  # built-in value, None when we have none
    theirs: Any  # the API's value, None when it lists none
    status: str  # "ok" | "added" | "removed" | "price changed" | "fonts changed" | "not listed (samsar-js)"

    @property
    def drift(self) -> bool:
        return self.status in DRIFT


DRIFT = ("added", "removed", "price changed", "fonts changed")


def refresh(out: TextIO, env: Mapping[str, str], client: httpx.Client | None = None) -> int:
    """Print the comparison; 0 when the built-in prices match the API, 1 on drift."""
    base = (env.get(samsar.ENV_BASE_URL) or "").strip() or samsar.DEFAULT_BASE_URL
    if not base.startswith(("http://", "https://")):
        raise ConfigError(f"{samsar.ENV_BASE_URL} must be an http(s) URL")
    url = base.rstrip("/") + PATH
    shown = _without_userinfo(url)
    payload = fetch(url, shown, client)
    fonts_url = base.rstrip("/") + FONTS_PATH
    fonts = fetch(fonts_url, _without_userinfo(fonts_url), client)
    table = package_json("renderer.providers.samsar", "prices.json")["samsar"]
    rows = compare(payload, table, accepted_image_models()) + compare_fonts(fonts, built_in_fonts())
    write_report(out, shown, table.get("as_of", "?"), rows)
    return 1 if any(r.drift for r in rows) else 0


def built_in_fonts() -> dict[str, list[str]]:
    """The docs' ``GET /supported_fonts`` table (``fonts.json``: what validate and the stand-in use)."""
    table: dict[str, list[str]] = package_json("renderer.providers.samsar", "fonts.json")["fontsByLanguage"]
    return dict(table)


def compare_fonts(payload: Any, ours: Mapping[str, list[str]]) -> list[Row]:
    """One row per language: the number of fonts each side lists, and whether the lists agree."""
    by_language = payload.get("fontsByLanguage") if isinstance(payload, Mapping) else None
    if not isinstance(by_language, Mapping) or not all(
            isinstance(v, list) and all(isinstance(f, str) for f in v) for v in by_language.values()):
        raise ApiError(f"unexpected answer from {FONTS_PATH}: no fontsByLanguage lists of font names")
    rows: list[Row] = []
    for language in [*ours, *(lang for lang in by_language if lang not in ours)]:
        have, theirs = ours.get(language), by_language.get(language)
        if have is None or theirs is None:
            status = "added" if have is None else "removed"
        else:
            status = "ok" if list(have) == list(theirs) else "fonts changed"
        rows.append(Row("fonts", str(language), len(have) if have is not None else None,
                        len(theirs) if theirs is not None else None, status))
    return rows


def new_client() -> httpx.Client:
    """The client the command makes when none is given (tests replace this)."""
    return httpx.Client(timeout=TIMEOUT, follow_redirects=True)


def fetch(url: str, shown: str, client: httpx.Client | None = None) -> Any:
    own = client is None
    http = client if client is not None else new_client()
    try:
        try:
            response = http.get(url, headers={"Accept": "application/json"})
        except httpx.TimeoutException:
            raise TransportError(f"GET {shown}: no answer (timed out)") from None
        except httpx.HTTPError as exc:  # connect error, reset, protocol error, bad URL
            raise TransportError(f"GET {shown}: no answer ({_one_line(str(exc)) or type(exc).__name__})") from None
        except httpx.InvalidURL as exc:
            raise ConfigError(f"{samsar.ENV_BASE_URL}: {_one_line(str(exc))}") from None
        if response.status_code != 200:
            raise ApiError(f"GET {shown}: HTTP {response.status_code}{_api_message(response)}", response.status_code)
        try:
            return response.json()
        except ValueError:
            raise ApiError(f"GET {shown}: the answer is not JSON", response.status_code) from None
    finally:
        if own:
            http.close()


def compare(payload: Any, table: Mapping[str, Any], image_models: tuple[str, ...] | None) -> list[Row]:
    """Rows in a stable order: video models, their CTA add-on, image models."""
    video = _models(payload, "VIDEO_MODELS")
    images = _models(payload, "IMAGE_MODELS")
    ours: Mapping[str, Any] = table["video_model_per_second"]
    cta = table["express_cta_per_second"]
    rows: list[Row] = []
    for model in [*ours, *(m for m in video if m not in ours)]:
        have, item = ours.get(model), video.get(model)
        if item is None:
            status = "not listed (samsar-js)" if model in CLIENT_ONLY_VIDEO_MODELS else "removed"
            rows.append(Row("video", model, have, None, status))
            continue
        theirs = item.get("basePrice")
        status = "added" if have is None else ("ok" if _same(have, theirs) else "price changed")
        rows.append(Row("video", model, have, theirs, status))
    for model, item in video.items():
        addon = _addon(item)
        if addon is not None:
            rows.append(Row("express_cta", model, cta, addon, "ok" if _same(cta, addon) else "price changed"))
    if image_models is not None:
        for model in [*image_models, *(m for m in images if m not in image_models)]:
            item = images.get(model)
            price = item.get("basePrice") if item is not None else None
            if item is None:
                status = "not listed (samsar-js)" if model in CLIENT_ONLY_IMAGE_MODELS else "removed"
            else:
                status = "ok" if model in image_models else "added"
            rows.append(Row("image", model, None, price, status))
    return rows


def write_report(out: TextIO, shown: str, as_of: str, rows: list[Row]) -> None:
    out.write(f"Samsar models: GET {shown}\nagainst renderer/providers/samsar/prices.json (as of {as_of}); "
              "fonts (kind fonts: how many each side lists) against renderer/providers/samsar/fonts.json\n\n")
    header = ("kind", "model", "built-in", "API", "status")
    cells = [header] + [(r.kind, r.model, _cell(r.ours), _cell(r.theirs), r.status) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    for i, c in enumerate(cells):
        out.write("  ".join(v.ljust(w) for v, w in zip(c, widths)).rstrip() + "\n")
        if i == 0:
            out.write("  ".join("-" * w for w in widths) + "\n")
    drift = [r for r in rows if r.drift]
    out.write("\n")
    if not drift:
        out.write("no drift: the built-in prices and fonts match the API\n")
        return
    counts = {s: sum(1 for r in drift if r.status == s) for s in DRIFT}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    fonts = " Update renderer/providers/samsar/fonts.json from GET /supported_fonts." \
        if any(r.kind == "fonts" for r in drift) else ""
    prices = (" Update renderer/providers/samsar/prices.json (and its as_of date) and the "
              "video_model/image_model lists of the request schemas.") if any(r.kind != "fonts" for r in drift) else ""
    out.write(f"drift: {summary}.{prices}{fonts}\n")


def accepted_image_models() -> tuple[str, ...] | None:
    """The image_model keys the text_to_video request schema accepts, if it lists them."""
    route = next(r for r in samsar.ROUTES if r.endpoint == "samsar/video/text_to_video")
    try:
        schema = package_schemas("renderer.providers.samsar")[route.schema]
    except (OSError, ValueError, KeyError):  # pragma: no cover - a broken install
        return None
    node = (schema.get("$defs") or {}).get("image_model") or (schema.get("properties") or {}).get("image_model")
    found = _first_enum(node)
    return tuple(found) if found is not None else None


def _first_enum(node: Any) -> list[str] | None:
    if isinstance(node, Mapping):
        if isinstance(node.get("enum"), list):
            return [v for v in node["enum"] if isinstance(v, str)]
        for value in node.values():
            found = _first_enum(value)
            if found is not None:
                return found
    elif isinstance(node, list):
        for value in node:
            found = _first_enum(value)
            if found is not None:
                return found
    return None


def _models(payload: Any, key: str) -> dict[str, Mapping[str, Any]]:
    if not isinstance(payload, Mapping) or not isinstance(payload.get(key), list):
        raise ApiError(f"unexpected answer from {PATH}: no {key} list")
    out: dict[str, Mapping[str, Any]] = {}
    for item in payload[key]:
        if not isinstance(item, Mapping) or not isinstance(item.get("value"), str) or not item["value"]:
            raise ApiError(f"unexpected answer from {PATH}: a {key} item without a value")
        price = item.get("basePrice")
        if price is not None and (isinstance(price, bool) or not isinstance(price, (int, float))):
            raise ApiError(f"unexpected answer from {PATH}: basePrice of {item['value']} is not a number")
        out[item["value"]] = item
    return out


def _addon(item: Mapping[str, Any]) -> Any:
    dist = item.get("pricingDistribution")
    addons = dist.get("optionalAddons") if isinstance(dist, Mapping) else None
    return addons.get("express_cta_generation") if isinstance(addons, Mapping) else None


def _same(a: Any, b: Any) -> bool:
    return isinstance(a, (int, float)) and isinstance(b, (int, float)) and float(a) == float(b)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _api_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, Mapping):
        for key in ("message", "error", "detail"):
            if isinstance(body.get(key), str) and body[key].strip():
                return ": " + _one_line(body[key])[:200]
    return ""


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _one_line(text: str) -> str:
    return " ".join(text.split())
