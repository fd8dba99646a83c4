"""`renderer cancel` writes what it cancelled into the manifest too.

The manifest is the durable record a later ``plan`` and ``run`` read: a job it shows
as ``cancelled`` with the same input is not sent again (``run --rerun-cancelled``
sends it), and ``plan`` shows it as ``cancelled`` at 0 credits. Only the cancelled
entries change (and the totals): every other key is written back as it was read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from renderer.execute import records as J
from renderer.manifest import Manifest, counts, dump, load, totals
from renderer.vocabulary import JobStatus


def mark_cancelled(path: Path, cancelled: list[J.Submission], targets: Mapping[str, str] | None = None) -> int:
    """Mark the manifest entries of these (cancelled) submissions cancelled, with their
    journal's reason; returns how many changed. ``targets`` (by provider): where they were
    cancelled; an entry that records another target is another account's job, left alone."""
    if not cancelled or load(path, required=False) is None:  # load checks it
        return 0
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    jobs = data["jobs"]
    changed = 0
    for sub in cancelled:
        entry = jobs.get(sub.instance_id)
        if not isinstance(entry, dict) or entry.get("request_id") not in (sub.request_id, sub.session_id):
            continue  # the manifest records another submission of it
        if targets is not None and entry.get("target") not in (None, targets.get(sub.provider)):
            continue  # the same id on another target: not this job
        entry.update(status=JobStatus.CANCELLED, error=sub.error, finished_at=entry.get("finished_at") or J.now_iso())
        changed += 1
    if changed:
        entries = Manifest.from_json(data).jobs.values()
        data["credits"] = {**(data.get("credits") or {}), **totals(entries)}
        data["counts"] = counts(entries)
        dump(path, data)
    return changed
