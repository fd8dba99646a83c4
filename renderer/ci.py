"""The GitHub Action's logic (action.yml), kept here so it is plain, tested Python.

``action.yml`` maps its inputs to ``RENDERER_*`` environment variables and runs
``python -m renderer.ci``, which

1. builds the command line (``renderer validate|plan|run CAMPAIGN ...``) and
   prints it, so the log shows exactly what ran;
2. runs it in this process through ``renderer.cli.main``: the same code, exit
   codes, error lines and ``::error`` annotations as the ``renderer`` command;
3. captures the Markdown the command appends to ``GITHUB_STEP_SUMMARY`` into a
   file of its own (the ``markdown`` output, ready for a pull-request comment),
   then appends it to the real step summary;
4. for ``run`` with a ``report`` input, writes the HTML report (``renderer report``)
   whatever the run's exit code, so a failed run still leaves its page;
5. writes the step outputs (``action_outputs``) to ``GITHUB_OUTPUT``;
6. exits with the command's exit code, so a failing command fails the step.

``plan`` always runs with ``--json --show-inputs`` (saved as the ``plan-json``
output, from which ``credits`` is read: the full plan, every request body and
what changed), so one run yields the JSON, the Markdown and the step summary; on
GitHub the Markdown links the workflow run (whose artifacts hold the full plan)
for what a comment leaves out.
"""

from __future__ import annotations

import glob
import json
import os
import shlex
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence, TextIO

from renderer.errors import UsageError
from renderer.manifest import default_path as default_manifest_path
from renderer.results.step_summary import append_step_summary

COMMANDS = ("validate", "plan", "run")
OUTPUTS = ("exit-code", "credits", "manifest", "markdown", "plan-json", "outputs", "junit", "report")


@dataclass(frozen=True, slots=True)
class ActionInputs:
    """The action's inputs, as action.yml passes them (all strings on GitHub)."""

    campaign: str
    command: str = "plan"
    sandbox: bool = False
    manifest: str = ""
    max_instances: str = ""
    args: str = ""
    plan_file: str = ""
    outputs: str = ""  # run: download every result file here (a folder, or an fsspec URL such as s3://...)
    junit: str = ""  # run: write JUnit XML here
    report: str = ""  # run: write the HTML report here after the run

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "ActionInputs":
        return cls(
            campaign=env.get("RENDERER_CAMPAIGN", "").strip(),
            command=(env.get("RENDERER_COMMAND", "") or "plan").strip(),
            sandbox=env.get("RENDERER_SANDBOX", "").strip().lower() in ("true", "1", "yes"),
            manifest=env.get("RENDERER_MANIFEST", "").strip(),
            max_instances=env.get("RENDERER_MAX_INSTANCES", "").strip(),
            args=env.get("RENDERER_ARGS", ""),
            plan_file=env.get("RENDERER_PLAN_FILE", "").strip(),
            outputs=env.get("RENDERER_OUTPUTS", "").strip(),
            junit=env.get("RENDERER_JUNIT", "").strip(),
            report=env.get("RENDERER_REPORT", "").strip(),
        )


class InputError(ValueError):
    """An action input that cannot work; reported as a usage error (exit 2)."""


def campaign_paths(spec: str) -> list[str]:
    """The campaign input: paths separated by spaces, each may be a glob (sorted)."""
    paths: list[str] = []
    for word in shlex.split(spec):
        if glob.has_magic(word):
            found = sorted(glob.glob(word, recursive=True))
            paths.extend(found or [word])  # no match: let the command say it cannot read it
        else:
            paths.append(word)
    return paths


def action_argv(inputs: ActionInputs) -> list[str]:
    """``renderer`` arguments for these inputs (without the leading ``renderer``)."""
    if inputs.command not in COMMANDS:
        raise InputError(f"command must be one of {', '.join(COMMANDS)}, not {inputs.command!r}")
    files = campaign_paths(inputs.campaign)
    if not files:
        raise InputError("the campaign input is empty: name the campaign file, e.g. campaigns/spring-launch.yaml")
    if inputs.command != "validate" and len(files) != 1:
        raise InputError(f"{inputs.command} takes one campaign file; got {len(files)}: {' '.join(files)}")
    argv = [inputs.command, *files]
    if inputs.command == "plan":
        argv += ["--json", "--show-inputs"]
    if inputs.sandbox:
        if inputs.command == "validate":
            raise InputError("sandbox: true only applies to command: plan or run")
        argv.append("--sandbox")
    if inputs.manifest:
        if inputs.command == "validate":
            raise InputError("manifest only applies to command: plan or run")
        argv += ["--manifest", inputs.manifest]
    if inputs.plan_file:
        if inputs.command == "validate":
            raise InputError("plan-file only applies to command: plan (saves it) or run (runs it)")
        argv += ["--out" if inputs.command == "plan" else "--plan", inputs.plan_file]
    for name, flag in (("outputs", "--outputs"), ("junit", "--junit")):
        value = getattr(inputs, name)
        if value:
            if inputs.command != "run":
                raise InputError(f"{name} only applies to command: run")
            argv += [flag, value]
    if inputs.report and inputs.command != "run":
        raise InputError("report only applies to command: run (it is written after the run)")
    if inputs.max_instances:
        if not inputs.max_instances.isdigit():
            raise InputError(f"max-instances must be a whole number, not {inputs.max_instances!r}")
        argv += ["--max-instances", inputs.max_instances]
    return argv + shlex.split(inputs.args)


def report_argv(inputs: ActionInputs, campaign: str) -> list[str]:
    """``renderer report`` after a run, on the manifest the run wrote."""
    argv = ["report", campaign, "--output", inputs.report]
    if inputs.manifest:
        argv += ["--manifest", inputs.manifest]
    if inputs.sandbox:  # the rehearsal's own manifest and journal
        argv.append("--sandbox")
    return argv


def run_url(env: Mapping[str, str]) -> str | None:
    """This workflow run's page on GitHub (its artifacts hold the full plan), when the variables say."""
    parts = [env.get(k, "").strip() for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    if not all(parts) or not parts[0].startswith(("https://", "http://")):
        return None
    return f"{parts[0].rstrip('/')}/{parts[1]}/actions/runs/{parts[2]}"


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def _read_json(path: Path | None) -> Any:
    if path is None:
        return None
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


def action_outputs(
    command: str,
    campaign: str,
    *,
    exit_code: int,
    manifest: str | None = None,
    plan_json: str | Path | None = None,
    markdown: str | Path | None = None,
    sandbox: bool = False,
    files: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The step outputs after a command ran (every output is present; "" when it has none).

    - ``credits``: plan: ``credits.max`` of ``plan --json`` (what the plan would spend at
      most; priced jobs only when some price is unknown); run: ``credits.charged`` of the
      manifest it wrote.
    - ``manifest``: plan: the manifest it compared with, when there is one; run: the
      manifest it wrote (a rehearsal's own with ``sandbox``).
    - ``markdown``: a file with what the command appended to the step summary.
    - ``plan-json``: plan: a file with the ``plan --json --show-inputs`` document.
    - ``outputs``, ``junit``, ``report``: run: what ``files`` names (the inputs), each
      when it exists after the run (an fsspec URL for ``outputs`` is given as it is).
    """
    out = dict.fromkeys(OUTPUTS, "")
    out["exit-code"] = str(exit_code)
    if command not in ("plan", "run"):
        return out
    manifest_path = Path(manifest) if manifest else default_manifest_path(campaign, sandbox)
    if command == "plan":
        doc = _read_json(Path(plan_json)) if plan_json else None
        if isinstance(doc, dict):
            out["plan-json"] = str(plan_json)
            out["credits"] = _number((doc.get("credits") or {}).get("max"))
        if manifest_path.is_file():
            out["manifest"] = str(manifest_path)
    else:
        doc = _read_json(manifest_path)
        if isinstance(doc, dict):
            out["manifest"] = str(manifest_path)
            out["credits"] = _number((doc.get("credits") or {}).get("charged"))
    if markdown and Path(markdown).is_file() and Path(markdown).stat().st_size:
        out["markdown"] = str(markdown)
    for name, value in (files or {}).items():
        if value and (Path(value).exists() or "://" in value):
            out[name] = value
    return out


def github_output(outputs: Mapping[str, str]) -> str:
    """``GITHUB_OUTPUT`` lines: ``name=value``, or a heredoc for values with line breaks."""
    lines: list[str] = []
    for name, value in outputs.items():
        if "\n" in value or "\r" in value:
            delim = f"ghadelimiter_{uuid.uuid4()}"
            lines += [f"{name}<<{delim}", value, delim]
        else:
            lines.append(f"{name}={value}")
    return "".join(line + "\n" for line in lines)


def run_action(env: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    """Everything ``python -m renderer.ci`` does, in the current directory; returns the exit code."""
    from renderer.cli import _workspace_path, main, render_error
    from renderer.text import printable

    inputs = ActionInputs.from_env(env)
    try:
        argv = action_argv(inputs)
        url = run_url(env)
        if inputs.command == "plan" and url:
            argv += ["--full-plan-url", url]
    except InputError as exc:
        render_error(UsageError(f"renderer action: {exc}"), err, env)
        _write_outputs(env, {**dict.fromkeys(OUTPUTS, ""), "exit-code": "2"}, out)
        return 2

    work = Path(tempfile.mkdtemp(prefix="renderer-", dir=env.get("RUNNER_TEMP") or None))
    markdown = work / "summary.md"
    markdown.touch()
    plan_json = work / "plan.json" if inputs.command == "plan" else None
    err.write(printable("$ renderer " + shlex.join(argv)) + "\n")
    err.flush()
    command_env = {**env, "GITHUB_STEP_SUMMARY": str(markdown)}
    if plan_json is not None:
        with plan_json.open("w", encoding="utf-8") as fh:
            code = main(argv, out=fh, err=err, env=command_env)
    else:
        code = main(argv, out=out, err=err, env=command_env)
    if inputs.report:  # also after a failed run: its page shows what failed
        if (Path(inputs.manifest) if inputs.manifest else default_manifest_path(argv[1], inputs.sandbox)).is_file():
            err.write(printable("$ renderer " + shlex.join(report_argv(inputs, argv[1]))) + "\n")
            reported = main(report_argv(inputs, argv[1]), out=out, err=err, env=command_env)
            code = code or reported
        else:
            err.write("no report: the run wrote no manifest (it sent nothing)\n")
    summary = markdown.read_text("utf-8")
    if summary:
        append_step_summary(env, summary.rstrip("\n"))
        if plan_json is not None:  # the JSON went to a file: show the plan in the log
            out.write(summary)
    outputs = action_outputs(
        inputs.command, argv[1], exit_code=code,
        manifest=inputs.manifest or None, plan_json=plan_json, markdown=markdown, sandbox=inputs.sandbox,
        files={"outputs": inputs.outputs, "junit": inputs.junit, "report": inputs.report},
    )
    for name in ("manifest", "outputs", "junit", "report"):  # later steps run in the workspace, not in working-directory
        if outputs[name] and "://" not in outputs[name]:
            outputs[name] = _workspace_path(outputs[name], env)
    _write_outputs(env, outputs, out)
    return code


def _write_outputs(env: Mapping[str, str], outputs: Mapping[str, str], out: TextIO) -> None:
    target = env.get("GITHUB_OUTPUT")
    text = github_output(outputs)
    if target:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(text)
    else:  # outside GitHub: show what the outputs would be
        out.write(text)


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv:
        sys.stderr.write("usage: python -m renderer.ci   (inputs come from RENDERER_* variables; see action.yml)\n")
        return 2
    return run_action(dict(os.environ), sys.stdout, sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
