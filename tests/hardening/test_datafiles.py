"""Data files named by matrices: regular files below the campaign's folder only, within limits.

A pull request can commit symlinks; git cannot commit a FIFO or a device, but a
symlink inside the folder can name one. Each case ends in a located
DataFileError (or LimitError) at the `from:` value, exit 1, in well under a second.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers.hardening import expect_refusal, run_cli
from renderer.errors import LimitError
from renderer.plan.matrix import MatrixLimits, read_rows
from renderer.campaign.yamlfile import load_text


def with_rows(frm: str) -> str:
    return f"""version: 1
name: data
jobs:
  a:
    endpoint: samsar/image/enhance
    matrix:
      row: {{from: "{frm}"}}
    input:
      image_url: "https://cdn.example.com/{{{{ matrix.row.id }}}}.png"
      resolution: 2k
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "camp").mkdir()
    (tmp_path / "camp" / "data").mkdir()
    (tmp_path / "secret.csv").write_text("id,key\n1,sk-canary-7f3a9c\n")  # beside, not below, the campaign
    return tmp_path / "camp"


def refuse(folder: Path, frm: str, *fragments: str) -> None:
    path = folder / "c.yaml"
    path.write_text(with_rows(frm))
    results = expect_refusal(path, *fragments)
    for r in results:
        assert r.lines[0].startswith(f"{path}:7:19: "), r.lines  # at the `from:` value
        assert r.seconds < 1.0
        assert "sk-canary" not in r.err


def test_a_good_data_file_is_read(folder: Path) -> None:
    (folder / "data" / "rows.csv").write_text("id,x\nlisbon,1\ntokyo,2\n")
    path = folder / "c.yaml"
    path.write_text(with_rows("data/rows.csv"))
    r = run_cli("plan", "--json", path)
    assert r.code == 0, r.err
    assert '"a[row=lisbon]"' in r.out


@pytest.mark.parametrize("frm", ["../secret.csv", "data/../../secret.csv", "./../camp/../secret.csv"])
def test_dotdot_out_of_the_folder(folder: Path, frm: str) -> None:
    refuse(folder, frm, "is outside the campaign's folder")


def test_absolute_path(folder: Path) -> None:
    refuse(folder, str(folder.parent / "secret.csv"), "is absolute")


def test_symlink_to_a_file_outside(folder: Path) -> None:
    (folder / "data" / "link.csv").symlink_to(folder.parent / "secret.csv")
    refuse(folder, "data/link.csv", "is outside the campaign's folder")


def test_symlinked_folder_pointing_outside(folder: Path) -> None:
    (folder / "data" / "up").symlink_to(folder.parent)
    refuse(folder, "data/up/secret.csv", "is outside the campaign's folder")


def test_symlink_to_etc_passwd(folder: Path) -> None:
    (folder / "data" / "passwd.csv").symlink_to("/etc/passwd")
    refuse(folder, "data/passwd.csv", "is outside the campaign's folder")


def test_symlink_to_dev_zero_does_not_hang(folder: Path) -> None:
    (folder / "data" / "zero.csv").symlink_to("/dev/zero")
    refuse(folder, "data/zero.csv", "is outside the campaign's folder")


def test_fifo_inside_the_folder_does_not_hang(folder: Path) -> None:
    os.mkfifo(folder / "data" / "pipe.csv")  # an open for reading would wait for a writer forever
    refuse(folder, "data/pipe.csv", "not a regular file")


def test_symlink_inside_to_a_fifo_inside(folder: Path) -> None:
    os.mkfifo(folder / "data" / "pipe.csv")
    (folder / "data" / "pipe.json").symlink_to(folder / "data" / "pipe.csv")
    refuse(folder, "data/pipe.json", "not a regular file")


def test_a_folder_named_like_a_data_file(folder: Path) -> None:
    (folder / "data" / "rows.csv").mkdir()
    refuse(folder, "data/rows.csv", "not a regular file")


def test_symlink_loop(folder: Path) -> None:
    (folder / "data" / "a.csv").symlink_to(folder / "data" / "b.csv")
    (folder / "data" / "b.csv").symlink_to(folder / "data" / "a.csv")
    refuse(folder, "data/a.csv", "data file 'data/a.csv'")


def test_missing(folder: Path) -> None:
    refuse(folder, "data/none.csv", "not found")


def test_size_limit_without_reading(folder: Path) -> None:
    with (folder / "data" / "huge.csv").open("wb") as fh:
        fh.truncate(40 * 1024**3)  # sparse: 40 GB on paper
    refuse(folder, "data/huge.csv", "is 42949672960 bytes; the limit is 33554432 bytes")


def test_rows_past_max_instances_stop_the_read(folder: Path) -> None:
    (folder / "data" / "many.csv").write_text("id\n" + "".join(f"r{i}\n" for i in range(5000)))
    path = folder / "c.yaml"
    path.write_text(with_rows("data/many.csv"))
    r = run_cli("validate", "--max-instances", "100", path)
    assert r.code == 1 and r.seconds < 1.0
    assert "has more than 100 rows" in r.err and "--max-instances" in r.err
    r.assert_located(path)


def test_a_csv_field_over_csvs_limit(folder: Path) -> None:
    (folder / "data" / "wide.csv").write_text("id\n" + "x" * 200_000 + "\n")
    refuse(folder, "data/wide.csv", "field larger than field limit")


def test_a_csv_header_naming_a_column_twice(folder: Path) -> None:
    (folder / "data" / "dup.csv").write_text("id,id\n1,2\n")
    refuse(folder, "data/dup.csv", "a column name appears twice")


@pytest.mark.parametrize("name, content, fragment", [
    ("deep.json", "[" * 100_000 + "]" * 100_000, "not valid JSON"),
    ("bigint.json", "[" + "9" * 5000 + "]", "not valid JSON"),
    ("object.json", '{"a": 1}', "must hold a list of rows"),
    ("bad.csv", b"id\n\xff\xfe\n", "not UTF-8"),
    ("empty.csv", "", "has no rows"),
    ("deep.yaml", "[" * 100_000 + "]" * 100_000, "nested deeper than 64 levels"),
    ("bomb.yaml", "a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [" + ",".join(["*a"] * 10) + "]\nc: &c [" + ",".join(["*b"] * 10) + "]\n"
     "d: &d [" + ",".join(["*c"] * 10) + "]\ne: &e [" + ",".join(["*d"] * 10) + "]\nf: [" + ",".join(["*e"] * 10) + "]\n", "values"),
    ("tag.yaml", "- !!python/object/apply:os.system [id]\n", "is not allowed"),
    ("surrogate.json", '[{"id": "x\\ud800"}]', "lone surrogate"),
])
def test_malformed_data_files(folder: Path, name: str, content: str | bytes, fragment: str) -> None:
    target = folder / "data" / name
    target.write_bytes(content if isinstance(content, bytes) else content.encode())
    refuse(folder, f"data/{name}", fragment)


def test_a_hundred_jobs_reading_one_big_file_parse_it_once(folder: Path) -> None:
    (folder / "data" / "rows.json").write_text("[" + ",".join(f'{{"id": "r{i}", "v": "{"x" * 200}"}}' for i in range(20_000)) + "]")
    jobs = "".join(f"""  j{i}:
    endpoint: samsar/image/enhance
    matrix:
      row: {{from: data/rows.json}}
    input:
      image_url: "https://cdn.example.com/{{{{ matrix.row.id }}}}.png"
      resolution: 2k
""" for i in range(100))
    path = folder / "c.yaml"
    path.write_text("version: 1\nname: many\njobs:\n" + jobs)
    r = run_cli("validate", "--max-instances", "30000", path)
    assert r.code == 1 and r.seconds < 3.0, r
    assert "--max-instances" in r.err


def test_the_data_file_limit_is_configurable(folder: Path) -> None:
    (folder / "data" / "rows.csv").write_text("id\nlisbon\n")
    doc = load_text("matrix: {row: {from: data/rows.csv}}\n", "c.yaml")
    with pytest.raises(LimitError) as info:
        read_rows("data/rows.csv", doc, folder, ("matrix", "row", "from"), MatrixLimits(max_data_file_bytes=4))
    assert str(info.value) == "c.yaml:1:22: data file 'data/rows.csv': file is 10 bytes; the limit is 4 bytes"
    assert read_rows("data/rows.csv", doc, folder, ("matrix", "row", "from"), MatrixLimits()) == [{"id": "lisbon"}]


# -- EnhanceCraft's input_file: hashed at plan time (an edited image is a new input) ------------

def with_input_file(name: str) -> str:
    return f"""version: 1
name: upload
pricing:
  enhancecraft:
    operations: {{convert: 1}}
jobs:
  a:
    endpoint: enhancecraft/jobs
    input:
      input_file: "{name}"
      operations:
        - {{type: convert, params: {{output_format: webp, quality: 90}}}}
"""


@pytest.mark.parametrize("setup, name, fragment", [
    ("sparse", "data/huge.png", "is 53687091200 bytes; the limit is 104857600 bytes"),
    ("fifo", "data/pipe.png", "not a regular file"),
    ("zero", "data/zero.png", "outside the campaign's folder"),
    ("outside", "../secret.csv", "outside the campaign's folder"),
    (None, "/etc/passwd", "is absolute"),
])
def test_input_file_is_confined_regular_and_bounded(folder: Path, setup: str | None, name: str, fragment: str) -> None:
    target = folder / name
    if setup == "sparse":
        with target.open("wb") as fh:
            fh.truncate(50 * 1024**3)  # hashing 50 GB took minutes
    elif setup == "fifo":
        os.mkfifo(target)
    elif setup == "zero":
        target.symlink_to("/dev/zero")
    path = folder / "c.yaml"
    path.write_text(with_input_file(name))
    for r in expect_refusal(path, fragment):
        assert r.seconds < 1.0
        assert r.lines[0].startswith(f"{path}:10:19: a: "), r.lines  # at input_file, for the instance
