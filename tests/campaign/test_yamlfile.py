"""Bad YAML gets one located line and exit 1, never a traceback."""

from __future__ import annotations

import io

import pytest

from renderer.cli import main
from renderer.errors import LimitError, LoadError
from renderer.campaign.yamlfile import Limits, load_bytes, load_text


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err, env={})
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    "name, content, where, words",
    [
        ("syntax", b"version: 1\njobs: [1, 2\nname: x\n", "3:5", "did not find expected ',' or ']'"),
        ("tabs", b"version: 1\njobs:\n\tclip: {}\n", "3:1", "tab character"),
        ("duplicate", b"version: 1\nname: a\nname: b\njobs: {}\n", "3:1", "duplicate key 'name' (first defined on line 2)"),
        ("python tag", b"version: 1\nname: !!python/object/apply:os.system [ls]\n", "2:7", "tag !!python/object/apply:os.system is not allowed"),
        ("custom tag", b"version: 1\nname: !Env HOME\n", "2:7", "tag !Env is not allowed"),
        ("list document", b"- 1\n- 2\n", "1:1", "this file holds a list"),
        ("scalar document", b"just text\n", "1:1", "this file holds a single value"),
        ("empty", b"", "1:1", "file is empty"),
        ("only comments", b"# nothing here\n\n", "1:1", "file is empty"),
        ("two documents", b"version: 1\n---\nversion: 2\n", "2:1", "more than one YAML document"),
        ("binary junk", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "1:1", "not UTF-8 text"),
        ("control characters", b"version: 1\nname: \x00\x01\n", "2:7", "control characters are not allowed"),
    ],
)
def test_bad_yaml_is_one_located_line(tmp_path, name, content, where, words):
    path = tmp_path / "c.yaml"
    path.write_bytes(content)
    code, out, err = run("validate", str(path))
    assert code == 1, err
    assert "Traceback" not in err and "internal error" not in err
    first = err.splitlines()[0]
    assert first.startswith(f"{path}:{where}: "), first
    assert words in first


def test_duplicate_keys_are_found_at_any_depth():
    with pytest.raises(LoadError) as info:
        load_text("jobs:\n  a:\n    input:\n      x: 1\n      x: 2\n", "f.yaml")
    assert str(info.value) == "f.yaml:5:7: duplicate key 'x' (first defined on line 4)"


def test_positions_of_values_and_keys():
    doc = load_text("a:\n  b:\n    - x\n    - {c: 2}\n", "f.yaml")
    assert str(doc.loc(("a", "b", 1, "c"))) == "f.yaml:4:11"
    assert str(doc.loc(("a", "b"), key=True)) == "f.yaml:2:3"
    assert str(doc.loc(("a", "b", 7))) == "f.yaml:3:5"  # nearest known ancestor


def test_dates_stay_text_and_merge_keys_work():
    doc = load_text("when: 2024-01-01\nbase: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n", "f.yaml")
    assert doc.data["when"] == "2024-01-01"
    assert doc.data["d"] == {"y": 3, "x": 1}


def test_alias_bomb_is_refused_without_expanding():
    levels = ["a: &a [1,1,1,1,1,1,1,1,1,1]"]
    for i, name in enumerate("bcdefgh"):
        prev = "abcdefgh"[i]
        levels.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 10) + "]")
    with pytest.raises(LimitError) as info:
        load_text("\n".join(levels) + "\n", "bomb.yaml", Limits(max_nodes=100_000))
    assert "more than 100000 values" in str(info.value)


def test_file_size_limit():
    with pytest.raises(LimitError) as info:
        load_bytes(b"a: 1\n" * 100, "big.yaml", Limits(max_bytes=64))
    assert "the limit is 64 bytes" in str(info.value)


def test_missing_file_is_a_located_error(tmp_path):
    code, _, err = run("validate", str(tmp_path / "nope.yaml"))
    assert code == 1
    assert err.startswith(f"{tmp_path / 'nope.yaml'}: cannot read file")
