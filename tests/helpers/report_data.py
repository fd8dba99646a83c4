"""Runs of any size for the report, as the manifest records them: no API needed.

``synthetic_run(n)`` makes ``n`` instances in five jobs shaped like a campaign
(stills -> teasers -> translations, a join of every teaser, a poster per city),
with failures, cancellations and jobs left pending, times spread over an hour,
and, with ``media``, a downloaded file per completed still and teaser (hard links
to one PNG / MP4, so 10,000 files cost no disk) and a provider thumbnail for a few.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from renderer.results.html_report import ReportInput

MEDIA = Path(__file__).resolve().parents[2] / "renderer" / "sandbox" / "media"
T0 = 1_795_000_000  # 2026-11-18


def _iso(t: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _status(n: int) -> str:
    if n % 97 == 5:
        return "failed"
    if n % 211 == 7:
        return "cancelled"
    if n % 157 == 3:
        return "pending"
    return "completed"


def synthetic_run(n: int, root: Path, media: bool = False) -> ReportInput:
    cities = max(1, n * 4 // 10)  # stills and teasers: 40 % each, translations 15 %, posters the rest
    shape = [("stills", cities), ("teaser", cities), ("translate", max(1, n * 15 // 100))]
    shape.append(("poster", n - sum(k for _, k in shape) - 1))
    jobs: dict[str, dict[str, Any]] = {}
    needs: dict[str, tuple[str, ...]] = {}
    png, mp4 = MEDIA / "sample.png", MEDIA / "sample.mp4"
    sums = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (png, mp4)}
    k = 0
    for job, count in shape:
        for i in range(max(count, 0)):
            iid = f"{job}[city=c{i:05d}]" if job != "translate" else f"translate[city=c{i:05d},lang=es]"
            up = {"stills": (), "teaser": (f"stills[city=c{i:05d}]",), "translate": (f"teaser[city=c{i:05d}]",),
                  "poster": (f"stills[city=c{i % cities:05d}]",)}[job]
            needs[iid] = up
            st = _status(k)
            start = T0 + (k * 3600 / n)
            entry: dict[str, Any] = {
                "endpoint": "samsar/image/enhance" if job in ("stills", "poster") else "samsar/video/image_list_to_video",
                "status": st, "request_id": f"req_{k:08x}", "submitted_at": _iso(start),
                "credits": {"estimated": {"min": 50, "max": 50}, "charged": 50 if st == "completed" else None},
            }
            if st != "pending":
                entry["finished_at"] = _iso(start + 20 + k % 40)
            if st == "failed":
                entry["error"] = f"render failed: the model refused frame {k} (content policy)"
            if st == "completed":
                url = f"https://cdn.example.com/files/{job}/{k}.{'png' if job in ('stills', 'poster') else 'mp4'}"
                entry["result_urls"] = [url]
                if media and job in ("stills", "teaser"):
                    src = png if job == "stills" else mp4
                    rel = f"media/{job}/c{i:05d}{src.suffix}"
                    dest = root / rel
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    os.link(src, dest)
                    entry["files"] = [{"url": url, "path": rel, "sha256": sums[src], "size": src.stat().st_size,
                                       "media_type": "image/png" if src is png else "video/mp4"}]
            jobs[iid] = entry
            k += 1
    joined = tuple(i for i in jobs if i.startswith("teaser["))
    jobs["join"] = {"endpoint": "samsar/video/join", "status": "pending", "submitted_at": _iso(T0 + 3000)}
    needs["join"] = joined
    charged = sum(e["credits"]["charged"] or 0 for e in jobs.values() if "credits" in e)
    return ReportInput("scale-demo", jobs, needs, root, root,
                       {"estimated": {"min": 50 * n, "max": 50 * n}, "charged": charged})
