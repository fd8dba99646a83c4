"""A run's results manifest, derived from the journal (the type lives in ``renderer.manifest``).

It holds request bodies and their hashes, ids, URLs, credits and the API's final
status payloads, never a key or a header.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from renderer import providers
from renderer.execute import records as J
from renderer.execute.spending import journal_charged
from renderer.execute.scheduler import Scheduler
from renderer.manifest import STATUSES, Manifest, ManifestEntry
from renderer.vocabulary import Price, Range


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
             sub: J.Submission | None, reconciled: Mapping[str, Any] | None = None) -> ManifestEntry:
    estimated = price.credits if price is not None else None
    if sub is None:
        return ManifestEntry(endpoint=endpoint, input_sha256=sha, status=status, credits_estimated=estimated, error=error)
    if estimated is None and sub.estimate_max is not None:
        estimated = Range(sub.estimate_min, sub.estimate_max)  # type: ignore[arg-type]
    return ManifestEntry(
        endpoint=endpoint, input_sha256=sha, status=status, request_id=sub.request_id, session_id=sub.session_id,
        result_url=sub.result_url, result_urls=tuple(sub.result_urls), thumbnail_url=sub.thumbnail_url,
        credits_estimated=estimated, credits_charged=sub.credits_charged, submitted_at=sub.sent_at,
        finished_at=sub.finished_at, duration=sub.duration, attempts=sub.attempts, error=error,
        elapsed_seconds=_elapsed(sub), submitted=True,
        response=sub.response if sub.state == J.COMPLETED else None, has_response=sub.state == J.COMPLETED,
        generation=sub.generation,  # a later run, anywhere, keys a re-render past it
        # an answer never came: what was sent (when not `request`: an upload's key), to settle it anywhere
        request_body=sub.body, has_request_body=status == "unknown" and sub.request_id is None,
        reconciled=reconciled,
    )


def spent(scheduler: Scheduler) -> float:
    """Credits charged by every run and attempt of the campaign: the journal's, and what
    only the previous manifest knew (its journal is gone)."""
    total = scheduler.budget.spent_outside + journal_charged(scheduler.journal)
    return int(total) if float(total).is_integer() else total


def build_manifest(scheduler: Scheduler, campaign: Any, previous: Manifest | None,
          targets: Mapping[str, str] | None = None) -> Manifest:
    """The manifest of a run: reused entries as they were, the rest from the journal, each
    with the ``target`` it ran against (``targets``, by provider). Entries of another target
    the run did not touch (left out by --select) stay as they were."""
    old = {**previous.elsewhere, **previous.jobs} if previous is not None else {}
    jobs: dict[str, ManifestEntry] = {}
    journal = scheduler.journal
    proofs = journal.reconciliations()
    for iid, st in scheduler.jobs.items():
        inst = st.inst
        if st.reused is not None:
            jobs[iid] = st.reused
            continue
        if inst.action == "skip":
            if iid in old:
                jobs[iid] = old[iid]
            continue
        sub = journal.get(st.sub.id) if st.sub is not None else None
        if sub is not None:
            proof = proofs.get(iid)
            reconciled = ({"by": proof.get("by"), "evidence": proof.get("evidence")}
                          if proof is not None and proof.get("request_id") == sub.request_id else None)
            jobs[iid] = entry_of(inst.endpoint, st.sha, st.price or inst.price, sub.public_status,
                                 st.error or sub.error, sub, reconciled)
        else:
            status = st.status if st.status in STATUSES else "not_submitted"
            jobs[iid] = entry_of(inst.endpoint, st.sha or inst.input_sha256, st.price or inst.price, status,
                                 st.error or "not submitted", None)
        # the body input_sha256 hashes (an uploaded file is in the hash, not here); None while pending
        request = st.body if st.body is not None else (None if inst.pending else inst.body)
        target = (targets or {}).get(providers.provider_of(inst.endpoint))
        entry = replace(jobs[iid], request=request, has_request=True, target=target)
        if entry.has_request_body and entry.request_body == request:
            entry = replace(entry, request_body=None, has_request_body=False)  # `request` says it already
        jobs[iid] = entry
    return Manifest(campaign.name, campaign.sha256, _version(), jobs, spent(scheduler))
