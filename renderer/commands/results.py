"""`renderer results FILE`: each job's status, and its downloaded files or else its result URLs."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from renderer import figures as F
from renderer.execute.stores import STATE_ENV, find_earlier_store
from renderer.results.latest import manifest_json, merge_store
from renderer.text import printable
from renderer.vocabulary import JobStatus


def _shown_path(manifest_path: Path, path: str) -> str:
    return path if "://" in path else os.path.relpath(manifest_path.parent / path)


def results(file: str, out: TextIO, *, manifest: str | None = None, as_json: bool = False,
            sandbox: bool = False, env: Mapping[str, str] | None = None) -> int:
    """List each job's status and its files (paths from here) or result URLs; ``as_json`` for scripts;
    ``sandbox``: the rehearsal's (``run --sandbox``).

    With a shared store (``RENDERER_STATE`` in ``env``), what it knows newer than the manifest wins
    (a rehearsal's state is always local)."""
    path, data = manifest_json(file, manifest, sandbox)
    if env and env.get(STATE_ENV) and not sandbox:
        merge_store(find_earlier_store(file, None, env, False, path), data["jobs"])
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
        if r["status"] != JobStatus.COMPLETED and r["error"]:
            shown = [str(r["error"])]
        out.write(printable(f"{r['status']!s:>13}  {iid}  {'  '.join(map(str, shown))}") + "\n")
        if r["download_error"]:
            out.write(printable(f"{'':>13}  download failed: {r['download_error']}") + "\n")
    out.write(f"{jobs.text()}; {credits.text()}\n")  # renderer.figures: what the run's final line said
    return 0
