"""YAML that is too big, too deep or too self-referential to load: refused before it is built.

The fixed-size hostile files are in corpus/; these are generated because they are
big (100,000 brackets, 9 MB) or need their memory measured.
"""

from __future__ import annotations

import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
import yaml

from helpers.hardening import CORPUS, expect_refusal, run_cli
from renderer.errors import LimitError, LoadError
from renderer.campaign.yamlfile import Limits, load_text

JOBS = "jobs:\n  a:\n    endpoint: samsar/image/enhance\n    input: {image_url: 'https://x/a.png', resolution: 2k}\n"


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    text = "version: 1\nname: laughs\nvars:\n  l0: &l0 [" + ", ".join(['"lol"'] * width) + "]\n"
    for i in range(1, levels):
        text += f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]\n"
    return text + JOBS


def test_billion_laughs_is_refused_fast_and_small(campaign) -> None:
    path = campaign(billion_laughs())
    tracemalloc.start()
    try:
        started = time.process_time()
        results = expect_refusal(path, "more than 500000 values", "limits.max_nodes")
        seconds = time.process_time() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 387,420,489 strings if expanded; refused from the anchors' sizes without building one
    assert all(r.seconds < 1.0 for r in results), [r.seconds for r in results]
    assert seconds < 2.0
    assert peak < 16 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_alias_bomb_at_the_loader_level_builds_nothing() -> None:
    tracemalloc.start()
    try:
        started = time.process_time()
        with pytest.raises(LimitError) as info:
            load_text(billion_laughs(levels=12), "bomb.yaml")
        seconds = time.process_time() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "more than 500000 values" in str(info.value)
    assert info.value.location.line > 1  # at the alias that passes the limit
    assert seconds < 1.0 and peak < 4 * 1024 * 1024, (seconds, peak)


def test_one_long_string_repeated_by_aliases_is_refused(campaign) -> None:
    text = "version: 1\nname: x\nvars:\n  a: &a \"" + "x" * 100_000 + "\"\n  b: &b [" + ", ".join(["*a"] * 100) + "]\n"
    text += "  c: [" + ", ".join(["*b"] * 100) + "]\n" + JOBS
    expect_refusal(campaign(text), "YAML values hold more than 33554432 characters", "limits.max_chars")


def test_a_limit_of_the_caller_names_itself() -> None:
    with pytest.raises(LimitError) as info:
        load_text("a: [" + ", ".join(["1"] * 50) + "]\n", "x.yaml", Limits(max_nodes=10))
    assert "more than 10 values" in str(info.value)
    with pytest.raises(LimitError) as info:
        load_text("a: [[[[1]]]]\n", "x.yaml", Limits(max_depth=3))
    assert str(info.value) == "x.yaml:1:6: YAML is nested deeper than 3 levels"  # the mapping is a level


@pytest.mark.parametrize("opener, closer", [("[", "]"), ("{a: ", "}"), ("- ", "")], ids=["seq", "map", "block"])
def test_100000_levels_give_a_located_error_not_a_crash(tmp_path: Path, opener: str, closer: str) -> None:
    """libyaml's composer recurses once per level and crashed the process (SIGSEGV) here.

    Run in a child process: if this regresses, the crash must not take pytest down.
    """
    path = tmp_path / "deep.yaml"
    if opener == "- ":
        path.write_text("".join(" " * i + "- \n" for i in range(3000)) + "x\n")  # block nesting grows by column
        want = "nested deeper than 64 levels"
    else:
        path.write_text(opener * 100_000 + "1" + closer * 100_000 + "\n")
        want = "nested deeper than 64 levels"
    code = (
        "import io, sys, time\nfrom renderer.cli import main\n"
        "err = io.StringIO(); t = time.process_time()\n"
        f"rc = main(['validate', {str(path)!r}], io.StringIO(), err, {{}})\n"
        "print(rc, round(time.process_time() - t, 3)); print(err.getvalue(), end='')\n"
    )
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"the child died: {proc.returncode}\n{proc.stderr[-2000:]}"
    first, *rest = proc.stdout.splitlines()
    rc, seconds = first.split()
    assert rc == "1" and float(seconds) < 2.0, proc.stdout
    if opener == "- ":
        assert rest and rest[0].startswith(f"{path}:") and want in rest[0], rest
    else:  # the bracket that opens level 65, whichever of PyYAML and us refuses first
        col = 1 + len(opener) * 64
        assert rest[0] == f"{path}:1:{col}: YAML is nested deeper than 64 levels", rest
    assert time.monotonic() - started < 10


def test_a_flat_file_of_millions_of_values_is_refused_before_composing(campaign) -> None:
    # 4,000,000 values in 8 MB: composing them took 36 s and 1.3 GB; counting events stops at 500,000
    text = "version: 1\nname: flat\nvars:\n  v: [" + "1," * 3_999_999 + "1]\n" + JOBS
    path = campaign(text)
    assert path.stat().st_size < 8 * 1024 * 1024
    results = expect_refusal(path, "more than 500000 values", commands=(("validate",),))
    assert results[0].seconds < 4.0


def test_file_size_limit(campaign) -> None:
    path = campaign("version: 1\nname: big\n# " + "x" * (9 * 1024 * 1024) + "\n" + JOBS)
    expect_refusal(path, "the limit is 8388608 bytes")


def test_a_sparse_file_is_refused_by_its_size_not_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as fh:
        fh.truncate(50 * 1024**3)  # 50 GB that take no disk
    r = expect_refusal(path, "file is 53687091200 bytes; the limit is 8388608 bytes")
    assert r[0].seconds < 1.0


def test_duplicate_keys_stay_refused_at_every_level(campaign) -> None:
    for text, key in [
        ("version: 1\nversion: 1\nname: x\n" + JOBS, "'version'"),
        ("version: 1\nname: x\nvars: {a: 1, b: {c: 1, c: 2}}\n" + JOBS, "'c'"),
        ("version: 1\nname: x\n" + JOBS + "    matrix: {k: [1], k: [2]}\n", "'k'"),
        ("version: 1\nname: x\nvars: {'a': 1, \"a\": 2}\n" + JOBS, "'a'"),
    ]:
        expect_refusal(campaign(text), f"duplicate key {key}")


def test_dates_and_binary_stay_text_and_other_tags_are_refused() -> None:
    doc = load_text("a: 2024-01-01\nb: !!binary aGVsbG8=\nc: !!str 5\n", "x.yaml")
    assert doc.data == {"a": "2024-01-01", "b": "aGVsbG8=", "c": "5"}
    for tag in ("!!python/object:os.system", "!!python/tuple", "!<tag:yaml.org,2002:python/object/apply:os.system>", "!!js/function", "!local"):
        with pytest.raises(LoadError) as info:
            load_text(f"a: {tag} []\n", "x.yaml")
        assert "is not allowed" in str(info.value)


def test_the_corpus_covers_yaml() -> None:
    assert len(list(CORPUS.glob("yaml-*.yaml"))) >= 25


def test_a_directory_a_fifo_and_a_device_are_not_campaigns(tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.yaml"
    zero.symlink_to("/dev/zero")
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    for path in (fifo, zero, folder):
        r = run_cli("validate", path)
        assert r.code == 1 and r.seconds < 1.0, (path, r)
        assert r.err == f"{path}: cannot read file: not a regular file (a folder, device, FIFO or socket)\n"


@pytest.mark.parametrize("problem, context", [
    ("exceeded maximum nesting depth", "while increasing flow level"),
    ("exceeded maximum nesting depth", "while increasing block level"),
])
def test_the_librarys_own_depth_refusal_becomes_our_located_error(monkeypatch, problem: str, context: str) -> None:
    """PyYAML 6.0.4 refuses deep nesting itself, before our prescan sees an event; older
    versions do not. Whatever the installed version says, the user reads our message."""
    text = "a:\n  b: " + "[" * 70 + "1" + "]" * 70 + "\n"

    def refuse(*args, **kwargs):
        mark = yaml.Mark("<unicode string>", 1000, 1, 999, None, None)
        raise yaml.scanner.ScannerError(context, mark, problem, mark)
        yield  # pragma: no cover - a generator, like yaml.parse

    monkeypatch.setattr(yaml, "parse", refuse)
    with pytest.raises(LimitError) as info:
        load_text(text, "deep.yaml")
    assert str(info.value) == "deep.yaml:2:70: YAML is nested deeper than 64 levels"


def test_the_librarys_refusal_without_flow_brackets_keeps_its_position(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        mark = yaml.Mark("<unicode string>", 40, 3, 7, None, None)
        raise yaml.scanner.ScannerError("while increasing block level", mark, "exceeded maximum nesting depth", mark)
        yield  # pragma: no cover

    monkeypatch.setattr(yaml, "parse", refuse)
    with pytest.raises(LimitError) as info:
        load_text("a:\n  - b\n  - '[[[['\n", "deep.yaml")
    assert str(info.value) == "deep.yaml:4:8: YAML is nested deeper than 64 levels"
