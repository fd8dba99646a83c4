"""`renderer changed --base REV`: the campaigns a pull request touches, in a real git repository."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import cli

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

STILLS = """version: 1
name: {name}
jobs:
  stills:
    endpoint: samsar/image/enhance
    matrix:
      row: {{from: data/rows.csv}}
    input:
      image_url: "{{{{ matrix.row.url }}}}"
      resolution: 2k
"""
UPLOAD = """version: 1
name: {name}
pricing:
  enhancecraft:
    operations: {{enhance: 10}}
jobs:
  shot:
    endpoint: enhancecraft/jobs
{matrix}    input:
      input_file: {file}
      operations: [{{type: enhance, params: {{scale: 2}}}}]
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                          env={"GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd), "PATH": "/usr/bin:/bin",
                               "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                               "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}).stdout


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """main: six campaigns, their data and upload files, a workflow; then a branch that changes some."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "--quiet", "--initial-branch=main")
    write(root, {
        "campaigns/rows.yaml": STILLS.format(name="rows"),
        "campaigns/data/rows.csv": "url\nhttps://cdn.example.com/a.png\n",
        "campaigns/photo.yaml": UPLOAD.format(name="photo", matrix="", file="assets/photo.png"),
        "campaigns/each.yaml": UPLOAD.format(name="each", matrix="    matrix:\n      n: [1, 2]\n",
                                             file='"assets/{{ matrix.n }}.png"'),
        # it does not plan (a bad operation): which file a template names is then a wildcard
        "campaigns/loose.yaml": UPLOAD.format(name="loose", matrix="    matrix:\n      n: [1]\n",
                                              file='"assets/loose-{{ matrix.n }}.png"').replace("scale: 2", "scale: 3"),
        "campaigns/quiet.yaml": STILLS.format(name="quiet").replace("data/rows.csv", "data/other.csv"),
        "campaigns/data/other.csv": "url\nhttps://cdn.example.com/b.png\n",
        "campaigns/gone.yaml": STILLS.format(name="gone"),
        "campaigns/broken.yaml": STILLS.format(name="broken"),
        "campaigns/assets/photo.png": b"\x89PNG photo", "campaigns/assets/1.png": b"\x89PNG 1",
        "campaigns/assets/2.png": b"\x89PNG 2", "campaigns/each.manifest.json": '{"jobs": {}}',
        ".github/workflows/ci.yml": "on: push\njobs: {}\n",
    })
    git(root, "add", ".")
    git(root, "commit", "--quiet", "-m", "main")
    git(root, "checkout", "--quiet", "-b", "feature")
    monkeypatch.chdir(root)
    return root


def test_lists_the_campaigns_a_branch_touches_and_why(repo: Path):
    write(repo, {
        "campaigns/data/rows.csv": "url\nhttps://cdn.example.com/c.png\n",  # rows: its data file
        "campaigns/assets/2.png": b"\x89PNG two",  # each: a file one of its instances uploads (a template)
        "campaigns/assets/loose-9.png": b"\x89PNG 9",  # loose: a file its template could name
        "campaigns/broken.yaml": STILLS.format(name="broken").replace("2k", "{{ nope"),  # no longer loads
        "campaigns/new.yaml": STILLS.format(name="new"),  # not committed yet: still part of the change
        ".github/workflows/ci.yml": "on: pull_request\njobs: {}\n",  # no campaign
    })
    (repo / "campaigns/gone.yaml").unlink()
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "feature")
    write(repo, {"campaigns/assets/photo.png": b"\x89PNG retouched"})  # photo: uncommitted, in the working tree

    r = cli(["changed", "--base", "main"])
    assert r.code == 0, r.err
    assert r.out.splitlines() == ["campaigns/broken.yaml", "campaigns/each.yaml", "campaigns/loose.yaml",
                                  "campaigns/new.yaml", "campaigns/photo.yaml", "campaigns/rows.yaml"]
    doc = json.loads(cli(["changed", "--base", "main", "--json"]).out)
    assert doc["base"] == "main" and len(doc["merge_base"]) == 40
    by_file = {c["file"]: c for c in doc["campaigns"]}
    assert by_file["campaigns/rows.yaml"] == {"file": "campaigns/rows.yaml", "name": "rows",
                                              "slug": "campaigns-rows.yaml", "because": ["campaigns/data/rows.csv"]}
    assert by_file["campaigns/each.yaml"]["because"] == ["campaigns/assets/2.png"]
    assert by_file["campaigns/photo.yaml"]["because"] == ["campaigns/assets/photo.png"]
    assert by_file["campaigns/broken.yaml"] == {"file": "campaigns/broken.yaml", "name": None,
                                                "slug": "campaigns-broken.yaml", "because": ["campaigns/broken.yaml"]}
    assert by_file["campaigns/loose.yaml"]["because"] == ["campaigns/assets/loose-9.png"]


def test_a_changed_manifest_touches_its_campaign_and_paths_follow_the_current_directory(repo: Path, monkeypatch):
    write(repo, {"campaigns/each.manifest.json": '{"jobs": {"x": {}}}'})
    monkeypatch.chdir(repo / "campaigns")
    r = cli(["changed", "--base", "main"])
    assert r.code == 0 and r.out == "each.yaml\n"


def test_an_approvals_file_touches_its_campaign(repo: Path):
    write(repo, {"campaigns/each.approvals.json": '{"approved": {}}'})
    r = cli(["changed", "--base", "main"])
    assert r.code == 0 and r.out == "campaigns/each.yaml\n"


def test_nothing_changed_lists_nothing(repo: Path):
    assert cli(["changed", "--base", "main"]).out == ""
    assert json.loads(cli(["changed", "--base", "HEAD", "--json"]).out)["campaigns"] == []


def test_an_unknown_base_or_no_repository_is_a_usage_error(repo: Path, tmp_path: Path, monkeypatch):
    r = cli(["changed", "--base", "origin/nope"])
    assert r.code == 2
    assert r.err.startswith("error: renderer changed: cannot find the merge base of origin/nope and HEAD: ")
    assert "fetch-depth: 0" in r.err
    elsewhere = tmp_path / "plain"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    r = cli(["changed", "--base", "main"])
    assert r.code == 2 and r.err.startswith("error: renderer changed: cannot find git rev-parse: ")
    assert cli(["changed"]).code == 2  # --base is required
