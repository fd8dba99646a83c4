"""`renderer status FILE`: a run's state from its journal: counts, credits, one line per job."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from renderer import targets as T
from renderer.errors import StateError
from renderer.execute import journal as J
from renderer.execute import statedir
from renderer.execute.durable import untargeted_journal
from renderer.execute.journal import Journal, journal_path
from renderer.manifest import default_path as default_manifest_path
from renderer.campaign.campaign import load_campaign
from renderer.text import credits as credits_text


def journal_of(file: str, state_dir: str | None, env: Mapping[str, str], sandbox: bool,
               manifest: Path | None = None) -> Path:
    """Where the journal of an earlier run (or rehearsal) of a campaign is: found by the
    campaign's identity and the run's targets (the base URLs of ``env``, or the sandbox),
    under ``--state-dir``, else the state directory the last run recorded. It may not exist."""
    campaign = load_campaign(file)
    where = statedir.resolve(state_dir, file, campaign.name, sandbox)
    targets = T.for_campaign(campaign, env, sandbox)
    manifest = manifest or default_manifest_path(file, sandbox)
    path = journal_path(where, file, campaign.name, manifest, T.key(targets))
    if not path.exists():  # written before journals were kept per target?
        default = T.key(T.for_campaign(campaign, {}, False))
        path = untargeted_journal(where, file, campaign.name, manifest, T.key(targets), default) or path
    return path


def open_journal(file: str, state_dir: str | None, env: Mapping[str, str] | None = None,
                 sandbox: bool = False) -> Journal:
    """The journal of an earlier run of a campaign (status, cancel); a StateError that says
    where it looked, and what else ran, when there is none."""
    env = env or {}
    path = journal_of(file, state_dir, env, sandbox)
    if not path.exists():
        campaign = load_campaign(file)
        where = Path(path).parent
        against = T.describe(T.for_campaign(campaign, env, sandbox))
        hint = ""
        other = journal_of(file, state_dir, env, not sandbox)
        if other.exists():
            hint = ("; a rehearsal ran (`run --sandbox`): add --sandbox to read it" if not sandbox
                    else "; a run against the real API ran: drop --sandbox to read it")
        elif state_dir is None and statedir.recall(file, campaign.name, sandbox) is None:
            hint = "; if the run used --state-dir, pass it here too"
        raise StateError(f"no run state for {file} against {against} under {where}: nothing has run yet{hint}")
    return Journal(path)


def status(file: str, out: TextIO, *, state_dir: str | None = None, as_json: bool = False, sandbox: bool = False,
           env: Mapping[str, str] | None = None) -> int:
    """Show a run's state from the journal: counts, credits, one line per job. ``sandbox``: the rehearsal's."""
    journal = open_journal(file, state_dir, env, sandbox)
    try:
        rows = _rows(journal)
        counts: dict[str, int] = {}
        for r in rows.values():
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        charged = sum(s.credits_charged or 0 for s in journal.all() if s.state in J.SPENDING)
        running = journal.holder()
        data = {"journal": str(journal.path), "running": running, "counts": dict(sorted(counts.items())),
                "credits": {"charged": charged}, "jobs": rows}
        if as_json:
            json.dump(data, out, indent=2, sort_keys=True)
            out.write("\n")
        else:
            _show(out, data, rows, running, charged)
        return 0
    finally:
        journal.close()


def _show(out: TextIO, data: dict[str, Any], rows: dict[str, dict[str, Any]], running: Any, charged: float) -> None:
    if running:
        state = "in progress" if running["running"] else "ended abruptly (the next run resumes it)"
        out.write(f"run {state}: pid {running['pid']} on {running['hostname']} since {running['acquired_at']}\n")
    out.write(", ".join(f"{v} {k.replace('_', ' ')}" for k, v in data["counts"].items()) or "no jobs yet")
    out.write(f"; credits charged {credits_text(charged)}\n")
    for iid, r in rows.items():
        extra = r.get("request_id") or ""
        if r.get("error") and r["status"] != "completed":
            extra = (extra + "  " if extra else "") + r["error"]
        out.write(f"{r['status']:>13}  {iid}  {extra}\n")


def _rows(journal: Journal) -> dict[str, dict[str, Any]]:
    """The latest word on every instance: its last submission, or a newer verdict."""
    out: dict[str, dict[str, Any]] = {}
    for sub in journal.latest_per_instance():
        out[sub.instance_id] = {
            "status": sub.public_status, "endpoint": sub.endpoint, "request_id": sub.request_id,
            "credits_charged": sub.credits_charged, "attempts": sub.attempts, "error": sub.error,
            "result_url": sub.result_url, "updated_at": sub.updated_at,
        }
    for iid, v in journal.verdicts().items():
        known = out.get(iid)
        if known is None or (v.at >= known["updated_at"]):
            out[iid] = {**(known or {}), "status": v.status, "error": v.reason, "updated_at": v.at}
    return dict(sorted(out.items()))
