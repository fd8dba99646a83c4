"""A run as JUnit XML, which every CI shows natively: one test case per job.

A job that did not complete (failed, cancelled, pending, not submitted, unknown)
is a ``<failure>`` carrying its error; a completed job whose files could not be
downloaded passes and says so in ``<system-out>``. A case's time is the job's wall time,
from its submission to its final state; the suite's is the run's wall time (jobs render
side by side: their sum is no time anybody waited). The suite's properties carry the
run's figures, in ``renderer.figures``' words.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from renderer import atomic
from renderer import figures as F
from renderer.vocabulary import JobStatus
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value: Any) -> str:
    """XML 1.0 cannot hold control characters at all: show them instead."""
    return _XML_BAD.sub(lambda m: repr(m.group())[1:-1], str(value))


def junit_xml(data: Mapping[str, Any], wall_seconds: float | None = None) -> str:
    """``wall_seconds``: the run's (default: from its first submission to its last final state)."""
    jobs: Mapping[str, Any] = data.get("jobs") or {}
    failed = [iid for iid, e in jobs.items() if e.get("status") != JobStatus.COMPLETED]
    total_time = _span(jobs.values()) if wall_seconds is None else wall_seconds
    suites = ET.Element("testsuites", name="renderer", tests=str(len(jobs)), failures=str(len(failed)),
                        errors="0", time=f"{total_time:.3f}")
    suite = ET.SubElement(suites, "testsuite", name=_text(data.get("campaign") or "campaign"), tests=str(len(jobs)),
                          failures=str(len(failed)), errors="0", skipped="0", time=f"{total_time:.3f}")
    props = ET.SubElement(suite, "properties")
    for label, figure in [("jobs", F.Jobs.of_manifest(data).text()), *F.Credits.of_manifest(data).rows()]:
        ET.SubElement(props, "property", name=label, value=_text(figure))
    for iid, e in jobs.items():
        job = iid.split("[", 1)[0]
        case = ET.SubElement(suite, "testcase", classname=_text(job), name=_text(iid),
                             time=f"{float(e.get('elapsed_seconds') or 0):.3f}")
        status = e.get("status") or JobStatus.UNKNOWN
        if status != JobStatus.COMPLETED:
            error = e.get("error") or status
            failure = ET.SubElement(case, "failure", message=_text(f"{status}: {error}"[:1000]), type=_text(status))
            failure.text = _text(f"{iid} is {status}: {error}")
        lines = [f"endpoint: {e.get('endpoint')}", f"status: {status}"]
        lines += [f"result: {u}" for u in e.get("result_urls") or ()]
        lines += [f"file: {f.get('path')}" for f in e.get("files") or () if isinstance(f, Mapping)]
        if e.get("download_error"):
            lines.append(f"download failed: {e['download_error']}")
        ET.SubElement(case, "system-out").text = _text("\n".join(lines))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def write_junit(path: str | Path, data: Mapping[str, Any], wall_seconds: float | None = None) -> None:
    """Atomically write the JUnit XML of a run's manifest ``data``."""
    atomic.write_text(Path(path), junit_xml(data, wall_seconds))


def _span(entries: Any) -> float:
    """From the first submission to the last final state of the jobs the manifest times."""
    from datetime import datetime

    starts, ends = [], []
    for e in entries:
        try:
            if e.get("submitted_at") and e.get("finished_at"):
                starts.append(datetime.fromisoformat(e["submitted_at"]).timestamp())
                ends.append(datetime.fromisoformat(e["finished_at"]).timestamp())
        except (TypeError, ValueError):
            continue
    return max(0.0, max(ends) - min(starts)) if starts else 0.0
