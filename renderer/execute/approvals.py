"""The approvals file: which paused renders a person let continue (``approve: manual``).

It lives beside the campaign (``<stem>.approvals.json``; a rehearsal's is
``<stem>.sandbox.approvals.json``) and is committed with it, so that an approval given in
a pull request reaches the run after the merge on any machine::

    {
      "campaign": "launch",
      "approved": {
        "teaser[lang=en]": {"request_id": "vid_step_...", "approved_at": "2026-12-06T16:00:00.000Z"}
      }
    }

An approval names the instance *and* the render it saw paused (its ``request_id``): it lets
exactly that render continue, once. A new render of the job (its input changed) stops at its
own approval point again. ``renderer approve`` and ``run --approve`` write it; a reviewer may
too, by hand.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from renderer import atomic
from renderer.errors import DataFileError, Location
from renderer.execute.records import now_iso

MAX_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Approval:
    instance_id: str
    request_id: str
    approved_at: str | None = None

    def to_json(self) -> dict[str, str]:
        out = {"request_id": self.request_id}
        if self.approved_at:
            out["approved_at"] = self.approved_at
        return out


def default_path(campaign_path: str | Path, sandbox: bool = False) -> Path:
    p = Path(campaign_path)
    return p.with_name(p.stem + (".sandbox" if sandbox else "") + ".approvals.json")


def load(path: Path) -> dict[str, Approval]:
    """The approvals the file holds, by instance id; none when there is no file. A file that is not
    one raises ``DataFileError`` at the place it goes wrong."""
    try:
        raw = path.read_bytes()[: MAX_BYTES + 1]
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise DataFileError(f"cannot read the approvals file: {exc.strerror or exc}", Location(str(path))) from None
    if len(raw) > MAX_BYTES:
        raise DataFileError(f"the approvals file is larger than {MAX_BYTES:,} bytes", Location(str(path)))
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise DataFileError("the approvals file is not UTF-8 text", Location(str(path))) from None
    except json.JSONDecodeError as exc:
        raise DataFileError(f"the approvals file is not JSON: {exc.msg}", Location(str(path), exc.lineno, exc.colno)) from None
    approved = data.get("approved") if isinstance(data, dict) else None
    if not isinstance(approved, dict):
        raise DataFileError('the approvals file is an object with `approved`: {"<job instance>": {"request_id": '
                            '"<the paused render>"}}', Location(str(path)))
    out: dict[str, Approval] = {}
    for iid, entry in approved.items():
        rid = entry.get("request_id") if isinstance(entry, dict) else None
        if not isinstance(rid, str) or not rid:
            raise DataFileError("its approval needs the request_id of the paused render it lets continue "
                                "(`renderer approve` writes it)", Location(str(path), instance=iid))
        at = entry.get("approved_at")
        out[iid] = Approval(iid, rid, at if isinstance(at, str) else None)
    return out


def record(path: Path, campaign: str, new: Iterable[Approval]) -> dict[str, Approval]:
    """Add approvals to the file (kept with those it holds; a later one of an instance replaces its
    earlier one), written atomically. Returns what the file holds now."""
    held = load(path)
    for a in new:
        held[a.instance_id] = a if a.approved_at else Approval(a.instance_id, a.request_id, now_iso())
    data = {"campaign": campaign, "approved": {iid: held[iid].to_json() for iid in sorted(held)}}
    atomic.write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return held


def recorder(path: Path, campaign: str) -> Callable[[str, str], None]:
    """What ``run --approve`` calls as it lets a render continue: the approval, in the file."""
    def one(instance_id: str, request_id: str) -> None:
        record(path, campaign, [Approval(instance_id, request_id)])
    return one


def matches(pattern: str, instance_id: str) -> bool:
    """A pattern names an instance: its id or its job's name, exactly or as an fnmatch pattern (an id's
    brackets, ``teaser[n=1]``, are its own, not a character class)."""
    job = instance_id.split("[", 1)[0]
    return pattern in (instance_id, job) or fnmatchcase(instance_id, pattern) or fnmatchcase(job, pattern)


def approves(approved: Mapping[str, str], patterns: Iterable[str] = ()) -> Callable[[str, str | None], bool]:
    """Whether a paused render (instance id, request id) is approved: by the file, or by a pattern."""
    patterns = tuple(patterns)

    def check(instance_id: str, request_id: str | None) -> bool:
        return (request_id is not None and approved.get(instance_id) == request_id) or any(
            matches(p, instance_id) for p in patterns)
    return check


def approved_ids(approvals: Mapping[str, Approval]) -> dict[str, str]:
    """Instance id -> the request id it lets continue (what a run is given)."""
    return {iid: a.request_id for iid, a in approvals.items()}
