"""Run a composite action's steps (action.yml) and workflow `run:` steps as GitHub would.

What is faithful: each `run:` script is taken from the YAML as written and run with
`bash --noprofile --norc -eo pipefail` (GitHub's `shell: bash`), in its
working-directory, with the step's `env:`, a fresh GITHUB_OUTPUT file per step, a
shared GITHUB_STEP_SUMMARY, RUNNER_TEMP, GITHUB_WORKSPACE and GITHUB_ACTIONS=true.
Outputs are read back the way the runner reads them (`name=value` and heredocs).

What is substituted, and how:
- `${{ inputs.NAME }}`: the input given, else its default from action.yml;
- `${{ github.action_path }}` / `${{ github.workspace }}`: the repository root / the
  test's working directory;
- `${{ steps.ID.outputs.NAME }}`, `${{ needs.JOB.outputs.NAME }}`, `${{ matrix.* }}`,
  `${{ secrets.NAME }}`, `${{ env.NAME }}` and `${{ github.* }}`: from the mappings the
  caller passes; a job's `strategy.matrix` of the form `${{ fromJSON(needs...) }}` gives
  its legs (``matrix_legs``), and ``run_job`` runs one leg;
- in a workflow (``run_job``), `uses: ./` runs action.yml the same way; steps that use
  other actions (checkout, setup-python, cache, upload-artifact) are skipped and listed;
- `if:` conditions: only the forms these files use (`inputs.X == 'v'`, `always()`,
  `!cancelled()`, `a && b`, `x != ''`, `x == 'v'`) are understood; anything else
  fails the test rather than being guessed.
- `pip` and `gh` are stubs (``make_stubs``) that record their arguments: installing
  for real would replace the package this very test run imports, and `gh` would
  need GitHub. `gh run download` copies the files of ``STUB_GH_ARTIFACT`` (an
  artifact uploaded by an earlier job of the test); `gh api` without `--method` (a
  GET) prints ``STUB_GH_API`` (what `--jq` would have made of GitHub's answer).
  `python` is the interpreter running the tests.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from .conftest import ROOT

EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")

_RECORD = 'printf "%s" "$(basename "$0")" >> "$STUB_LOG"; printf " %q" "$@" >> "$STUB_LOG"; echo >> "$STUB_LOG"\n'
STUB_SCRIPTS = {
    "pip": _RECORD,
    # `gh pr comment --edit-last` fails while the bot has no comment on the PR yet
    "gh": _RECORD + 'case " $* " in *" --edit-last "*) [ -n "${STUB_GH_HAS_COMMENT:-}" ] || exit 1;; esac\n'
    # the run job's way to the reviewed plan: the merged pull request's head, its plan run,
    # and that run's artifact (the files of STUB_GH_ARTIFACT; none there: no such artifact)
          'case "$1 $2" in\n'
          '  "pr list") echo "${STUB_GH_HEAD:-0123abc}";;\n'
          '  "run list") echo "${STUB_GH_RUN:-4242}";;\n'
          '  "run download") dir=.; while [ $# -gt 0 ]; do [ "$1" = --dir ] && dir=$2; shift; done\n'
          '    [ -n "${STUB_GH_ARTIFACT:-}" ] || { echo "no artifact found" >&2; exit 1; }\n'
          '    mkdir -p "$dir"; cp "$STUB_GH_ARTIFACT"/* "$dir"/;;\n'
          '  "api "*) case " $* " in *" --method "*) ;; *) printf "%s" "${STUB_GH_API:-}";; esac;;\n'
          'esac\n',
    "python": 'exec "$STUB_PYTHON" "$@"\n',
}


def make_stubs(where: Path) -> Path:
    where.mkdir(exist_ok=True)
    for name, body in STUB_SCRIPTS.items():
        path = where / name
        path.write_text("#!/usr/bin/env bash\n" + body)
        path.chmod(0o755)
    return where


@dataclass
class StepResult:
    name: str
    code: int
    stdout: str
    stderr: str
    outputs: dict[str, str]


@dataclass
class Context:
    """What `${{ }}` expressions may read."""

    inputs: dict[str, str] = field(default_factory=dict)
    steps: dict[str, dict[str, str]] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    github: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    matrix: dict[str, Any] = field(default_factory=dict)
    needs: dict[str, dict[str, str]] = field(default_factory=dict)
    failed: bool = False

    def value(self, expr: str) -> str:
        expr = expr.strip()
        m = re.fullmatch(r"(inputs|secrets|github|env)\.([\w-]+)", expr)
        if m:
            source = {"inputs": self.inputs, "secrets": self.secrets, "github": self.github, "env": self.env}[m.group(1)]
            if m.group(2) not in source:
                raise KeyError(f"no value for {expr} in this test")
            return source[m.group(2)]
        m = re.fullmatch(r"github\.event\.([\w.]+)", expr)
        if m:
            return self.github[f"event.{m.group(1)}"]
        m = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr)
        if m:
            return self.steps.get(m.group(1), {}).get(m.group(2), "")
        m = re.fullmatch(r"needs\.([\w-]+)\.outputs\.([\w-]+)", expr)
        if m:
            return self.needs[m.group(1)].get(m.group(2), "")
        m = re.fullmatch(r"matrix((?:\.[\w-]+)+)", expr)
        if m:
            value: Any = self.matrix
            for key in m.group(1).split(".")[1:]:
                value = value[key]
            return str(value)
        m = re.fullmatch(r"'([^']*)'", expr)
        if m:
            return m.group(1)
        raise ValueError(f"expression not understood by this test: {expr}")

    def expand(self, text: str) -> str:
        return EXPR.sub(lambda m: self.value(m.group(1)), str(text))

    def condition(self, cond: Any) -> bool:
        if cond is None:
            return not self.failed  # GitHub's default: success()
        text = EXPR.sub(lambda m: m.group(1), str(cond)).strip()
        parts = [p.strip() for p in text.split("&&")]
        status_checked = False
        ok = True
        for part in parts:
            if part in ("always()", "!cancelled()"):
                status_checked = True
                continue
            if part == "success()":
                status_checked, ok = True, ok and not self.failed
                continue
            m = re.fullmatch(r"(.+?)\s*(==|!=)\s*(.+)", part)
            if not m:
                raise ValueError(f"condition not understood by this test: {part}")
            left, op, right = (self.value(m.group(1)), m.group(2), self.value(m.group(3)))
            ok = ok and ((left == right) if op == "==" else (left != right))
        return ok and (status_checked or not self.failed)


def read_outputs(path: Path) -> dict[str, str]:
    """GITHUB_OUTPUT as the runner parses it."""
    out: dict[str, str] = {}
    lines = path.read_text("utf-8").split("\n") if path.exists() else []
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            j = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1 : j])
            i = j + 1
        elif "=" in line:
            name, value = line.split("=", 1)
            out[name] = value
            i += 1
        else:
            i += 1
    return out


def base_env(work: Path, summary: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_", "RENDERER_", "INPUT_"))}
    runner_temp = work.parent / f"{work.name}-runner-temp"
    runner_temp.mkdir(exist_ok=True)
    env.update({
        "PATH": f"{make_stubs(work.parent / f'{work.name}-stubs')}{os.pathsep}"
                f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "STUB_LOG": str(work.parent / f"{work.name}-stub-calls.txt"),
        "STUB_PYTHON": sys.executable,
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKSPACE": str(work),
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(runner_temp),
    })
    env.update(extra or {})
    return env


def run_step(step: Mapping[str, Any], ctx: Context, work: Path, env: Mapping[str, str], n: int) -> StepResult:
    assert step.get("shell", "bash") == "bash", "GitHub's default shell on Linux is bash; these files say so"
    output = work.parent / f"{work.name}-output-{n}.txt"
    output.write_text("")
    script = work.parent / f"{work.name}-step-{n}.sh"
    script.write_text(ctx.expand(step["run"]))
    step_env = {**env, "GITHUB_OUTPUT": str(output)}
    step_env.update({k: ctx.expand(v) for k, v in (step.get("env") or {}).items()})
    cwd = work / ctx.expand(step.get("working-directory", "."))
    proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                          cwd=cwd, env=step_env, capture_output=True, text=True, timeout=120)
    return StepResult(step.get("name", step.get("id", f"step {n}")), proc.returncode, proc.stdout, proc.stderr,
                      read_outputs(output))


@dataclass
class ActionRun:
    code: int
    outputs: dict[str, str]
    steps: list[StepResult]
    summary: str
    stub_calls: list[list[str]]

    @property
    def stdout(self) -> str:
        return "".join(s.stdout for s in self.steps)

    @property
    def stderr(self) -> str:
        return "".join(s.stderr for s in self.steps)


def stub_calls(env: Mapping[str, str]) -> list[list[str]]:
    log = Path(env["STUB_LOG"])
    return [shlex.split(line) for line in log.read_text().splitlines()] if log.exists() else []


def run_action(work: Path, inputs: Mapping[str, str], extra_env: Mapping[str, str] | None = None,
               action_file: Path = ROOT / "action.yml") -> ActionRun:
    """Run action.yml's steps with these inputs in ``work``."""
    action = yaml.safe_load(action_file.read_text())
    assert action["runs"]["using"] == "composite"
    declared = action["inputs"]
    unknown = set(inputs) - set(declared)
    assert not unknown, f"not inputs of the action: {unknown}"
    values = {name: str(spec.get("default", "")) for name, spec in declared.items()}
    values.update(inputs)
    for name, spec in declared.items():
        if spec.get("required"):
            assert values.get(name), f"input {name} is required"
    ctx = Context(inputs=values, github={"action_path": str(ROOT), "workspace": str(work)})
    summary = work.parent / f"{work.name}-step-summary.md"
    summary.write_text("")
    env = base_env(work, summary, extra_env)
    results: list[StepResult] = []
    code = 0
    for n, step in enumerate(action["runs"]["steps"]):
        assert "uses" not in step, "the action's steps are all `run:` steps"
        if not ctx.condition(step.get("if")):
            continue
        r = run_step(step, ctx, work, env, n)
        results.append(r)
        if "id" in step:
            ctx.steps[step["id"]] = r.outputs
        if r.code != 0:
            code = r.code
            ctx.failed = True
            break
    outputs = {name: ctx.expand(spec["value"]) for name, spec in action["outputs"].items()}
    return ActionRun(code, outputs, results, summary.read_text(), stub_calls(env))


@dataclass
class JobRun:
    code: int
    ran: list[str]
    skipped_actions: list[str]
    steps: dict[str, StepResult | ActionRun]
    outputs: dict[str, str] = field(default_factory=dict)
    concurrency: str = ""


def matrix_legs(workflow: Mapping[str, Any], job: str, needs: Mapping[str, Mapping[str, str]]) -> list[dict[str, Any]]:
    """The legs of a job's matrix: only `KEY: ${{ fromJSON(needs.JOB.outputs.NAME) }}` is understood."""
    matrix = workflow["jobs"][job]["strategy"]["matrix"]
    (key, expr), = matrix.items()
    m = re.fullmatch(r"\$\{\{\s*fromJSON\(needs\.([\w-]+)\.outputs\.([\w-]+)\)\s*\}\}", expr)
    assert m, f"matrix not understood by this test: {expr}"
    return [{key: value} for value in json.loads(needs[m.group(1)][m.group(2)])]


def run_job(workflow: Mapping[str, Any], job: str, work: Path, *, github: Mapping[str, str],
            secrets: Mapping[str, str] | None = None, extra_env: Mapping[str, str] | None = None,
            needs: Mapping[str, Mapping[str, str]] | None = None, matrix: Mapping[str, Any] | None = None,
            ) -> JobRun | None:
    """Run one job (one leg of its matrix) of a workflow in ``work``; None when its `if:` rules it out."""
    spec = workflow["jobs"][job]
    wf_env = {k: str(v) for k, v in (workflow.get("env") or {}).items()}
    ctx = Context(secrets=dict(secrets or {}), github={"workspace": str(work), **github}, env=wf_env,
                  matrix=dict(matrix or {}), needs={k: dict(v) for k, v in (needs or {}).items()})
    if not ctx.condition(spec.get("if")):
        return None
    summary = work.parent / f"{work.name}-step-summary.md"
    summary.touch()
    env = base_env(work, summary, {**wf_env, **(extra_env or {})})
    result = JobRun(0, [], [], {})
    for n, step in enumerate(spec["steps"]):
        name = step.get("name") or step.get("uses") or step.get("id") or f"step {n}"
        if not ctx.condition(step.get("if")):
            continue
        if "uses" in step and step["uses"] != "./":
            result.skipped_actions.append(step["uses"])
            continue
        if "uses" in step:
            inputs = {k: ctx.expand(v) for k, v in (step.get("with") or {}).items()}
            step_env = {**(extra_env or {}), **{k: ctx.expand(v) for k, v in (step.get("env") or {}).items()}}
            r: StepResult | ActionRun = run_action(work, inputs, {**wf_env, **step_env})
            outputs = r.outputs
        else:
            r = run_step(step, ctx, work, env, 100 + n)
            outputs = r.outputs
        result.ran.append(name)
        result.steps[step.get("id", name)] = r
        if "id" in step:
            ctx.steps[step["id"]] = outputs
        if r.code != 0:
            ctx.failed = True
            result.code = result.code or r.code
    result.outputs = {k: ctx.expand(v) for k, v in (spec.get("outputs") or {}).items()}
    group = (spec.get("concurrency") or {}).get("group")
    result.concurrency = ctx.expand(group) if group else ""
    return result
