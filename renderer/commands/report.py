"""`renderer report FILE`: one self-contained HTML page of a run (``renderer.results.html_report``).

It reads the manifest, plans the campaign for its job graph, and reads the run's
journal, when there is one, for jobs the manifest does not hold yet (a run still
in progress, or one that died before writing it).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from renderer.commands.common import Settings
from renderer.errors import ConfigError
from renderer.execute.stores import find_earlier_store
from renderer.manifest import Manifest
from renderer.results.html_report import ReportInput, render
from renderer.results.latest import manifest_json, merge_store
from renderer import atomic
from renderer.vocabulary import JobStatus


def report(file: str, out: TextIO, *, output: str | None = None, manifest: str | None = None,
           state_dir: str | None = None, settings: Settings = Settings(), sandbox: bool = False,
           env: Mapping[str, str] | None = None) -> int:
    """Write the page to ``output`` (default ``<campaign>.report.html`` beside the campaign, or
    ``<campaign>.sandbox.report.html`` for a rehearsal: ``sandbox`` reads its manifest and journal)."""
    from renderer.plan.planner import build_plan
    from renderer.campaign.campaign import load_campaign

    manifest_path, data = manifest_json(file, manifest, sandbox)
    campaign = load_campaign(file, settings.yaml)
    plan, _ = build_plan(campaign, Manifest.from_json(data), (), settings.plan)
    jobs = {i.id: dict(data["jobs"].get(i.id) or {"endpoint": i.endpoint, "status": JobStatus.NOT_SUBMITTED,
                                                   "error": "not in the manifest: not run yet"})
            for i in plan.instances}
    merge_store(find_earlier_store(file, state_dir, env or {}, sandbox, manifest_path), jobs)
    page = Path(output) if output else Path(file).with_suffix(".sandbox.report.html" if sandbox else ".report.html")
    html = render(ReportInput(
        campaign=campaign.name, jobs=jobs, needs={i.id: i.needs for i in plan.instances},
        manifest_dir=manifest_path.resolve().parent, page_dir=page.resolve().parent,
        credits=data.get("credits") or {},
    ))
    _write(page, html)
    out.write(f"report: {page} ({len(jobs):,} job(s))\n")
    return 0


def _write(path: Path, text: str) -> None:
    try:
        atomic.write_text(path, text)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
