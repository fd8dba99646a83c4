"""`renderer status FILE`: a run's state from its journal: counts, credits, one line per job."""

from __future__ import annotations

import json
from typing import Any, TextIO

from renderer.errors import StateError
from renderer.execute import journal as J
from renderer.execute.journal import Journal, journal_path
from renderer.manifest import default_path as default_manifest_path
from renderer.campaign.campaign import load_campaign
from renderer.text import credits as credits_text


def open_journal(file: str, state_dir: str) -> Journal:
    """The journal of an earlier run of a campaign (status, cancel), found by the campaign's identity."""
    path = journal_path(state_dir, file, load_campaign(file).name, default_manifest_path(file))
    if not path.exists():
        raise StateError(f"no run state for {file} under {state_dir}: nothing has run yet")
    return Journal(path)


def status(file: str, out: TextIO, *, state_dir: str = ".renderer", as_json: bool = False) -> int:
    """Show a run's state from the journal: counts, credits, one line per job."""
    journal = open_journal(file, state_dir)
    try:
        rows = _rows(journal)
        counts: dict[str, int] = {}
        for r in rows.values():
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        charged = sum(s.credits_charged or 0 for s in journal.all() if s.state in J.SPENDING)
        running = journal.holder()
        data = {"journal": str(journal.path), "running": running, "counts": dict(sorted(counts.items())),
                "credits": {"charged": charged}, "jobs": rows}
        if as_json:
            json.dump(data, out, indent=2, sort_keys=True)
            out.write("\n")
        else:
            _show(out, data, rows, running, charged)
        return 0
    finally:
        journal.close()



def _show(out: TextIO, data: dict[str, Any], rows: dict[str, dict[str, Any]], running: Any, charged: float) -> None:
    if running:
        state = "in progress" if running["running"] else "ended abruptly (the next run resumes it)"
        out.write(f"run {state}: pid {running['pid']} on {running['hostname']} since {running['acquired_at']}\n")
    out.write(", ".join(f"{v} {k.replace('_', ' ')}" for k, v in data["counts"].items()) or "no jobs yet")
    out.write(f"; credits charged {credits_text(charged)}\n")
    for iid, r in rows.items():
        extra = r.get("request_id") or ""
        if r.get("error") and r["status"] != "completed":
            extra = (extra + "  " if extra else "") + r["error"]
        out.write(f"{r['status']:>13}  {iid}  {extra}\n")


def _rows(journal: Journal) -> dict[str, dict[str, Any]]:
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
