"""`renderer pricing refresh` against a mocked GET /video/supported_models and GET /supported_fonts (httpx.MockTransport)."""

from __future__ import annotations

import copy
import json
from io import StringIO
from typing import Any, Callable

import httpx
import pytest

from renderer.providers.samsar import refresh as pricing_refresh
from renderer.cli import main
from renderer.errors import ApiError, ConfigError, TransportError
from renderer.providers.samsar.refresh import refresh


def _video(label: str, value: str, price: int, video: int, cta: int = 1) -> dict[str, Any]:
    return {
        "label": label, "value": value, "basePrice": price,
        "pricingDistribution": {
            "pipeline": 4, "inference": 4, "image_gen_edit": 2, "speech": 2, "music": 2, "effects_and_lipsync": 2,
            "video": video, "total": price, "optionalAddons": {"express_cta_generation": cta},
        },
    }


# The docs' sample answer (samsar-video-api.txt, GET /video/supported_models).
DOCS_ANSWER: dict[str, Any] = {
    "IMAGE_MODELS": [
        {"label": "GPTIMAGE2", "value": "GPTIMAGE2", "basePrice": 46},
        {"label": "NANOBANANA2", "value": "NANOBANANA2", "basePrice": 23},
        {"label": "SEEDREAM", "value": "SEEDREAM", "basePrice": 15},
        {"label": "CUSTOM_TEXT_TO_IMAGE", "value": "CUSTOM_TEXT_TO_IMAGE", "basePrice": 10},
    ],
    "VIDEO_MODELS": [
        _video("VEO3.1I2V", "VEO3.1I2V", 60, 44),
        _video("VEO3.1I2VFAST", "VEO3.1I2VFAST", 36, 20),
        _video("Seedance 1.5", "SEEDANCEI2V", 30, 14),
        _video("KLINGIMGTOVID3PRO", "KLINGIMGTOVID3PRO", 36, 20),
        _video("Happy Horse 1.0 I2V", "HAPPYHORSEI2V", 36, 20),
        _video("RunwayML Gen 4.5", "RUNWAYML", 30, 14),
    ],
}

# The docs' sample answer (samsar-video-api.txt, GET /supported_fonts).
DOCS_FONTS: dict[str, Any] = {"fontsByLanguage": {
    "default": ["Rampart One", "Montserrat", "Arial", "sans-serif"],
    "en": ["Poppins", "Montserrat", "Arial", "sans-serif"],
    "ja": ["Noto Sans JP", "M PLUS Rounded 1c", "Hiragino Sans", "Yu Gothic UI", "sans-serif"],
    "ko": ["Noto Sans KR", "Pretendard", "Apple SD Gothic Neo", "Malgun Gothic", "sans-serif"],
}}

SEEN: list[httpx.Request] = []


def client(answer: Any = None, *, status: int = 200, handler: Callable[[httpx.Request], httpx.Response] | None = None,
           fonts: Any = None) -> httpx.Client:
    def default(request: httpx.Request) -> httpx.Response:
        SEEN.append(request)
        if request.url.path.endswith("/supported_fonts"):
            return httpx.Response(200, json=DOCS_FONTS if fonts is None else fonts)
        if isinstance(answer, (bytes, str)):
            return httpx.Response(status, content=answer)
        return httpx.Response(status, json=DOCS_ANSWER if answer is None else answer)

    return httpx.Client(transport=httpx.MockTransport(handler or default))


def run(answer: Any = None, env: dict[str, str] | None = None, **kw: Any) -> tuple[int, str]:
    out = StringIO()
    code = refresh(out, env or {}, client(answer, **kw))
    return code, out.getvalue()


def changed(fn: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    answer = copy.deepcopy(DOCS_ANSWER)
    fn(answer)
    return answer


def test_the_docs_answer_matches_the_built_in_prices() -> None:
    SEEN.clear()
    code, out = run()
    assert code == 0
    assert out == (
        "Samsar models: GET https://api.samsar.one/v1/video/supported_models\n"
        "against renderer/providers/samsar/prices.json (as of 2026-11-21); fonts (kind fonts: how many each side "
        "lists) against renderer/providers/samsar/fonts.json\n"
        "\n"
        "kind         model                 built-in  API  status\n"
        "-----------  --------------------  --------  ---  ----------------------\n"
        "video        VEO3.1I2V             60        60   ok\n"
        "video        VEO3.1I2VFAST         36        36   ok\n"
        "video        SEEDANCEI2V           30        30   ok\n"
        "video        KLINGIMGTOVID3PRO     36        36   ok\n"
        "video        HAPPYHORSEI2V         36        36   ok\n"
        "video        RUNWAYML              30        30   ok\n"
        "video        COSMOS3SUPERI2V       20        -    not listed (samsar-js)\n"
        "video        KLINGIMGTOVIDTURBO    36        -    not listed (samsar-js)\n"
        "express_cta  VEO3.1I2V             1         1    ok\n"
        "express_cta  VEO3.1I2VFAST         1         1    ok\n"
        "express_cta  SEEDANCEI2V           1         1    ok\n"
        "express_cta  KLINGIMGTOVID3PRO     1         1    ok\n"
        "express_cta  HAPPYHORSEI2V         1         1    ok\n"
        "express_cta  RUNWAYML              1         1    ok\n"
        "image        GPTIMAGE2             -         46   ok\n"
        "image        NANOBANANA2           -         23   ok\n"
        "image        SEEDREAM              -         15   ok\n"
        "image        CUSTOM_TEXT_TO_IMAGE  -         10   ok\n"
        "image        IMAGEN4               -         -    not listed (samsar-js)\n"
        "fonts        default               4         4    ok\n"
        "fonts        en                    4         4    ok\n"
        "fonts        ja                    5         5    ok\n"
        "fonts        ko                    5         5    ok\n"
        "\n"
        "no drift: the built-in prices and fonts match the API\n"
    )
    assert [(r.method, str(r.url)) for r in SEEN] == [("GET", "https://api.samsar.one/v1/video/supported_models"),
                                                    ("GET", "https://api.samsar.one/v1/supported_fonts")]


def test_a_font_list_that_changed_is_drift() -> None:
    fonts = copy.deepcopy(DOCS_FONTS)
    fonts["fontsByLanguage"]["en"].append("Inter")
    fonts["fontsByLanguage"]["fr"] = ["Poppins", "sans-serif"]
    del fonts["fontsByLanguage"]["ko"]
    out = StringIO()
    code = refresh(out, {}, client(fonts=fonts))
    assert code == 1
    rows = out.getvalue().splitlines()
    assert "fonts        en                    4         5    fonts changed" in rows
    assert "fonts        ko                    5         -    removed" in rows
    assert "fonts        fr                    -         2    added" in rows
    assert rows[-1] == ("drift: 1 added, 1 removed, 1 fonts changed. Update renderer/providers/samsar/fonts.json "
                        "from GET /supported_fonts.")


def test_a_fonts_answer_of_another_shape_is_an_api_error() -> None:
    with pytest.raises(ApiError) as err:
        refresh(StringIO(), {}, client(fonts={"fonts": ["Arial"]}))
    assert str(err.value) == "unexpected answer from /supported_fonts: no fontsByLanguage lists of font names"


def test_a_price_change_is_drift() -> None:
    code, out = run(changed(lambda a: a["VIDEO_MODELS"][5].update(basePrice=32)))
    assert code == 1
    assert "video        RUNWAYML              30        32   price changed\n" in out
    assert out.endswith(
        "drift: 1 price changed. Update renderer/providers/samsar/prices.json (and its as_of date) and the "
        "video_model/image_model lists of the request schemas.\n"
    )


def test_added_and_removed_models_are_drift() -> None:
    def edit(a: dict[str, Any]) -> None:
        a["VIDEO_MODELS"] = [m for m in a["VIDEO_MODELS"] if m["value"] != "HAPPYHORSEI2V"]
        a["VIDEO_MODELS"].append(_video("Sora", "SORA2", 80, 64))
        a["IMAGE_MODELS"] = [m for m in a["IMAGE_MODELS"] if m["value"] != "SEEDREAM"]
        a["IMAGE_MODELS"].append({"label": "FLUX2", "value": "FLUX2", "basePrice": 12})

    code, out = run(changed(edit))
    assert code == 1
    rows = out.splitlines()
    assert "video        HAPPYHORSEI2V         36        -    removed" in rows
    assert "video        SORA2                 -         80   added" in rows
    assert "express_cta  SORA2                 1         1    ok" in rows
    assert "image        SEEDREAM              -         -    removed" in rows
    assert "image        FLUX2                 -         12   added" in rows
    assert rows[-1].startswith("drift: 2 added, 2 removed. ")


def test_an_express_cta_change_is_drift() -> None:
    code, out = run(changed(lambda a: a["VIDEO_MODELS"][0]["pricingDistribution"]["optionalAddons"].update(express_cta_generation=2)))
    assert code == 1
    assert "express_cta  VEO3.1I2V             1         2    price changed\n" in out


def test_client_only_models_listed_with_a_new_price_are_drift() -> None:
    code, out = run(changed(lambda a: a["VIDEO_MODELS"].append(_video("Cosmos", "COSMOS3SUPERI2V", 24, 8))))
    assert code == 1
    assert "video        COSMOS3SUPERI2V       20        24   price changed\n" in out


def test_base_url_from_the_environment_and_no_key_sent() -> None:
    SEEN.clear()
    code, out = run(env={"SAMSAR_BASE_URL": "http://127.0.0.1:8765/v1/", "SAMSAR_API_KEY": "sk_live_secret"})
    assert code == 0
    assert [str(r.url) for r in SEEN] == ["http://127.0.0.1:8765/v1/video/supported_models",
                                          "http://127.0.0.1:8765/v1/supported_fonts"]
    assert all("authorization" not in r.headers for r in SEEN)
    assert "sk_live_secret" not in out


def test_credentials_in_the_base_url_are_not_shown() -> None:
    code, out = run(env={"SAMSAR_BASE_URL": "https://user:hunter2@proxy.example.com/v1"})
    assert code == 0
    assert out.startswith("Samsar models: GET https://proxy.example.com/v1/video/supported_models\n")
    assert "hunter2" not in out


def test_a_base_url_that_is_not_http_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as exc:
        run(env={"SAMSAR_BASE_URL": "ftp://example.com"})
    assert str(exc.value) == "SAMSAR_BASE_URL must be an http(s) URL"


def _raise(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


@pytest.mark.parametrize(
    "exc,message",
    [
        (httpx.ConnectError("[Errno 111] Connection\n refused"),
         "GET https://api.samsar.one/v1/video/supported_models: no answer ([Errno 111] Connection refused)"),
        (httpx.ReadTimeout("timed out"), "GET https://api.samsar.one/v1/video/supported_models: no answer (timed out)"),
        (httpx.RemoteProtocolError("peer closed connection"),
         "GET https://api.samsar.one/v1/video/supported_models: no answer (peer closed connection)"),
    ],
)
def test_network_errors_are_transport_errors(exc: Exception, message: str) -> None:
    with pytest.raises(TransportError) as err:
        run(handler=_raise(exc))
    assert str(err.value) == message
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    "answer,status,message",
    [
        ({"message": "maintenance\nwindow"}, 503, "GET https://api.samsar.one/v1/video/supported_models: HTTP 503: maintenance window"),
        (b"<html>oops</html>", 500, "GET https://api.samsar.one/v1/video/supported_models: HTTP 500"),
        (b"<html>ok</html>", 200, "GET https://api.samsar.one/v1/video/supported_models: the answer is not JSON"),
        ({"VIDEO_MODELS": []}, 200, "unexpected answer from /video/supported_models: no IMAGE_MODELS list"),
        ({"IMAGE_MODELS": [], "VIDEO_MODELS": {}}, 200, "unexpected answer from /video/supported_models: no VIDEO_MODELS list"),
        ({"IMAGE_MODELS": [], "VIDEO_MODELS": [{"label": "x"}]}, 200,
         "unexpected answer from /video/supported_models: a VIDEO_MODELS item without a value"),
        ({"IMAGE_MODELS": [], "VIDEO_MODELS": [{"value": "X", "basePrice": "30"}]}, 200,
         "unexpected answer from /video/supported_models: basePrice of X is not a number"),
        ([1, 2], 200, "unexpected answer from /video/supported_models: no VIDEO_MODELS list"),
    ],
)
def test_api_errors(answer: Any, status: int, message: str) -> None:
    with pytest.raises(ApiError) as err:
        run(answer, status=status)
    assert str(err.value) == message
    assert not isinstance(err.value, TransportError)


# -- through the command line -----------------------------------------------------------


@pytest.fixture
def mocked(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Make the command's own httpx.Client talk to a MockTransport."""

    def use(answer: Any = None, handler: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        def factory() -> httpx.Client:
            return client(answer, handler=handler)

        monkeypatch.setattr(pricing_refresh, "new_client", factory)

    return use


def cli(*argv: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    code = main(list(argv), out=out, err=err, env=env or {})
    return code, out.getvalue(), err.getvalue()


def test_cli_no_drift_exits_0(mocked) -> None:
    mocked()
    code, out, err = cli("pricing", "refresh")
    assert (code, err) == (0, "")
    assert out.endswith("no drift: the built-in prices and fonts match the API\n")


def test_cli_drift_exits_1(mocked) -> None:
    mocked(changed(lambda a: a["VIDEO_MODELS"][0].update(basePrice=66)))
    code, out, err = cli("pricing", "refresh")
    assert (code, err) == (1, "")
    assert "video        VEO3.1I2V             60        66   price changed\n" in out


def test_cli_network_error_is_one_line_exit_1(mocked) -> None:
    mocked(handler=_raise(httpx.ConnectError("[Errno -2] Name or service not known")))
    code, out, err = cli("pricing", "refresh", env={"SAMSAR_BASE_URL": "https://nowhere.invalid/v1"})
    assert (code, out) == (1, "")
    assert err == "error: GET https://nowhere.invalid/v1/video/supported_models: no answer ([Errno -2] Name or service not known)\n"


def test_cli_pricing_needs_a_subcommand() -> None:
    assert cli("pricing") == (2, "", "error: renderer pricing: choose a subcommand: refresh\n")


def test_json_sample_matches_the_docs_file_layout() -> None:
    # the sample is the docs' answer: every video model carries its distribution summing to the total
    for m in DOCS_ANSWER["VIDEO_MODELS"]:
        d = m["pricingDistribution"]
        assert sum(v for k, v in d.items() if k not in ("total", "optionalAddons")) == d["total"] == m["basePrice"]
    json.dumps(DOCS_ANSWER)


def test_the_default_client_has_a_timeout() -> None:
    c = pricing_refresh.new_client()
    try:
        assert (c.timeout.connect, c.timeout.read) == (15.0, 15.0)
    finally:
        c.close()
