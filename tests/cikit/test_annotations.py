"""GITHUB_ACTIONS=true: every error is also an `::error` workflow command, escaped as
GitHub's own toolkit does (@actions/core: data escapes % CR LF; properties also : and ,)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from renderer.cli import render_error
from renderer.errors import BudgetExceeded, ConfigError, Invalid, Location, SchemaError, UsageError

from .conftest import cli

GHA = {"GITHUB_ACTIONS": "true"}


def rendered(error, env=GHA) -> str:
    err = io.StringIO()
    render_error(error, err, env)
    return err.getvalue()


def test_one_error_prints_its_line_then_its_annotation():
    e = SchemaError("budget.max_credits must be a number", Location("campaigns/a.yaml", 7, 16))
    assert rendered(e) == (
        "campaigns/a.yaml:7:16: budget.max_credits must be a number\n"
        "::error file=campaigns/a.yaml,line=7,col=16::budget.max_credits must be a number\n"
    )


def test_the_instance_leads_the_message():
    e = SchemaError("resolution must be one of 1k, 2k, 4k", Location("c.yaml", 3, 5, "stills[city=lima]"))
    assert rendered(e) == (
        "c.yaml:3:5: stills[city=lima]: resolution must be one of 1k, 2k, 4k\n"
        "::error file=c.yaml,line=3,col=5::stills[city=lima]: resolution must be one of 1k, 2k, 4k\n"
    )


def test_escaping_of_data_and_properties():
    e = SchemaError("100% wrong: a, b\nsecond line\r\nthird", Location("dir,x/a:b%c.yaml", 2, 1))
    out = rendered(e).splitlines()[-1]
    assert out == ("::error file=dir%2Cx/a%3Ab%25c.yaml,line=2,col=1::"
                   "100%25 wrong: a, b%0Asecond line%0D%0Athird")


def test_a_whole_file_error_has_no_line():
    e = SchemaError("cannot read file: No such file or directory", Location("missing.yaml"))
    assert rendered(e) == ("missing.yaml: cannot read file: No such file or directory\n"
                           "::error file=missing.yaml::cannot read file: No such file or directory\n")


def test_many_errors_lines_then_annotations_then_the_count():
    errors = [SchemaError("second", Location("b.yaml", 9, 3)), SchemaError("first", Location("a.yaml", 1, 1))]
    assert rendered(Invalid(errors)) == (
        "a.yaml:1:1: first\n"
        "b.yaml:9:3: second\n"
        "::error file=a.yaml,line=1,col=1::first\n"
        "::error file=b.yaml,line=9,col=3::second\n"
        "2 errors\n"
    )


@pytest.mark.parametrize("error", [BudgetExceeded("over budget: 5,000 > 100"),
                                   ConfigError("SAMSAR_API_KEY is not set"),
                                   UsageError("renderer: bad\nusage")])
def test_errors_without_a_place_are_plain_annotations(error):
    text = str(error)
    # the plain line stays one line (a newline shows as \n); the annotation keeps it as %0A
    plain, data = text.replace("\n", "\\n"), text.replace("\n", "%0A")
    assert rendered(error) == f"error: {plain}\n::error::{data}\n"


def test_a_message_cannot_start_a_workflow_command_of_its_own():
    # campaign values end up in messages; a newline in one must not begin a `::` line
    e = SchemaError("bad value 'x\n::add-mask::y\r\n::error::z'", Location("a.yaml", 1, 1))
    lines = rendered(e).splitlines()
    assert len(lines) == 2 and lines[1].startswith("::error file=a.yaml,line=1,col=1::")
    assert "%0A::add-mask::y%0D%0A::error::z" in lines[1]


@pytest.mark.parametrize("env", [{}, {"GITHUB_ACTIONS": "false"}, {"GITHUB_ACTIONS": "1"}, {"CI": "true"}])
def test_no_annotations_outside_github_actions(env):
    e = SchemaError("bad", Location("a.yaml", 1, 2))
    assert rendered(e, env) == "a.yaml:1:2: bad\n"


def test_paths_are_made_relative_to_the_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # a step with working-directory: marketing reports campaigns/a.yaml; GitHub wants
    # the path from the repository root to put the annotation on the diff
    (tmp_path / "marketing").mkdir()
    monkeypatch.chdir(tmp_path / "marketing")
    env = {**GHA, "GITHUB_WORKSPACE": str(tmp_path)}
    inside = SchemaError("bad", Location("campaigns/a.yaml", 4, 2))
    assert rendered(inside, env).splitlines()[-1] == "::error file=marketing/campaigns/a.yaml,line=4,col=2::bad"
    absolute = SchemaError("bad", Location(str(tmp_path / "marketing" / "b.yaml"), 1, 1))
    assert rendered(absolute, env).splitlines()[-1] == "::error file=marketing/b.yaml,line=1,col=1::bad"
    outside = SchemaError("bad", Location(os.path.join(os.sep, "elsewhere", "c.yaml"), 1, 1))
    assert rendered(outside, env).splitlines()[-1] == "::error file=/elsewhere/c.yaml,line=1,col=1::bad"


def test_validate_end_to_end(work: Path):
    head = "version: 1\nname: broken\njobs:\n  stills:\n    endpoint: samsar/image/enhance\n"
    (work / "campaigns" / "a.yaml").write_text(
        head + "    input:\n      image_url: https://cdn.example.com/a.png\n      resolution: 3k\n")
    (work / "campaigns" / "b.yaml").write_text(
        head + "    needs: [stils]\n    input:\n      image_url: https://cdn.example.com/a.png\n")
    r = cli(["validate", "campaigns/spring-launch.yaml", "campaigns/a.yaml", "campaigns/b.yaml"], env=GHA)
    assert r.code == 1 and r.out == ""
    lines = r.err.splitlines()
    plain = [line for line in lines if line.startswith("campaigns/")]
    notes = [line for line in lines if line.startswith("::error ")]
    assert len(plain) == len(notes) == 2 and lines[-1] == "2 errors"
    assert plain[0].startswith("campaigns/a.yaml:8:19: ") and "3k" in plain[0]
    assert plain[1] == "campaigns/b.yaml:6:13: needs 'stils': no job of that name; did you mean 'stills'?"
    for line, note in zip(plain, notes):  # same place, same words
        file, row, col, message = line.split(":", 3)
        assert note == f"::error file={file},line={row},col={col}::{message.strip()}"
