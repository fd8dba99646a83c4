"""`renderer status FILE`: a run's state from its journal: counts, credits, one line per job.

`renderer status --all`: every campaign of the shared store (``RENDERER_STATE``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, TextIO

from renderer import figures as F
from renderer.errors import UsageError
from renderer.execute import records as J
from renderer.execute.store import JournalStore
from renderer.execute.stores import open_earlier_store, require_store
from renderer.text import credits as credits_text
from renderer.text import printable
from renderer.vocabulary import JobStatus


def status(file: str | None, out: TextIO, *, state_dir: str | None = None, as_json: bool = False,
           sandbox: bool = False, env: Mapping[str, str] | None = None, all_campaigns: bool = False) -> int:
    """Show a run's state from the journal: counts, credits, one line per job (``sandbox``: the
    rehearsal's; ``all_campaigns``: every campaign of the shared store instead)."""
    if all_campaigns:
        if file is not None:
            raise UsageError("renderer status: give a campaign FILE or --all, not both")
        return _all(out, env or {}, as_json)
    if file is None:
        raise UsageError("renderer status: give a campaign FILE (or --all for every campaign of the shared store)")
    journal = open_earlier_store(file, state_dir, env, sandbox)
    try:
        rows = _rows(journal)
        counts: dict[str, int] = {}
        for r in rows.values():
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        charged = sum(s.credits_charged or 0 for s in journal.all() if s.state in J.SPENDING)
        spent = _spent(file, sandbox, journal)
        running = journal.holder()
        data = {"journal": journal.label, "running": running, "counts": dict(sorted(counts.items())),
                "credits": {"charged": charged, "spent": spent}, "jobs": rows}
        if as_json:
            json.dump(data, out, indent=2, sort_keys=True)
            out.write("\n")
        else:
            _show(out, data, rows, running)
        return 0
    finally:
        journal.close()


def _all(out: TextIO, env: Mapping[str, str], as_json: bool) -> int:
    url = require_store(env, "renderer status --all")
    from renderer.execute.pgstore import campaign_summaries

    from renderer.execute.pgaccount import shared_accounts

    found = campaign_summaries(url)
    book = shared_accounts(url)
    try:
        accounts = book.status()
    finally:
        book.close()
    if as_json:
        json.dump({"store": url.label, "campaigns": [asdict(c) for c in found],
                   "accounts": [a.as_json() for a in accounts]}, out, indent=2, sort_keys=True)
        out.write("\n")
        return 0
    out.write(f"{url.label}: {len(found):,} campaign(s)\n")
    for c in found:
        run = f"{c.runs:,} run(s)" + (f", last {c.last_run}" if c.last_run else "")
        if c.holder is not None and c.holder["running"]:
            run += f"; in progress: pid {c.holder['pid']} on {c.holder['hostname']} since {c.holder['acquired_at']}"
        jobs = F.Jobs(c.jobs).text() if c.jobs else "no jobs yet"
        against = f"  against {c.target}" if c.target else ""
        out.write(f"{c.name}  {c.path}{against}\n  {run}\n  {jobs}; {F.CHARGED} {credits_text(c.charged)} credits, "
                  f"{F.HELD} {credits_text(c.held)}\n")
    for a in accounts:
        out.write(a.line() + "\n")
    return 0


def _spent(file: str, sandbox: bool, journal: JournalStore) -> float:
    """``credits.spent`` as a run starting now would count it: the journal's, and what only the
    manifest knows (``renderer.figures``: the same figure the manifest and the run's lines show)."""
    from renderer.execute.spending import opening_budget
    from renderer.manifest import default_path as default_manifest_path
    from renderer.manifest import load

    spent = opening_budget(None, load(default_manifest_path(file, sandbox), required=False), journal).spent()
    return int(spent) if float(spent).is_integer() else spent


def _show(out: TextIO, data: dict[str, Any], rows: dict[str, dict[str, Any]], running: Any) -> None:
    if running:
        state = "in progress" if running["running"] else "ended abruptly (the next run resumes it)"
        out.write(f"run {state}: pid {running['pid']} on {running['hostname']} since {running['acquired_at']}\n")
    jobs = F.Jobs(data["counts"])
    out.write((jobs.text() if jobs.total else "no jobs yet") + f"; {F.spent_text(data['credits']['spent'], None)}\n")
    for iid, r in rows.items():
        extra = r.get("request_id") or ""
        if r.get("error") and r["status"] != JobStatus.COMPLETED:
            extra = (extra + "  " if extra else "") + r["error"]
        out.write(printable(f"{r['status']:>13}  {iid}  {extra}") + "\n")  # an error is an API's text: no escapes


def _rows(journal: JournalStore) -> dict[str, dict[str, Any]]:
    """The latest word on every instance: its last submission, or a newer verdict."""
    out: dict[str, dict[str, Any]] = {}
    for sub in journal.latest_per_instance():
        out[sub.instance_id] = {
            "status": sub.public_status, "endpoint": sub.endpoint, "request_id": sub.request_id,
            "credits_charged": sub.credits_charged, "attempts": sub.attempts, "error": sub.error,
            "result_url": sub.result_url, "updated_at": sub.updated_at,
        }
    for iid, v in journal.verdicts().items():
        known = out.get(iid)
        if known is None or (v.at >= known["updated_at"]):
            out[iid] = {**(known or {}), "status": v.status, "error": v.reason, "updated_at": v.at}
    return dict(sorted(out.items()))
