"""The typed manifest: one reuse rule, located load errors, byte-exact round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from renderer.errors import Invalid
from renderer.execute.manifest import entry_of
from renderer.manifest import Manifest, ManifestEntry, dump, load
from renderer.plan.model import Outputs
from renderer.providers.base import Price, Range

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
