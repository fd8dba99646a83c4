"""Matrix expansion: CI-matrix include/exclude, data files below the campaign, stable ids."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from renderer.plan.matrix import expand, instance_id
from renderer.campaign.yamlfile import load_text

from .conftest import errors_of, plan_file

DOC = load_text("a: 1", "m.yaml")


def ids_and_values(matrix: dict, folder: Path = Path(".")) -> list[tuple[str, dict]]:
    return [(instance_id("j", c), dict(c.values)) for c in expand("j", matrix, DOC, folder)]


def test_no_matrix_is_one_instance_named_after_the_job() -> None:
    assert expand("j", None, DOC, Path(".")) is None
    assert instance_id("teaser", None) == "teaser"


def test_product_in_written_key_order() -> None:
    assert [i for i, _ in ids_and_values({"language": ["en", "es"], "city": ["lisbon", "tokyo"]})] == [
        "j[language=en,city=lisbon]", "j[language=en,city=tokyo]",
        "j[language=es,city=lisbon]", "j[language=es,city=tokyo]",
    ]


def test_github_actions_include_example() -> None:
    # docs.github.com, "Expanding or adding matrix configurations": the worked example
    matrix = {
        "fruit": ["apple", "pear"],
        "animal": ["cat", "dog"],
        "include": [
            {"color": "green"},
            {"color": "pink", "animal": "cat"},
            {"fruit": "apple", "shape": "circle"},
            {"fruit": "banana"},
            {"fruit": "banana", "animal": "cat"},
        ],
    }
    assert ids_and_values(matrix) == [
        ("j[fruit=apple,animal=cat]", {"fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle"}),
        ("j[fruit=apple,animal=dog]", {"fruit": "apple", "animal": "dog", "color": "green", "shape": "circle"}),
        ("j[fruit=pear,animal=cat]", {"fruit": "pear", "animal": "cat", "color": "pink"}),
        ("j[fruit=pear,animal=dog]", {"fruit": "pear", "animal": "dog", "color": "green"}),
        ("j[fruit=banana]", {"fruit": "banana"}),
        ("j[fruit=banana,animal=cat]", {"fruit": "banana", "animal": "cat"}),
    ]


def test_github_actions_exclude_then_include() -> None:
    # docs.github.com, "Excluding matrix configurations"; includes may add excluded ones back
    matrix = {
        "os": ["macos-latest", "windows-latest"],
        "version": [12, 14, 16],
        "environment": ["staging", "production"],
        "exclude": [
            {"os": "macos-latest", "version": 12, "environment": "production"},
            {"os": "windows-latest", "version": 16},
        ],
    }
    ids = [i for i, _ in ids_and_values(matrix)]
    assert len(ids) == 12 - 1 - 2  # 2 x 3 x 2, less one and two
    assert "j[os=macos-latest,version=12,environment=production]" not in ids
    assert not [i for i in ids if "windows-latest,version=16" in i]
    assert ids[:3] == [
        "j[os=macos-latest,version=12,environment=staging]",
        "j[os=macos-latest,version=14,environment=staging]",
        "j[os=macos-latest,version=14,environment=production]",
    ]
    back = dict(matrix, include=[{"os": "windows-latest", "version": 16, "environment": "staging", "note": "back"}])
    assert ids_and_values(back)[-1] == (
        "j[os=windows-latest,version=16,environment=staging]",
        {"os": "windows-latest", "version": 16, "environment": "staging", "note": "back"},
    )


def test_include_only_matrix() -> None:
    assert ids_and_values({"include": [{"city": "lisbon", "lang": "pt"}, {"city": "lima"}]}) == [
        ("j[city=lisbon,lang=pt]", {"city": "lisbon", "lang": "pt"}),
        ("j[city=lima]", {"city": "lima"}),
    ]


def test_ids_show_scalars_stably() -> None:
    assert [i for i, _ in ids_and_values({"n": [1, 1.5, True, False], "s": ["a b"]})] == [
        "j[n=1,s=a b]", "j[n=1.5,s=a b]", "j[n=true,s=a b]", "j[n=false,s=a b]",
    ]


def test_ids_are_stable_across_loads(write) -> None:
    text = """
        version: 1
        name: stable
        jobs:
          a:
            endpoint: samsar/image/remove_branding
            matrix:
              city: [lisbon, tokyo]
              n: [2, 1]
            input: {image_url: "https://x/{{ matrix.city }}/{{ matrix.n }}.png"}
        """
    first, _ = plan_file(write(text, "one.yaml"))
    second, _ = plan_file(write(text, "two.yaml"))
    assert [i.id for i in first.instances] == [i.id for i in second.instances] == [
        "a[city=lisbon,n=2]", "a[city=lisbon,n=1]", "a[city=tokyo,n=2]", "a[city=tokyo,n=1]",
    ]
    assert [i.input_sha256 for i in first.instances] == [i.input_sha256 for i in second.instances]


# -- data files ----------------------------------------------------------------------

ROWS = """
version: 1
name: rows
jobs:
  a:
    endpoint: samsar/image/remove_branding
    matrix:
      listing: {from: FILE}
    input: {image_url: "{{ matrix.listing.photo }}"}
"""


@pytest.mark.parametrize(
    "name,content",
    [
        ("data/listings.csv", "id,title,photo\nlagoon,Blue Lagoon,https://x/l.png\ndinner,Sunset,https://x/d.png\n"),
        ("data/listings.json", '[{"id": "lagoon", "photo": "https://x/l.png"}, {"id": "dinner", "photo": "https://x/d.png"}]'),
        ("data/listings.yaml", "- {id: lagoon, photo: 'https://x/l.png'}\n- {id: dinner, photo: 'https://x/d.png'}\n"),
        ("listings.yml", "- {id: lagoon, photo: 'https://x/l.png'}\n- {id: dinner, photo: 'https://x/d.png'}\n"),
    ],
)
def test_rows_from_data_files_relative_to_the_campaign(write, name: str, content: str) -> None:
    write(content, name)
    plan, _ = plan_file(write(ROWS.replace("FILE", name)))
    assert [(i.id, i.body["image_url"]) for i in plan.instances] == [
        ("a[listing=lagoon]", "https://x/l.png"),
        ("a[listing=dinner]", "https://x/d.png"),
    ]
    assert plan.by_id["a[listing=lagoon]"].matrix["listing"]["photo"] == "https://x/l.png"


def test_rows_without_id_are_named_by_their_first_column(write) -> None:
    write("sku,photo\nA1,https://x/a.png\nB2,https://x/b.png\n", "p.csv")
    plan, _ = plan_file(write(ROWS.replace("FILE", "p.csv")))
    assert [i.id for i in plan.instances] == ["a[listing=A1]", "a[listing=B2]"]


def test_rows_that_name_the_same_instance_twice_are_refused(write) -> None:
    write("city,photo\nlisbon,https://x/a.png\nlisbon,https://x/b.png\n", "p.csv")
    p = write(ROWS.replace("FILE", "p.csv"))
    assert errors_of(p) == [
        f"{p}:7:7: a[listing=lisbon]: matrix names instance a[listing=lisbon] twice; the values that name "
        "instances (a data row's id, else its first column) must be unique",
    ]


def test_a_data_file_from_the_campaign_folder_not_the_working_directory(write, tmp_path: Path, monkeypatch) -> None:
    write("id,photo\nx,https://x/x.png\n", "sub/rows.csv")
    p = write(ROWS.replace("FILE", "rows.csv"), "sub/c.yaml")
    monkeypatch.chdir(tmp_path)
    plan, _ = plan_file(p)
    assert [i.id for i in plan.instances] == ["a[listing=x]"]


def test_data_files_outside_the_campaign_folder_are_refused(write, tmp_path: Path) -> None:
    (tmp_path / "secret.csv").write_text("id,photo\nx,y\n")
    p = write(ROWS.replace("FILE", "../secret.csv"), "camp/c.yaml")
    assert errors_of(p) == [f"{p}:7:23: data file '../secret.csv' is outside the campaign's folder"]


def test_absolute_data_files_are_refused(write, tmp_path: Path) -> None:
    target = tmp_path / "camp" / "rows.csv"
    write("id,photo\nx,y\n", "camp/rows.csv")
    p = write(ROWS.replace("FILE", str(target)), "camp/c.yaml")
    assert errors_of(p) == [f"{p}:7:23: data file {str(target)!r} is absolute; name it relative to the campaign's folder"]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_symlinks_out_of_the_folder_are_refused(write, tmp_path: Path) -> None:
    (tmp_path / "secret.csv").write_text("id,photo\nx,y\n")
    (tmp_path / "camp").mkdir()
    os.symlink(tmp_path / "secret.csv", tmp_path / "camp" / "rows.csv")
    p = write(ROWS.replace("FILE", "rows.csv"), "camp/c.yaml")
    assert errors_of(p) == [f"{p}:7:23: data file 'rows.csv' is outside the campaign's folder"]


def test_symlinks_inside_the_folder_are_read(write, tmp_path: Path) -> None:
    write("id,photo\nx,https://x/x.png\n", "camp/real.csv")
    os.symlink(tmp_path / "camp" / "real.csv", tmp_path / "camp" / "rows.csv")
    plan, _ = plan_file(write(ROWS.replace("FILE", "rows.csv"), "camp/c.yaml"))
    assert [i.id for i in plan.instances] == ["a[listing=x]"]


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("missing.csv", None, "data file 'missing.csv' not found (looked in {folder})"),
        ("empty.csv", "id,photo\n", "data file 'empty.csv' has no rows"),
        ("bad.json", "{not json", "data file 'bad.json' is not valid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
        ("map.json", '{"id": 1}', "data file 'map.json' must hold a list of rows"),
        ("wide.csv", "id,photo\na,b,c\n", "wide.csv:2: more cells than header columns"),
    ],
)
def test_malformed_data_files(write, tmp_path: Path, name: str, content: str | None, message: str) -> None:
    if content is not None:
        write(content, name)
    p = write(ROWS.replace("FILE", name))
    assert errors_of(p) == [f"{p}:7:23: " + message.format(folder=tmp_path.resolve())]
