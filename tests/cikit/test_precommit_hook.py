"""The pre-commit hook (.pre-commit-hooks.yaml), run as pre-commit would run it.

pre-commit picks files with `re.search(files)` and not `re.search(exclude)` on paths
from the repository root, and runs `entry` followed by those paths in the root. We do
the same with bash; pre-commit itself (and the virtual environment it would build with
`pip install .` for `language: python`) is not run: the installed `renderer` is used.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from .conftest import ROOT

HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
HOOK = next(h for h in HOOKS if h["id"] == "renderer-validate")

CANDIDATES = [
    "campaigns/spring-launch.yaml",
    "campaigns/images.yaml",
    "campaigns/data/listings.csv",
    "campaigns/data/rows.yaml",          # a matrix data file, not a campaign
    "marketing/campaign/launch.yml",     # any folder named campaign(s), at any depth
    "campaigns/team-a/autumn.yaml",
    ".github/workflows/ci.yml",
    "action.yml",
    "docs/campaigns.md",
    "mycampaigns/x.yaml",
]


def selected(paths: list[str], hook: dict = HOOK) -> list[str]:
    files, exclude = re.compile(hook.get("files", "")), re.compile(hook.get("exclude", "^$"))
    return [p for p in paths if files.search(p) and not exclude.search(p)]


def run_hook(repo: Path, paths: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    command = HOOK["entry"] + " " + " ".join(shlex.quote(p) for p in paths)
    return subprocess.run(["bash", "-c", command], cwd=repo, env=env, capture_output=True, text=True, timeout=60)


def test_hook_shape():
    assert HOOK["language"] == "python"
    assert HOOK["entry"] == "renderer validate"
    assert HOOK.get("pass_filenames", True) is True


def test_default_pattern_picks_campaign_yaml_only():
    assert selected(CANDIDATES) == [
        "campaigns/spring-launch.yaml",
        "campaigns/images.yaml",
        "marketing/campaign/launch.yml",
        "campaigns/team-a/autumn.yaml",
    ]


def test_files_override_as_documented():
    # .pre-commit-config.yaml may set `files:` (docs/ci.md); the hook's exclude still applies
    assert selected(CANDIDATES, {**HOOK, "files": r"^marketing/.*\.ya?ml$"}) == ["marketing/campaign/launch.yml"]


def test_hook_passes_on_the_example_campaigns_and_fails_with_locations(tmp_path: Path):
    repo = tmp_path / "repo"
    (repo / "campaigns").mkdir(parents=True)
    for path in (ROOT / "campaigns").glob("*.yaml"):
        (repo / "campaigns" / path.name).write_text(path.read_text())
    (repo / "campaigns" / "data").mkdir()
    for path in (ROOT / "campaigns" / "data").iterdir():
        (repo / "campaigns" / "data" / path.name).write_text(path.read_text())
    (repo / "campaigns" / "data" / "rows.yaml").write_text("- {id: a}\n- {id: b}\n")
    (repo / "campaigns" / "assets").mkdir()
    (repo / "campaigns" / "assets" / "sample.png").write_bytes((ROOT / "campaigns" / "assets" / "sample.png").read_bytes())
    all_files = sorted(str(p.relative_to(repo)) for p in repo.rglob("*") if p.is_file())

    picked = selected(all_files)
    examples = len(list((ROOT / "campaigns").glob("*.yaml")))
    assert "campaigns/data/rows.yaml" not in picked and len(picked) == examples
    r = run_hook(repo, picked)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{examples} file(s) valid\n"

    (repo / "campaigns" / "spring-launch.yaml").write_text(
        (ROOT / "campaigns" / "spring-launch.yaml").read_text().replace("resolution: 2k", "resolution: 3k"))
    r = run_hook(repo, picked)
    assert r.returncode == 1
    assert re.search(r"^campaigns/spring-launch\.yaml:19:19: .*3k", r.stderr, flags=re.M), r.stderr
