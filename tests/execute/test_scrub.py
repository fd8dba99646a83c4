"""Issue 21: scrubbing catches encodings. A key echoed base64-encoded (any alignment, standard or
URL-safe), upper-cased, one character short, URL-encoded, JSON-escaped or split across two
fields reaches no file a run writes and no output.

The property test generates random keys and echoes of them in those encodings, nests the echoes
in random answers the sandbox sends (its ``merge`` fault), runs `renderer run` against it, then
`report`, `status --json` and `results --json`, and scans every file below the test's folder
(manifest, journal and -wal, outputs, JUnit, report, step summary, the --json texts) for any
run of 8 characters of the key or of its encodings.

``RENDERER_FUZZ_EXAMPLES=200 python -m pytest tests/execute/test_scrub.py`` hunts longer.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from helpers.runs import FAST, FILES_ALLOWED, args_for, env_for, make_sandbox, write_campaign
from helpers.runs import run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renderer.cli import main
from renderer.execute.scrub import REDACTED, Scrubber, encodings
from renderer.sandbox.faults import FaultSettings

KEY = "sk_live+Q9/zX=7fA3c1e5b2d4f60Kp"  # a key holding + / = (URL-encoding changes it)


def _b64(prefix: str, key: str, urlsafe: bool = False) -> str:
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return encode((prefix + key).encode()).decode()


def _key_part_of_b64(prefix: str, key: str, urlsafe: bool = False) -> str:
    """The characters of a base64 echo that the key alone decides (the test's own reckoning)."""
    text = _b64(prefix, key, urlsafe)
    first = -(-8 * len(prefix.encode()) // 6)
    last = (8 * len((prefix + key).encode())) // 6
    return text[first:last]


# -- each encoding, one by one ---------------------------------------------------------------


@pytest.mark.parametrize("echo", [
    KEY, KEY.upper(), KEY.lower(), KEY.swapcase(), KEY[:-1], KEY[1:], KEY[5:13],
    quote(KEY, safe=""), quote(KEY), quote_plus(KEY), quote(KEY, safe="").lower(),
    json.dumps(KEY)[1:-1], json.dumps({"k": KEY + '"\\'}), KEY.replace("/", "\\/"),
    *[_b64(p, KEY, u) for p in ("", "Bearer ", "user:", "ab") for u in (False, True)],
    _b64("Bearer ", KEY)[:30], _b64("", KEY).lower(),
])
def test_every_form_of_a_key_is_scrubbed(echo):
    scrubber = Scrubber(keys=[KEY])
    text = f"before {echo} after"
    out = scrubber.text(text)
    assert REDACTED in out and out.startswith("before ") and out.endswith(" after")
    low = out.lower()
    for form in encodings(KEY):
        assert not any(form[i:i + 8] in low for i in range(len(form) - 7)), form


def test_a_key_split_across_two_fields_is_scrubbed_in_both():
    scrubber = Scrubber(keys=[KEY])
    half = len(KEY) // 2
    assert scrubber.value({"title": KEY[:half], "details": {"rest": KEY[half:]}}) == \
        {"title": REDACTED, "details": {"rest": REDACTED}}


def test_other_credentials_are_scrubbed_whole_and_ordinary_text_stays():
    """A credential-named variable that is no key (a path, a mode) is removed whole, in any form, but
    its pieces are ordinary text: /home/u/.Xauthority goes, /home/u/project stays."""
    env = {"SAMSAR_API_KEY": KEY, "XAUTHORITY": "/home/u/.Xauthority", "GITHUB_TOKEN": "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
           "AUTH_MODE": "basic", "HOME": "/home/u"}
    scrubber = Scrubber.from_env(env)
    assert scrubber.keys == (KEY,)
    assert scrubber.text("x /home/u/.Xauthority /home/u/project") == f"x {REDACTED} /home/u/project"
    assert scrubber.text(quote("/home/u/.Xauthority", safe="")) == REDACTED
    assert scrubber.text("GHP_16C7E42F292C6912E7710C838347AE178B4A") == REDACTED
    assert scrubber.text("mode basic, sk_live, 12345678") == "mode basic, sk_live, 12345678"
    assert scrubber.text("İstanbul " + KEY.upper()) == f"İstanbul {REDACTED}"  # a text whose lower case is longer


def test_the_matcher_is_built_once_per_set_of_keys():
    env = {"SAMSAR_API_KEY": KEY, "ENHANCECRAFT_API_KEY": "ec_" + "Zq9" * 10}
    a, b = Scrubber.from_env(env), Scrubber.from_env(dict(env))
    assert a._matcher is b._matcher
    assert a.with_key(KEY) is a  # a provider client adding its own key: nothing rebuilt
    assert a.with_key("sandbox-key") is not a and a.with_key("sandbox-key").text("sandbox-key") == REDACTED


# -- the property: random keys, random echoes, every file a run writes --------------------------

EXAMPLES = int(os.environ.get("RENDERER_FUZZ_EXAMPLES", "0") or 0)
CAMPAIGN = """
version: 1
name: echo
outputs:
  dir: media
providers:
  enhancecraft: {tier: enterprise}
jobs:
  still:
    endpoint: samsar/image/enhance
    matrix:
      n: [1, 2]
    input:
      image_url: "https://cdn.example.com/{{ matrix.n }}.png"
      resolution: 2k
  photo:
    endpoint: enhancecraft/jobs
    input:
      input_key: uploads/mine/a.png
      operations: [{type: enhance, params: {scale: 2}}]
"""
FIELDS = ["message", "title", "details", "expressGenerationError", "error_message", "note"]


@st.composite
def keys(draw: st.DrawFn) -> str:
    """A key with the entropy of a real one (never a run of one character), holding specials anywhere."""
    seed = draw(st.binary(min_size=1, max_size=8))
    body = base64.b64encode(hashlib.sha256(seed).digest() * 2).decode()[: draw(st.integers(16, 60))]
    specials = draw(st.lists(st.tuples(st.integers(0, len(body)), st.sampled_from("+/=_-.")), max_size=4))
    for at, ch in sorted(specials, reverse=True):
        body = body[:at] + ch + body[at:]
    return draw(st.sampled_from(["", "sk_live_", "ec_"])) + body


def _echo(kind: str, key: str) -> list[str]:
    """The texts an API would send back for ``key``: one, or two for a key split in halves."""
    half = len(key) // 2
    return {
        "exact": [key], "upper": [key.upper()], "short": [key[:-1]], "cut": [key[1:-1]],
        "url": [quote(key, safe="")], "url_plus": [quote_plus(key)],
        "json": [json.dumps({"authorization": f"Bearer {key}"})], "json_slash": [json.dumps(key).replace("/", "\\/")],
        "b64": [_b64("", key)], "b64_bearer": [_b64("Bearer ", key)], "b64_basic": [_b64("user:", key, True)],
        "b64_two": [_b64("ab", key, True)], "split": [key[:half], key[half:]],
    }[kind]


KINDS = ["exact", "upper", "short", "cut", "url", "url_plus", "json", "json_slash", "b64", "b64_bearer", "b64_basic",
         "b64_two", "split"]


def _nested(texts: list[str], draw: st.DrawFn) -> object:
    """Each text somewhere in a random JSON value, with random text around it."""
    noise = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
    leaves: list[object] = [draw(noise) + t + draw(noise) for t in texts]
    while len(leaves) > 1 or draw(st.booleans()):
        part = leaves.pop(draw(st.integers(0, len(leaves) - 1)))
        wrapped = draw(st.sampled_from(["list", "dict"]))
        leaves.append([part, draw(noise)] if wrapped == "list" else {draw(st.sampled_from(FIELDS)): part})
        if len(leaves) == 1 and draw(st.booleans()):
            break
    return leaves[0]


@st.composite
def hostile_answers(draw: st.DrawFn) -> tuple[str, str, dict, bool]:
    samsar, enhancecraft = draw(keys()), draw(keys())
    merge: dict[str, object] = {}
    for _ in range(draw(st.integers(1, 4))):
        key = draw(st.sampled_from([samsar, enhancecraft]))
        texts = _echo(draw(st.sampled_from(KINDS)), key)
        if len(texts) == 2:  # a split key: each half in a field of its own
            merge[draw(st.sampled_from(FIELDS))] = texts[0]
            merge[draw(st.sampled_from(FIELDS))] = texts[1]
        else:
            merge[draw(st.sampled_from(FIELDS))] = _nested(texts, draw)
    return samsar, enhancecraft, merge, draw(st.booleans())


def _forbidden(key: str) -> set[str]:
    """Every 8-character run of the key and of its echoes' key-decided parts, lower-cased."""
    forms = {key, quote(key, safe=""), quote_plus(key), json.dumps(key)[1:-1]}
    for prefix in ("", "Bearer ", "user:", "ab"):
        forms |= {_key_part_of_b64(prefix, key, u) for u in (False, True)}
    return {f.lower()[i:i + 8] for f in forms for i in range(len(f) - 7)}


@pytest.fixture(scope="module")
def shared_sandbox():
    with make_sandbox(provider_settings={"enhancecraft": {"tier": "enterprise"}}) as sb:
        yield sb


@settings(max_examples=EXAMPLES or 8, deadline=None, database=None, derandomize=not EXAMPLES,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(hostile_answers())
def test_no_run_of_a_key_reaches_any_file_or_output(shared_sandbox, answer):
    samsar, enhancecraft, merge, failed = answer
    merge = {**merge, **({"status": "FAILED"} if failed else {})}
    sb = shared_sandbox
    sb.state.set_faults(FaultSettings(rates={"merge": 1.0}, scope="all", merge=merge), 1)
    root = Path(tempfile.mkdtemp(prefix="scrub-"))
    try:
        path = write_campaign(root, CAMPAIGN)
        env = {**env_for(sb, samsar), "ENHANCECRAFT_API_KEY": enhancecraft, "GITHUB_STEP_SUMMARY": str(root / "summary.md"),
               **FILES_ALLOWED}
        out = io.StringIO()
        code = run(**args_for(path, junit=str(root / "junit.xml")), out=out, env=env, exec_settings=FAST)
        assert code in (0, 1), out.getvalue()
        texts = [out.getvalue()]
        for argv in (["report", str(path), "--output", str(root / "report.html")], ["status", str(path), "--json"],
                     ["results", str(path), "--json"]):
            cmd_out, cmd_err = io.StringIO(), io.StringIO()
            main([*argv, "--state-dir", str(root / ".renderer")], cmd_out, cmd_err, env)
            texts += [cmd_out.getvalue(), cmd_err.getvalue()]
        assert json.loads(texts[3])  # status --json printed its document
        files = [p for p in root.rglob("*") if p.is_file()]
        assert {p.name for p in files} >= {"camp.manifest.json", "junit.xml", "report.html", "summary.md"}
        assert any(p.suffix == ".sqlite" for p in files)
        forbidden = _forbidden(samsar) | _forbidden(enhancecraft)
        for name, text in [*((str(p.relative_to(root)), p.read_bytes().decode("utf-8", "replace")) for p in files),
                           *(("output", t) for t in texts)]:
            low = text.lower()
            leaked = sorted(piece for piece in forbidden if piece in low)
            assert not leaked, f"{name} holds part of a key: {leaked[:3]}"
        assert sb.state.counters.faults["merge"] > 0
    finally:
        sb.state.set_faults(FaultSettings(), 1)
        shutil.rmtree(root, ignore_errors=True)
