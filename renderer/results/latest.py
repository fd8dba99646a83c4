"""The latest word on a run's jobs, for `renderer results` and `renderer report`: the
manifest a run wrote, and what its journal knows newer (a run in progress, here or, with
a shared store, on another machine)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from renderer.errors import Invalid, LoadError, Location
from renderer.execute.store import JournalStore
from renderer.manifest import default_path as default_manifest_path
from renderer.manifest import load as load_manifest
from renderer.vocabulary import JobStatus


def manifest_json(file: str, manifest: str | None, sandbox: bool = False) -> tuple[Path, dict[str, Any]]:
    """The campaign's manifest (beside it, the rehearsal's with ``sandbox``, or ``manifest``) as
    its JSON; a located error if missing, that names the other record when there is one."""
    path = Path(manifest) if manifest else default_manifest_path(file, sandbox)
    if not manifest and not path.exists() and default_manifest_path(file, not sandbox).exists():
        other = ("only a rehearsal ran (`run --sandbox`): add --sandbox to read its manifest" if not sandbox
                 else "no rehearsal ran; the real manifest is read without --sandbox")
        raise Invalid([LoadError(f"manifest not found: {other}", Location(str(path)))])
    loaded = load_manifest(path, required=True)
    assert loaded is not None
    return path, loaded.to_json()


def merge_store(store: JournalStore | None, jobs: dict[str, dict[str, Any]]) -> None:
    """Jobs the journal knows newer things about than the manifest (a run in progress, here or,
    with a shared store, on another machine)."""
    if store is None:
        return
    try:
        for sub in store.latest_per_instance():
            entry = jobs.get(sub.instance_id)
            if entry is None or entry.get("status") not in (None, JobStatus.NOT_SUBMITTED, JobStatus.PENDING):
                continue
            entry.update(status=sub.public_status, submitted_at=sub.sent_at, finished_at=sub.finished_at,
                         request_id=sub.request_id, result_urls=list(sub.result_urls), error=sub.error)
    finally:
        store.close()
