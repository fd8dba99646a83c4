"""Commands as plain functions: the CLI builds their arguments and renders errors.

Each takes what it needs (paths, an output stream, the environment as a
mapping) and returns an exit code or raises a ``RendererError``; none reads
``os.environ`` or prints on its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, TextIO

from renderer.errors import BudgetExceeded, Invalid, LoadError, Location, UserError
from renderer.plan import planfile
from renderer.plan.planner import PlanLimits, build_plan
from renderer.plan.price_overrides import below_documented
from renderer.plan.report import budget_message, plan_json, plan_markdown, summarise
from renderer.spec.campaign import Campaign, load_campaign
from renderer.spec.yamlfile import FileRefused, Limits, read_regular_file

STEP_SUMMARY_LIMIT = 1024 * 1024  # GitHub's cap on one step summary


@dataclass(frozen=True, slots=True)
class Settings:
    """Bounds for untrusted campaign files (see SECURITY.md)."""

    yaml: Limits = Limits()
    plan: PlanLimits = PlanLimits()


Warn = Callable[[UserError], None]


def _no_warning(w: UserError) -> None:
    pass


def validate(paths: Sequence[str], settings: Settings = Settings(), warn: Warn = _no_warning) -> int:
    """Check every file; raise one ``Invalid`` with the errors of all of them. Warnings go to ``warn``."""
    errors: list[UserError] = []
    for path in paths:
        try:
            campaign = load_campaign(path, settings.yaml)
            for w in below_documented(campaign):
                warn(w)
            build_plan(campaign, limits=settings.plan)
        except Invalid as exc:
            errors.extend(exc.errors)
    if errors:
        raise Invalid(errors)
    return 0


def default_manifest_path(campaign_path: str | Path) -> Path:
    p = Path(campaign_path)
    return p.with_name(p.stem + ".manifest.json")


MAX_MANIFEST_BYTES = 256 * 1024 * 1024


def read_manifest(path: Path | None, required: bool, max_bytes: int = MAX_MANIFEST_BYTES) -> dict[str, Any] | None:
    """A previous results manifest, or None when there is none yet.

    It is committed beside the campaign, so a pull request can change it too:
    read a regular file only (not a symlink to /dev/zero), within a size, and
    check the fields that plan and run compute with.
    """
    if path is None:
        return None
    try:
        data = json.loads(read_regular_file(path, max_bytes).decode("utf-8"))
        json.dumps(data, ensure_ascii=False).encode("utf-8")  # "\ud800": no stream could print it
    except FileNotFoundError:
        if required:
            raise Invalid([LoadError("manifest not found", Location(str(path)))]) from None
        return None
    except FileRefused as exc:
        raise Invalid([LoadError(f"manifest: {exc}", Location(str(path)))]) from None
    except (OSError, ValueError, RecursionError) as exc:  # UnicodeError is a ValueError
        raise Invalid([LoadError(f"manifest is not readable JSON: {exc}", Location(str(path)))]) from None
    if not isinstance(data, dict) or not isinstance(data.get("jobs", {}), dict):
        raise Invalid([LoadError("manifest must be a JSON object with a `jobs` mapping", Location(str(path)))])
    problem = _manifest_problem(data.get("jobs", {}))
    if problem:
        raise Invalid([LoadError(f"manifest: {problem}", Location(str(path)))])
    return data


def _manifest_problem(jobs: Mapping[str, Any]) -> str | None:
    def number(v: Any) -> bool:
        return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))

    for iid, entry in jobs.items():
        where = f"jobs[{iid!r}]"
        if any(ch < " " or "\x7f" <= ch <= "\x9f" for ch in iid):
            return f"{where}: an instance id holds control characters"
        if not isinstance(entry, dict):
            return f"{where} must be an object"
        for key in ("status", "input_sha256", "endpoint"):
            if entry.get(key) is not None and not isinstance(entry[key], str):
                return f"{where}.{key} must be a string"
        urls = entry.get("result_urls")
        if urls is not None and not (isinstance(urls, list) and all(isinstance(u, str) for u in urls)):
            return f"{where}.result_urls must be a list of strings"
        if not number(entry.get("duration")):
            return f"{where}.duration must be a number"
        credits = entry.get("credits")
        if credits is None:
            continue
        if not isinstance(credits, dict) or not number(credits.get("charged")):
            return f"{where}.credits must be an object with a number `charged`"
        est = credits.get("estimated")
        if est is not None and not (isinstance(est, dict) and number(est.get("min")) and number(est.get("max"))):
            return f"{where}.credits.estimated must be an object with numbers `min` and `max`"
    return None


def plan(
    path: str,
    out: TextIO,
    *,
    fmt: str = "table",
    manifest: str | None = None,
    select: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    settings: Settings = Settings(),
    table_renderer: Any = None,
    plan_out: str | None = None,
    rerun_cancelled: bool = False,
    warn: Warn = _no_warning,
) -> int:
    """Expand, price and show a campaign. Exit 3 (BudgetExceeded) when over budget.

    ``plan_out``: save the plan for ``run --plan`` (also when over budget: the run refuses it then).
    """
    campaign = load_campaign(path, settings.yaml)
    for w in below_documented(campaign):
        warn(w)
    manifest_path = Path(manifest) if manifest else default_manifest_path(path)
    previous = read_manifest(manifest_path, required=manifest is not None)
    the_plan, _ = build_plan(campaign, previous, select, settings.plan)
    if rerun_cancelled:
        the_plan = the_plan.rerun_cancelled()
    summary = summarise(the_plan, previous)
    if plan_out:
        planfile.save(Path(plan_out), planfile.plan_record(the_plan, summary, manifest_path))
    wants_summary = bool((env or {}).get("GITHUB_STEP_SUMMARY"))
    markdown = plan_markdown(the_plan, summary) if fmt == "markdown" or wants_summary else ""
    if fmt == "json":
        json.dump(plan_json(the_plan, summary), out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif fmt == "markdown":
        out.write(markdown)
    elif table_renderer is not None:
        table_renderer(the_plan, summary, out)
    if wants_summary:
        append_step_summary(env or {}, markdown)
    if summary.over_budget:
        raise BudgetExceeded(budget_message(the_plan, summary))
    return 0


def append_step_summary(env: Mapping[str, str], markdown: str) -> None:
    """Append to GitHub's step summary when a workflow step provides one."""
    target = env.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    p = Path(target)
    used = p.stat().st_size if p.exists() else 0
    room = STEP_SUMMARY_LIMIT - used - 1
    if room <= 0:
        return
    data = markdown.encode("utf-8")
    if len(data) > room:
        note = "\n\n_(summary truncated: GitHub's 1 MiB step summary limit)_\n".encode()
        if room < len(note):  # not even the note fits
            return
        data = data[: room - len(note)].decode("utf-8", "ignore").encode() + note
    with p.open("ab") as fh:
        fh.write(data + b"\n")


def load(path: str, settings: Settings = Settings()) -> Campaign:
    return load_campaign(path, settings.yaml)
