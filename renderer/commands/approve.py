"""`renderer approve FILE PATTERN...`: let renders stopped at their approval point continue.

It sends nothing and pays nothing: it records, in the approvals file beside the campaign
(``renderer.execute.approvals``), each matching job that the manifest records as
``awaiting_approval`` with the request id of its paused render. The next run continues
exactly those renders, once, with the budget admitting the rest then; a pull request that
commits the file carries the approval to the run after the merge.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from renderer import manifest as M
from renderer.campaign.campaign import load_campaign
from renderer.errors import DataFileError, Invalid, Location, UsageError, UserError
from renderer.execute import approvals
from renderer.vocabulary import JobStatus


def approve(file: str, patterns: Sequence[str], out: TextIO, *, sandbox: bool = False,
            manifest: str | None = None) -> int:
    """Record approvals for the paused jobs ``patterns`` match (fnmatch on instance ids or job names).
    Every pattern must match one; otherwise nothing is recorded (``Invalid``, exit 1)."""
    if not patterns:
        raise UsageError("renderer approve: name the jobs to approve (a job name, an instance id, or a pattern)")
    campaign = load_campaign(file)
    manifest_path = Path(manifest) if manifest else M.default_path(file, sandbox)
    recorded = M.load(manifest_path, required=False) or M.Manifest()
    paused = {iid: e for iid, e in recorded.jobs.items() if e.status == JobStatus.AWAITING_APPROVAL and e.request_id}
    chosen: dict[str, str] = {}
    errors: list[UserError] = []
    for pattern in patterns:
        hits = [iid for iid in paused if approvals.matches(pattern, iid)]
        if not hits:
            hint = "" if paused or manifest else _other_record_hint(file, sandbox)
            errors.append(DataFileError(_none_matches(pattern, sorted(paused)) + hint, Location(str(manifest_path))))
        chosen.update((iid, paused[iid].request_id or "") for iid in hits)
    if errors:
        raise Invalid(errors)
    path = approvals.default_path(file, sandbox)
    approvals.record(path, campaign.name, [approvals.Approval(iid, rid) for iid, rid in chosen.items()])
    for iid in sorted(chosen):
        out.write(f"approved  {iid}: its render {chosen[iid]} continues on the next run\n")
    out.write(f"recorded in {path}: run again to continue them (in CI: commit it with the campaign)\n")
    return 0


def _other_record_hint(file: str, sandbox: bool) -> str:
    """Where the paused jobs are when they are in the other record (as `results` and `status` say it)."""
    try:
        other = M.load(M.default_path(file, not sandbox), required=False)
    except UserError:
        return ""  # that record's own command reports it
    if other is None or not any(e.status == JobStatus.AWAITING_APPROVAL for e in other.jobs.values()):
        return ""
    return ("; a rehearsal's jobs await approval (`run --sandbox`): add --sandbox" if not sandbox
            else "; the real record's jobs await approval: drop --sandbox")


def _none_matches(pattern: str, paused: list[str]) -> str:
    if not paused:
        return (f"no job awaits approval, so {pattern!r} matches none: jobs with `approve: manual` stop at their "
                "approval point when a run reaches it")
    shown = ", ".join(paused[:10]) + (f" and {len(paused) - 10} more" if len(paused) > 10 else "")
    return f"{pattern!r} matches no job awaiting approval (awaiting approval: {shown})"
