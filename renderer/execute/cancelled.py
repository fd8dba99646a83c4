"""`renderer cancel` writes what it cancelled into the manifest too.

The manifest is the durable record a later ``plan`` and ``run`` read: a job it shows
as ``cancelled`` with the same input is not sent again (``run --rerun-cancelled``
sends it), and ``plan`` shows it as ``cancelled`` at 0 credits.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from renderer import manifest as M
from renderer.execute import journal as J


def mark_cancelled(path: Path, cancelled: list[J.Submission]) -> int:
    """Mark the manifest entries of these (cancelled) submissions cancelled, with their
    journal's reason; returns how many changed."""
    manifest = M.load(path, required=False)
    if manifest is None:
        return 0
    jobs = dict(manifest.jobs)
    changed = 0
    for sub in cancelled:
        entry = jobs.get(sub.instance_id)
        if entry is None or entry.request_id not in (sub.request_id, sub.session_id):
            continue  # the manifest records another submission of it
        data = {**entry.to_json(), "status": "cancelled", "error": sub.error,
                "finished_at": entry.finished_at or J.now_iso()}
        jobs[sub.instance_id] = M.ManifestEntry.from_json(data)
        changed += 1
    if changed:
        M.dump(path, replace(manifest, jobs=jobs))
    return changed
