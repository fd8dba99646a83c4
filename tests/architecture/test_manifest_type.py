"""The typed manifest: one reuse rule, located load errors, byte-exact round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from renderer.errors import Invalid
from renderer.execute.manifest_from_run import entry_of
from renderer.manifest import STATUSES, Manifest, ManifestEntry, dump, load
from renderer.vocabulary import Outputs, Price, Range

SHA = "a" * 64


def test_the_reuse_rule_needs_completed_and_the_same_input() -> None:
    m = Manifest(jobs={
        "done": ManifestEntry(status="completed", input_sha256=SHA),
        "failed": ManifestEntry(status="failed", input_sha256=SHA),
    })
    assert m.reusable("done", SHA) is m.jobs["done"]
    assert m.reusable("done", "b" * 64) is None  # another input
    assert m.reusable("done", None) is None  # still pending: nothing to compare
    assert m.reusable("failed", SHA) is None
    assert m.reusable("absent", SHA) is None


def test_a_manifest_read_and_written_again_keeps_every_byte(tmp_path: Path) -> None:
    doc = {
        "campaign": "c", "campaign_sha256": "x", "renderer_version": "0.1.0",
        "jobs": {"a": {"status": "completed", "input_sha256": SHA, "endpoint": "samsar/image/enhance",
                       "credits": {"estimated": {"min": 2, "max": 2.5}, "charged": 2}, "custom": [1, {"k": None}],
                       "duration": 4.0, "result_urls": ["https://x/1.png"]}},
        "credits": {"estimated": {"min": 2, "max": 2.5}, "charged": 2},
        "counts": {"completed": 1},
    }
    src = tmp_path / "m.json"
    src.write_text(json.dumps(doc, sort_keys=True, indent=2) + "\n", "utf-8")
    loaded = load(src, required=True)
    assert loaded is not None
    entry = loaded.jobs["a"]
    assert (entry.credits_estimated, entry.credits_charged, entry.duration) == (Range(2, 2.5), 2, 4.0)
    assert Outputs.from_manifest(entry).result_urls == ("https://x/1.png",)
    out = tmp_path / "again.json"
    dump(out, loaded)
    assert out.read_bytes() == src.read_bytes()


def test_an_entry_built_from_a_plan_has_every_documented_field() -> None:
    entry = entry_of("samsar/image/enhance", SHA, Price(Range(1, 3)), "not_submitted", "not selected", None)
    assert entry.to_json() == {
        "endpoint": "samsar/image/enhance", "input_sha256": SHA, "status": "not_submitted", "request_id": None,
        "session_id": None, "result_url": None, "result_urls": [], "thumbnail_url": None,
        "credits": {"estimated": {"min": 1, "max": 3}, "charged": None}, "submitted_at": None, "finished_at": None,
        "duration": None, "attempts": 0, "error": "not selected",
    }
    doc = Manifest("c", "s", "v", {"x": entry, "y": ManifestEntry(status="completed", credits_charged=1.5)}).to_json()
    assert doc["counts"] == {"completed": 1, "not_submitted": 1}
    assert doc["credits"] == {"estimated": {"min": 1, "max": 3, "unknown": True}, "charged": 1.5}


@pytest.mark.parametrize(("text", "message"), [
    ("{", "manifest is not readable JSON"),
    ('{"jobs": []}', "manifest must be a JSON object with a `jobs` mapping"),
    ('{"jobs": {"a": {"status": 3}}}', "manifest: jobs['a'].status must be a string"),
    ('{"jobs": {"a": {"status": "x"}}}', "manifest: jobs['a'].status is 'x', not one of completed, failed, "
                                         "cancelled, pending, not_submitted, unknown"),
    ('{"campaign": "c"}', "manifest must be a JSON object with a `jobs` mapping"),
    ('{"jobs": {"a": {"credits": {"charged": "9"}}}}', "manifest: jobs['a'].credits must be an object with a number `charged`"),
])
def test_a_malformed_manifest_is_a_located_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "m.json"
    path.write_text(text, "utf-8")
    with pytest.raises(Invalid) as exc:
        load(path, required=False)
    (error,) = exc.value.errors
    assert error.location.file == str(path) and error.message.startswith(message)


def test_no_manifest_is_none_unless_one_was_named(tmp_path: Path) -> None:
    assert load(tmp_path / "absent.json", required=False) is None
    with pytest.raises(Invalid):
        load(tmp_path / "absent.json", required=True)


_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FFF, exclude_categories=("Cs", "Cc")), max_size=12)
_number = st.one_of(st.none(), st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False))
_json = st.recursive(st.one_of(st.none(), st.booleans(), _number, _text),
                     lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_text, inner, max_size=3)),
                     max_leaves=8)
_entry = st.fixed_dictionaries(
    {},
    optional={
        "status": st.one_of(st.none(), st.sampled_from(STATUSES)),
        "input_sha256": st.one_of(st.none(), _text), "endpoint": st.one_of(st.none(), _text),
        "result_urls": st.lists(_text, max_size=2), "duration": _number,
        "credits": st.fixed_dictionaries({"charged": _number}, optional={
            "estimated": st.one_of(st.none(), st.fixed_dictionaries({"min": _number, "max": _number}))}),
        "response": _json, "extra": _json,
    },
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(jobs=st.dictionaries(_text.filter(bool), _entry, max_size=4))
def test_any_valid_manifest_is_written_back_byte_for_byte(tmp_path: Path, jobs: dict) -> None:
    src = tmp_path / "src.json"
    src.write_text(json.dumps({"campaign": "c", "jobs": jobs}, sort_keys=True, indent=2, ensure_ascii=False) + "\n",
                   "utf-8")
    loaded = load(src, required=True)
    assert loaded is not None
    out = tmp_path / "out.json"
    dump(out, {"campaign": "c", "jobs": {iid: e.to_json() for iid, e in loaded.jobs.items()}})
    assert out.read_bytes() == src.read_bytes()
