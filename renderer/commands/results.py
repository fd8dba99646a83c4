"""`renderer results FILE`: each job's status, and its downloaded files or else its result URLs."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from renderer import figures as F
from renderer import manifest as M
from renderer.errors import Invalid, LoadError, Location
from renderer.execute.store import JournalStore
from renderer.execute.stores import STATE_ENV
from renderer.text import printable


def manifest_json(file: str, manifest: str | None, sandbox: bool = False) -> tuple[Path, dict[str, Any]]:
    """The campaign's manifest (beside it, the rehearsal's with ``sandbox``, or ``manifest``) as
    its JSON; a located error if missing, that names the other record when there is one."""
    path = Path(manifest) if manifest else M.default_path(file, sandbox)
    if not manifest and not path.exists() and M.default_path(file, not sandbox).exists():
        other = ("only a rehearsal ran (`run --sandbox`): add --sandbox to read its manifest" if not sandbox
                 else "no rehearsal ran; the real manifest is read without --sandbox")
        raise Invalid([LoadError(f"manifest not found: {other}", Location(str(path)))])
    loaded = M.load(path, required=True)
    assert loaded is not None
    return path, loaded.to_json()


def _shown_path(manifest_path: Path, path: str) -> str:
    return path if "://" in path else os.path.relpath(manifest_path.parent / path)


def merge_store(store: JournalStore | None, jobs: dict[str, dict[str, Any]]) -> None:
    """Jobs the journal knows newer things about than the manifest (a run in progress, here or,
    with a shared store, on another machine)."""
    if store is None:
        return
    try:
        for sub in store.latest_per_instance():
            entry = jobs.get(sub.instance_id)
            if entry is None or entry.get("status") not in (None, "not_submitted", "pending"):
                continue
            entry.update(status=sub.public_status, submitted_at=sub.sent_at, finished_at=sub.finished_at,
                         request_id=sub.request_id, result_urls=list(sub.result_urls), error=sub.error)
    finally:
        store.close()


def results(file: str, out: TextIO, *, manifest: str | None = None, as_json: bool = False,
            sandbox: bool = False, env: Mapping[str, str] | None = None) -> int:
    """List each job's status and its files (paths from here) or result URLs; ``as_json`` for scripts;
    ``sandbox``: the rehearsal's (``run --sandbox``).

    With a shared store (``RENDERER_STATE`` in ``env``), what it knows newer than the manifest wins
    (a rehearsal's state is always local)."""
    path, data = manifest_json(file, manifest, sandbox)
    if env and env.get(STATE_ENV) and not sandbox:
        from renderer.commands.status import find_store

        merge_store(find_store(file, None, env, False, path), data["jobs"])
    rows: dict[str, Any] = {}
    for iid, e in data["jobs"].items():
        files = [f for f in e.get("files") or () if isinstance(f, Mapping) and isinstance(f.get("path"), str)]
        rows[iid] = {
            "status": e.get("status"), "error": e.get("error"), "result_urls": list(e.get("result_urls") or ()),
            "files": [{**f, "local": _shown_path(path, f["path"])} for f in files],
            "download_error": e.get("download_error"),
        }
    jobs, credits = F.Jobs.of_manifest(data), F.Credits.of_manifest(data)
    if as_json:
        json.dump({"manifest": str(path), "campaign": data.get("campaign"), "jobs": rows,
                   "figures": {"counts": dict(jobs.ordered()), "done": jobs.done, "credits": dict(credits.rows())}},
                  out, indent=2, sort_keys=True, ensure_ascii=False)
        out.write("\n")
        return 0
    for iid, r in rows.items():  # a manifest may come from a pull request, an error from an API: no escapes
        shown = [f["local"] for f in r["files"]] or r["result_urls"]
        if r["status"] != "completed" and r["error"]:
            shown = [str(r["error"])]
        out.write(printable(f"{r['status']!s:>13}  {iid}  {'  '.join(map(str, shown))}") + "\n")
        if r["download_error"]:
            out.write(printable(f"{'':>13}  download failed: {r['download_error']}") + "\n")
    out.write(f"{jobs.text()}; {credits.text()}\n")  # renderer.figures: what the run's final line said
    return 0
