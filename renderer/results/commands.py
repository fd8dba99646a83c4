"""`renderer results` and `renderer report`: what a run produced, for people and scripts.

Both read the results manifest (beside the campaign, or ``--manifest``); ``report``
also plans the campaign for its job graph and reads the run's journal, when there
is one, for jobs the manifest does not hold yet (a run still in progress).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from renderer.commands import Settings, default_manifest_path, read_manifest
from renderer.errors import ConfigError
from renderer.results.report import ReportInput, render


def _manifest(args: Any) -> tuple[Path, dict[str, Any]]:
    path = Path(args.manifest) if getattr(args, "manifest", None) else default_manifest_path(args.file)
    data = read_manifest(path, required=True)
    assert data is not None
    return path, data


def _shown_path(manifest_path: Path, path: str) -> str:
    if "://" in path:
        return path
    return os.path.relpath(manifest_path.parent / path)


def results(args: Any, out: TextIO, env: Mapping[str, str]) -> int:
    """Each job's status, and its downloaded files or else its result URLs."""
    path, data = _manifest(args)
    rows: dict[str, Any] = {}
    for iid, e in (data.get("jobs") or {}).items():
        files = [f for f in e.get("files") or () if isinstance(f, Mapping) and isinstance(f.get("path"), str)]
        rows[iid] = {
            "status": e.get("status"), "error": e.get("error"), "result_urls": list(e.get("result_urls") or ()),
            "files": [{**f, "local": _shown_path(path, f["path"])} for f in files],
            "download_error": e.get("download_error"),
        }
    if getattr(args, "json", False):
        json.dump({"manifest": str(path), "campaign": data.get("campaign"), "jobs": rows}, out, indent=2,
                  sort_keys=True, ensure_ascii=False)
        out.write("\n")
        return 0
    for iid, r in rows.items():
        shown = [f["local"] for f in r["files"]] or r["result_urls"]
        if r["status"] != "completed" and r["error"]:
            shown = [str(r["error"])]
        out.write(f"{r['status']!s:>13}  {iid}  {'  '.join(shown)}\n")
        if r["download_error"]:
            out.write(f"{'':>13}  download failed: {r['download_error']}\n")
    return 0


def report(args: Any, out: TextIO, env: Mapping[str, str]) -> int:
    """Write one self-contained HTML page of the run."""
    from renderer.plan.planner import build_plan
    from renderer.spec.campaign import load_campaign

    manifest_path, data = _manifest(args)
    campaign = load_campaign(args.file, Settings().yaml)
    plan, _ = build_plan(campaign, data)
    jobs = {i.id: dict((data.get("jobs") or {}).get(i.id) or {"endpoint": i.endpoint, "status": "not_submitted"})
            for i in plan.instances}
    _merge_journal(args, jobs)
    page = Path(args.output) if getattr(args, "output", None) else Path(args.file).with_suffix(".report.html")
    html = render(ReportInput(
        campaign=campaign.name, jobs=jobs, needs={i.id: i.needs for i in plan.instances},
        manifest_dir=manifest_path.resolve().parent, page_dir=page.resolve().parent,
        credits=data.get("credits") or {},
    ))
    _write(page, html)
    out.write(f"report: {page} ({len(jobs):,} job(s))\n")
    return 0


def _merge_journal(args: Any, jobs: dict[str, dict[str, Any]]) -> None:
    """Jobs the journal knows newer things about than the manifest (a run in progress)."""
    from renderer.execute.journal import Journal, journal_path

    path = journal_path(getattr(args, "state_dir", ".renderer"), args.file)
    if not path.exists():
        return
    journal = Journal(path)
    try:
        for sub in journal.latest_per_instance():
            entry = jobs.get(sub.instance_id)
            if entry is None or entry.get("status") not in (None, "not_submitted", "pending"):
                continue
            entry.update(status=sub.public_status, submitted_at=sub.sent_at, finished_at=sub.finished_at,
                         request_id=sub.request_id, result_urls=list(sub.result_urls), error=sub.error)
    finally:
        journal.close()


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
