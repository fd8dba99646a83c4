"""The results manifest (campaign-format.md §4), derived from the journal.

The manifest is meant to be committed, so it is written atomically (a temporary
file in the same folder, fsynced, then ``os.replace``) with sorted keys: a re-run
that changes nothing changes no byte. It holds request bodies' hashes, ids,
URLs, credits and the API's final status payloads, never a key or a header.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

from renderer.execute import journal as J
from renderer.execute.scheduler import Scheduler
from renderer.plan.report import credits_json
from renderer.providers.base import Price, Range

FINAL_STATUSES = ("completed", "failed", "cancelled", "pending", "not_submitted", "unknown")


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("renderer")
    except Exception:  # pragma: no cover - not installed
        return "unknown"


def _elapsed(sub: J.Submission) -> float | None:
    start, end = J.parse_iso(sub.sent_at), J.parse_iso(sub.finished_at)
    return round(end - start, 3) if start is not None and end is not None else None


def entry_of(endpoint: str, sha: str | None, price: Price | None, status: str, error: str | None,
             sub: J.Submission | None) -> dict[str, Any]:
    estimated = credits_json(price.credits) if price is not None and price.credits is not None else None
    entry: dict[str, Any] = {
        "endpoint": endpoint,
        "input_sha256": sha,
        "status": status,
        "request_id": None,
        "session_id": None,
        "result_url": None,
        "result_urls": [],
        "thumbnail_url": None,
        "credits": {"estimated": estimated, "charged": None},
        "submitted_at": None,
        "finished_at": None,
        "duration": None,
        "attempts": 0,
        "error": error,
    }
    if sub is not None:
        entry.update(
            request_id=sub.request_id,
            session_id=sub.session_id,
            result_url=sub.result_url,
            result_urls=list(sub.result_urls),
            thumbnail_url=sub.thumbnail_url,
            submitted_at=sub.sent_at,
            finished_at=sub.finished_at,
            duration=sub.duration,
            attempts=sub.attempts,
            elapsed_seconds=_elapsed(sub),
        )
        entry["credits"]["charged"] = sub.credits_charged
        if sub.estimate_max is not None and estimated is None:
            entry["credits"]["estimated"] = {"min": sub.estimate_min, "max": sub.estimate_max}
        miss = estimate_miss(sub.credits_charged, entry["credits"]["estimated"])
        if miss is not None:
            entry["credits"]["estimate_miss"] = miss
        if sub.state == J.COMPLETED:
            entry["response"] = sub.response
    return entry


def estimate_miss(charged: Any, estimated: Any) -> dict[str, Any] | None:
    """A charge above the estimate's max: by how much, and how many times the estimate."""
    top = estimated.get("max") if isinstance(estimated, Mapping) else None
    if not isinstance(charged, (int, float)) or not isinstance(top, (int, float)) or charged <= top:
        return None
    return {"above_estimate": _tidy(charged - top), "ratio": round(charged / top, 3) if top else None}


def spent(scheduler: Scheduler) -> float | int:
    """Credits charged by every run and attempt of the campaign: the journal's, and what
    only the previous manifest knew."""
    charged = sum(s.credits_charged or 0.0 for s in scheduler.journal.all() if s.state in J.SPENDING)
    return _tidy(scheduler.budget.spent_outside + charged)


def build(scheduler: Scheduler, campaign: Any, previous: Mapping[str, Any] | None) -> dict[str, Any]:
    """The manifest of a run: reused entries as they were, the rest from the journal."""
    old = (previous or {}).get("jobs") or {}
    jobs: dict[str, Any] = {}
    journal = scheduler.journal
    for iid, st in scheduler.jobs.items():
        inst = st.inst
        if st.reused is not None:
            jobs[iid] = dict(st.reused)
            continue
        if inst.action == "skip":
            if iid in old:
                jobs[iid] = old[iid]
            continue
        sub = journal.get(st.sub.id) if st.sub is not None else None
        if sub is not None:
            jobs[iid] = entry_of(inst.endpoint, st.sha, st.price or inst.price, sub.public_status, st.error or sub.error, sub)
        else:
            status = st.status if st.status in FINAL_STATUSES else "not_submitted"
            jobs[iid] = entry_of(inst.endpoint, st.sha or inst.input_sha256, st.price or inst.price, status,
                                 st.error or "not submitted", None)
    return {
        "campaign": campaign.name,
        "campaign_sha256": campaign.sha256,
        "renderer_version": _version(),
        "jobs": jobs,
        "credits": {**totals(jobs), "spent": spent(scheduler)},
        "counts": counts(jobs),
    }


def totals(jobs: Mapping[str, Any]) -> dict[str, Any]:
    lo = hi = charged = 0.0
    unknown = False
    for entry in jobs.values():
        credits = entry.get("credits") or {}
        est = credits.get("estimated")
        if isinstance(est, Mapping) and est.get("min") is not None and est.get("max") is not None:
            lo += est["min"]
            hi += est["max"]
        else:
            unknown = True
        if credits.get("charged") is not None:
            charged += credits["charged"]
    estimated: dict[str, Any] = credits_json(Range(_tidy(lo), _tidy(hi)))
    if unknown:
        estimated["unknown"] = True
    return {"estimated": estimated, "charged": _tidy(charged)}


def counts(jobs: Mapping[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for entry in jobs.values():
        out[entry.get("status", "?")] = out.get(entry.get("status", "?"), 0) + 1
    return dict(sorted(out.items()))


def _tidy(x: float) -> float | int:
    return int(x) if float(x).is_integer() else round(x, 6)


def write(path: Path, data: Mapping[str, Any]) -> None:
    """Atomically replace ``path`` with ``data`` as sorted JSON."""
    text = json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
