"""GitHub's step summary: Markdown a workflow step appends to its job's page, within GitHub's cap."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

STEP_SUMMARY_LIMIT = 1024 * 1024  # GitHub's cap on one step summary


def append_step_summary(env: Mapping[str, str], markdown: str) -> None:
    """Append to GitHub's step summary when a workflow step provides one."""
    target = env.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    p = Path(target)
    used = p.stat().st_size if p.exists() else 0
    room = STEP_SUMMARY_LIMIT - used - 1
    if room <= 0:
        return
    data = markdown.encode("utf-8")
    if len(data) > room:
        note = "\n\n_(summary truncated: GitHub's 1 MiB step summary limit)_\n".encode()
        if room < len(note):  # not even the note fits
            return
        data = data[: room - len(note)].decode("utf-8", "ignore").encode() + note
    with p.open("ab") as fh:
        fh.write(data + b"\n")

