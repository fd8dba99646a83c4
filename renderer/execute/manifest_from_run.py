"""A run's results manifest, derived from the journal (the type lives in ``renderer.manifest``).

It holds request bodies and their hashes, ids, URLs, credits and the API's final
status payloads, never a key or a header.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from renderer import jsonfast, providers
from renderer.execute import records as J
from renderer.execute.budget import counted, family_of
from renderer.execute.scheduler import JobState, Scheduler
from renderer.manifest import STATUSES, Manifest, ManifestEntry, PricingFamily
from renderer.text import utf8_safe_json
from renderer.vocabulary import JobStatus, Price, Range


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
             sub: J.Submission | None, reconciled: Mapping[str, Any] | None = None,
             factor: float = 1.0) -> ManifestEntry:
    """``factor``: its pricing family's, for the hold of a charge the API never said."""
    estimated = price.credits if price is not None else None
    if sub is None:
        return ManifestEntry(endpoint=endpoint, input_sha256=sha, status=status, credits_estimated=estimated, error=error)
    if estimated is None and sub.estimate_max is not None:
        estimated = Range(sub.estimate_min, sub.estimate_max)  # type: ignore[arg-type]
    return ManifestEntry(
        endpoint=endpoint, input_sha256=sha, status=status, request_id=sub.request_id, session_id=sub.session_id,
        result_url=sub.result_url, result_urls=tuple(sub.result_urls), thumbnail_url=sub.thumbnail_url,
        credits_estimated=estimated, credits_charged=sub.credits_charged,
        credits_held=counted(sub, factor) if sub.credits_charged is None and sub.state in J.SPENDING else None,
        credits_reported=sub.credits_reported, submitted_at=sub.sent_at,
        finished_at=sub.finished_at, duration=sub.duration, attempts=sub.attempts, error=error,
        elapsed_seconds=_elapsed(sub), submitted=True,
        response=sub.response if sub.state == J.COMPLETED else None, has_response=sub.state == J.COMPLETED,
        generation=sub.generation,  # a later run, anywhere, keys a re-render past it
        # an answer never came: what was sent (when not `request`: an upload's key), to settle it anywhere
        request_body=sub.body, has_request_body=status == JobStatus.UNKNOWN and sub.request_id is None,
        reconciled=reconciled, previews=previews_of(sub),
    )


def previews_of(sub: J.Submission) -> tuple[Mapping[str, Any], ...]:
    """What a render stopped for approval made so far (``Transitions.awaiting`` keeps it in ``response``)."""
    if sub.state != J.AWAITING or not isinstance(sub.response, Mapping):
        return ()
    return tuple(p for p in sub.response.get("previews") or () if isinstance(p, Mapping))


def spent(scheduler: Scheduler) -> float:
    """Credits charged by every run and attempt of the campaign (a charge the API never said at
    its hold): the journal's, and what only the previous manifest knew (its journal is gone)."""
    total = scheduler.budget.spent()
    return int(total) if float(total).is_integer() else total


def families(scheduler: Scheduler, previous: Manifest | None) -> dict[str, PricingFamily]:
    """What every run learned about each pricing family: the previous manifest's, and this run's."""
    known = dict(previous.families) if previous is not None else {}
    for fam in scheduler.budget.learned_families():
        known[fam.name] = fam.merged(known.get(fam.name))
    return known


def build_manifest(scheduler: Scheduler, campaign: Any, previous: Manifest | None,
          targets: Mapping[str, str] | None = None) -> Manifest:
    """The manifest of a run: reused entries as they were, the rest from the journal, each
    with the ``target`` it ran against (``targets``, by provider). Entries of another target
    the run did not touch (left out by --select) stay as they were."""
    old = _old(previous)
    proofs = scheduler.journal.reconciliations()
    jobs: dict[str, ManifestEntry] = {}
    for iid, st in scheduler.jobs.items():
        entry = _entry(scheduler, st, old, lambda: proofs, targets or {})
        if entry is not None:
            jobs[iid] = entry
    return _manifest(scheduler, campaign, previous, jobs)


def _old(previous: Manifest | None) -> Mapping[str, ManifestEntry]:
    return {**previous.elsewhere, **previous.jobs} if previous is not None else {}


def _manifest(scheduler: Scheduler, campaign: Any, previous: Manifest | None,
              jobs: dict[str, ManifestEntry]) -> Manifest:
    return Manifest(campaign.name, campaign.sha256, _version(), jobs, spent(scheduler),
                    families=families(scheduler, previous))


def _entry(scheduler: Scheduler, st: JobState, old: Mapping[str, ManifestEntry],
           proofs: Callable[[], Mapping[str, Mapping[str, Any]]], targets: Mapping[str, str]) -> ManifestEntry | None:
    """One job's entry: reused as it was, or from its latest submission (None: skipped, never recorded)."""
    inst = st.inst
    if st.reused is not None:
        return st.reused
    if inst.action == "skip":
        return old.get(inst.id)
    sub = scheduler.journal.get(st.sub.id) if st.sub is not None else None
    if sub is not None:
        proof = proofs().get(inst.id)
        reconciled = ({"by": proof.get("by"), "evidence": proof.get("evidence")}
                      if proof is not None and proof.get("request_id") == sub.request_id else None)
        entry = entry_of(inst.endpoint, st.sha, st.price or inst.price, sub.public_status,
                         st.error or sub.error, sub, reconciled, scheduler.budget.factor(family_of(sub)))
    else:
        status = st.status if st.status in STATUSES else JobStatus.NOT_SUBMITTED
        entry = entry_of(inst.endpoint, st.sha or inst.input_sha256, st.price or inst.price, status,
                         st.error or "not submitted", None)
    # the body input_sha256 hashes (an uploaded file is in the hash, not here); None while pending
    request = st.body if st.body is not None else (None if inst.pending else inst.body)
    target = targets.get(providers.provider_of(inst.endpoint))
    entry = replace(entry, request=request, has_request=True, target=target)
    if entry.has_request_body and entry.request_body == request:
        entry = replace(entry, request_body=None, has_request_body=False)  # `request` says it already
    return entry


class Snapshots:
    """The manifest's text during a run, built again for every checkpoint
    (``renderer.execute.checkpoint``), at a cost that follows what changed: the entry of a
    job that did not change since the last build (``Scheduler.changed``) keeps the text it
    was written as then (scrubbed, ``attach``ed). The text is what ``renderer.manifest.dump``
    writes for the same manifest. The run's last manifest is ``build``'s, whole."""

    def __init__(self, campaign: Any, previous: Manifest | None, scrub: Callable[[Any], Any],
                 attach: Callable[[dict[str, Any]], dict[str, Any]] = lambda doc: doc,
                 targets: Mapping[str, str] | None = None) -> None:
        self.campaign, self.previous, self.scrub, self.attach = campaign, previous, scrub, attach
        self.targets = targets or {}
        self._entries: dict[str, tuple[ManifestEntry, str]] = {}  # instance id -> its entry and its lines
        self._order: list[str] | None = None  # instance ids as ``sort_keys`` orders them

    def text(self, scheduler: Scheduler) -> str:
        old = _old(self.previous)
        fetched: list[Mapping[str, Mapping[str, Any]]] = []

        def proofs() -> Mapping[str, Mapping[str, Any]]:  # read once, and only when an entry is rebuilt
            if not fetched:
                fetched.append(scheduler.journal.reconciliations())
            return fetched[0]

        changed = set(scheduler.changed)
        scheduler.changed.clear()  # the jobs hold this set: what changes from now on is in it
        for iid in changed:
            entry = _entry(scheduler, scheduler.jobs[iid], old, proofs, self.targets)
            if entry is None:
                self._entries.pop(iid, None)
                continue
            shown = self.attach({"jobs": {iid: self.scrub(entry.to_json())}})["jobs"][iid]
            self._entries[iid] = (entry, f"    {json.dumps(iid, ensure_ascii=False)}: "
                                         + _nested(utf8_safe_json(jsonfast.sorted_indented(shown))))
        if self._order is None:
            self._order = sorted(scheduler.jobs)
        jobs = {iid: self._entries[iid][0] for iid in scheduler.jobs if iid in self._entries}
        doc = _manifest(scheduler, self.campaign, self.previous, jobs).to_json(shown={})
        head = utf8_safe_json(jsonfast.sorted_indented(self.scrub({k: v for k, v in doc.items() if k != "jobs"}
                                                                   | {"jobs": {}})))
        if not jobs:
            return head + "\n"
        listed = ",\n".join(self._entries[iid][1] for iid in self._order if iid in self._entries)
        return head.replace('\n  "jobs": {}', '\n  "jobs": {\n' + listed + "\n  }", 1) + "\n"


def _nested(text: str) -> str:
    """An entry's indented JSON as it reads two levels down (``jobs`` -> instance id)."""
    return text.replace("\n", "\n    ")
