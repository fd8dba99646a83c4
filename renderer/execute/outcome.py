"""What `renderer run` says when it ends: notes, problems, the step summary, the exit code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from renderer import figures as F
from renderer.execute.scheduler import RunOptions
from renderer.manifest import Manifest, ManifestEntry
from renderer.plan.views import md_code
from renderer.vocabulary import JobStatus

MAX_PROBLEM_LINES = 20
MAX_SUMMARY_PROBLEMS = 50  # a step summary is for people: the manifest has the rest


AWAITS = "awaits approval"  # the error of a job not sent because an upstream one awaits approval


def _problems(manifest: Manifest) -> list[tuple[str, ManifestEntry]]:
    """The jobs that neither completed nor wait on a render or an approval."""
    return [(iid, e) for iid, e in manifest.jobs.items()
            if e.status not in (JobStatus.COMPLETED, JobStatus.PENDING, JobStatus.AWAITING_APPROVAL)
            and not _behind_gate(e)]


def _behind_gate(e: ManifestEntry) -> bool:
    return e.status == JobStatus.NOT_SUBMITTED and AWAITS in (e.error or "")


def exit_code(manifest: Manifest, options: RunOptions) -> int:
    """0 all completed (or, with --detach, all submitted; or stopped at, or behind, an approval point:
    campaign-format.md section 6), else 1."""
    entries = list(manifest.jobs.values())
    if all(e.status in (JobStatus.COMPLETED, JobStatus.AWAITING_APPROVAL) or _behind_gate(e) for e in entries):
        return 0
    if options.detach:
        # a clean detach: everything submitted (or waiting on something that is)
        ok = all(e.status in (JobStatus.COMPLETED, JobStatus.PENDING)
                 or (e.status == JobStatus.NOT_SUBMITTED and "still rendering" in (e.error or "")) for e in entries)
        return 0 if ok else 1
    return 1


def report(out: TextIO, notes: list[str], manifest: Manifest, manifest_path: Path, lines: Sequence[str] = (),
           campaign: str = "FILE", final: str = "") -> None:
    """Notes, then ``lines`` (the budget's word), then what awaits approval and the jobs that did
    not complete, then the ``final`` line (``figures.final_line``): nothing said after it can
    contradict it."""
    for text in dict.fromkeys(notes):
        out.write(f"note: {text}\n")
    timed = sum(1 for e in manifest.jobs.values() if e.status == JobStatus.PENDING and "job timeout" in (e.error or ""))
    if timed:
        out.write(f"{timed} job(s) still rendering after the job timeout: left pending; run again to keep waiting\n")
    out.writelines(line + "\n" for line in lines)
    out.writelines(line + "\n" for line in awaiting_lines(manifest, campaign))
    problems = _problems(manifest)
    for iid, e in problems[:MAX_PROBLEM_LINES]:
        out.write(f"{e.status:>13}  {iid}: {e.error or ''}\n")
    if len(problems) > MAX_PROBLEM_LINES:
        out.write(f"… and {len(problems) - MAX_PROBLEM_LINES} more (see {manifest_path})\n")
    unknown = sum(1 for _, e in problems if e.status == JobStatus.UNKNOWN)
    if unknown:
        out.write(f"{unknown} submission(s) of unknown fate: they may have been charged. Check the provider's "
                  f"dashboard; `renderer run --resubmit-unknown` sends them again (may pay twice).\n")
    if final:
        out.write(final + "\n")
    out.write(f"manifest: {manifest_path}\n")
    out.flush()


def awaiting_lines(manifest: Manifest, campaign: str = "FILE") -> list[str]:
    """What awaits whom, and how to go on: the jobs stopped at their approval point."""
    paused = [(iid, e) for iid, e in manifest.jobs.items() if e.status == JobStatus.AWAITING_APPROVAL]
    if not paused:
        return []
    lines = [f"{len(paused)} job(s) stopped at their approval point; they await your approval (nothing more is sent "
             "for them until then):"]
    for iid, e in paused[:MAX_PROBLEM_LINES]:
        lines.append(f"  awaiting_approval  {iid}: {e.request_id}, {len(e.previews)} preview(s) in the manifest")
    behind = sum(1 for e in manifest.jobs.values() if _behind_gate(e))
    if behind:
        lines.append(f"  and {behind} job(s) that need them wait too")
    lines.append(f"to go on: `renderer approve {campaign} JOB` (the approvals file, for a pull request), then run "
                 "again; or `renderer run --approve JOB`")
    return lines


def markdown(manifest: Manifest | Mapping[str, Any], before: float | None = None) -> str:
    """The run for GitHub's step summary: counts, credits (``renderer.figures``: ``before``, what
    the campaign had spent when the run started), and the jobs that did not complete.

    Takes the manifest, or its JSON as written (counts and credits are read from it)."""
    data = manifest.to_json() if isinstance(manifest, Manifest) else manifest
    manifest = Manifest.coerce(manifest)
    jobs = F.Jobs.of_manifest(data)
    lines = [f"### renderer run: {md_code(manifest.campaign or '')}", "", f"{jobs.text()}", "",
             "| status | jobs |", "|---|---:|"]
    lines += [f"| {F.word(k)} | {v:,} |" for k, v in jobs.ordered()]
    lines += ["", "| credits | |", "|---|---:|"]
    lines += [f"| {label} | {figure} |" for label, figure in F.Credits.of_manifest(data, before).rows()]
    lines += _awaiting_markdown(manifest)
    problems = _problems(manifest)
    if problems:
        lines += ["", "| job | status | error |", "|---|---|---|"]
        for iid, e in problems[:MAX_SUMMARY_PROBLEMS]:
            lines.append(f"| {md_code(iid, cell=True)} | {e.status} | {md_code(e.error or '', cell=True)} |")
        if len(problems) > MAX_SUMMARY_PROBLEMS:
            lines.append(f"\n… and {len(problems) - MAX_SUMMARY_PROBLEMS:,} more in the manifest")
    return "\n".join(lines) + "\n"


def _awaiting_markdown(manifest: Manifest) -> list[str]:
    """The jobs stopped at their approval point, with their previews, for the reviewer."""
    paused = [(iid, e) for iid, e in manifest.jobs.items() if e.status == JobStatus.AWAITING_APPROVAL]
    if not paused:
        return []
    lines = ["", f"**awaiting approval** ({len(paused):,}): approve with `renderer approve FILE JOB` (commit the "
             "approvals file it writes), and the next run continues them", "",
             "| job | request | previews |", "|---|---|---|"]
    for iid, e in paused[:MAX_SUMMARY_PROBLEMS]:
        links = " ".join(f"[{md_code(str(p.get('kind') or 'preview'), cell=True)} {i + 1}]({p['url']})"
                         for i, p in enumerate(e.previews[:8]) if _http(p.get("url")))
        lines.append(f"| {md_code(iid, cell=True)} | {md_code(e.request_id or '', cell=True)} | {links} |")
    return lines


def _http(url: object) -> bool:
    return isinstance(url, str) and url.lower().startswith(("https://", "http://")) and not any(
        c in url for c in " ()[]<>|\n")
