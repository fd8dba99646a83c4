"""`renderer cancel` writes what it cancelled into the manifest too.

The manifest is the durable record a later ``plan`` and ``run`` read: a job it shows
as ``cancelled`` with the same input is not sent again (``run --rerun-cancelled``
sends it), and ``plan`` shows it as ``cancelled`` at 0 credits.
"""

from __future__ import annotations

from pathlib import Path

from renderer.commands import read_manifest
from renderer.execute import journal as J
from renderer.execute import manifest as M


def mark_cancelled(path: Path, cancelled: list[J.Submission], reason: str) -> int:
    """Mark the manifest entries of these submissions cancelled; returns how many changed."""
    data = read_manifest(path, required=False)
    if data is None:
        return 0
    jobs = data.get("jobs") or {}
    changed = 0
    for sub in cancelled:
        entry = jobs.get(sub.instance_id)
        if not isinstance(entry, dict) or entry.get("request_id") not in (sub.request_id, sub.session_id):
            continue  # the manifest records another submission of it
        entry.update(status="cancelled", error=reason, finished_at=entry.get("finished_at") or J.now_iso())
        changed += 1
    if changed:
        credits = data.get("credits")
        data["credits"] = {**(credits if isinstance(credits, dict) else {}), **M.totals(jobs)}
        data["counts"] = M.counts(jobs)
        M.write(path, data)
    return changed
