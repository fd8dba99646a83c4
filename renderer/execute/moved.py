"""A campaign keeps its identity when its file moves (``git mv``).

A campaign's journal is keyed by its name and its path in the repository
(``identity.campaign_identity``), and its manifest lives beside it by default. After
``git mv campaigns/a.yaml campaigns/b.yaml`` neither is where the new path looks, and a
run would render everything again. Before a run (or a plan) starts afresh, it looks
for the record of a campaign of the same ``name`` whose file is gone:

- journals in the state directory whose meta names the campaign and a path that no
  longer exists (the journal under the old identity: carried over to the new one);
- the manifest beside such an old path (left behind by the move);
- manifests in the repository that name the campaign and sit beside no campaign file
  of their stem (left behind, on a machine without the state directory).

One candidate of a kind is taken, and said. Two are refused (``UsageError``, exit 2)
naming the files and the flag that chooses (``--moved-from OLD_PATH``, or
``--manifest PATH``): nothing is sent. A manifest moved with the campaign is simply
where the new path looks.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from renderer.errors import UsageError
from renderer.execute.identity import journal_path, repository_root
from renderer.manifest import SANDBOX_SUFFIX, default_path

MAX_SCANNED = 20_000  # directory entries the repository scan looks at, at most
_HEAD = 4096  # a manifest's first bytes name its campaign (sorted keys: "campaign" comes first)
_NAME = re.compile(r'"campaign"\s*:\s*("(?:[^"\\]|\\.)*")')
_SKIPPED = {"node_modules", "__pycache__", "venv"}


@dataclass(frozen=True, slots=True)
class Found:
    journal: Path | None = None  # a journal under the old identity, to carry over
    manifest: Path | None = None  # the manifest to read as the previous one
    notes: tuple[str, ...] = ()


def find_moved(campaign_path: str | Path, name: str, state_dir: str | Path | None, manifest_path: Path, *,
               manifest_given: bool = False, moved_from: str | None = None, target: str = "") -> Found:
    """The record of this campaign under an old path, when the new path has none. ``target``:
    where the run goes (``renderer.targets.key``): journals are kept per target."""
    campaign = Path(campaign_path).resolve()
    sandbox = manifest_path.name.endswith(SANDBOX_SUFFIX)  # a rehearsal's record, or the real one
    if moved_from is not None:
        return _from_old_path(Path(moved_from), campaign, name, state_dir, manifest_path, manifest_given, target,
                              sandbox)
    need_manifest = not manifest_given and not manifest_path.exists()
    journals: list[tuple[Path, Path]] = []
    if state_dir is not None and not journal_path(state_dir, campaign_path, name, manifest_path, target).exists():
        journals = _old_journals(Path(state_dir), name, campaign, target)
    if len(journals) > 1:
        raise UsageError(
            f"{campaign_path}: no record of the campaign {name!r} at this path, and the journals of "
            f"{len(journals)} moved campaigns of that name: "
            + "; ".join(f"{j} (was {old})" for j, old in journals)
            + ". Pass --moved-from OLD_PATH to say which file this one was; nothing was sent")
    manifests: list[Path] = []
    if need_manifest:
        beside = [default_path(old, sandbox) for _, old in journals]
        manifests = _unique([m for m in beside if _names(m, name)] + _orphans(campaign, name, manifest_path, sandbox))
    if len(manifests) > 1:
        raise UsageError(
            f"{campaign_path}: no manifest beside it, and {len(manifests)} manifests of the campaign {name!r} "
            f"whose campaign file is gone: {', '.join(map(str, manifests))}. Pass --manifest PATH to read one "
            f"(or --moved-from OLD_PATH); nothing was sent")
    notes = []
    journal = journals[0][0] if journals else None
    if journal is not None:
        notes.append(f"the campaign moved from {journals[0][1]}: its journal {journal} is carried over")
    manifest = manifests[0] if manifests else None
    if manifest is not None:
        notes.append(f"the campaign moved: its manifest {manifest} was read; the new one is {manifest_path} "
                     f"(remove the old one: git rm {manifest})")
    return Found(journal, manifest, tuple(notes))


def _from_old_path(old: Path, campaign: Path, name: str, state_dir: str | Path | None, manifest_path: Path,
                   manifest_given: bool, target: str, sandbox: bool) -> Found:
    """``--moved-from OLD_PATH``: the record of the campaign as it was at ``old``."""
    notes = []
    journal = None
    if state_dir is not None:
        candidate = journal_path(state_dir, old, name, default_path(old, sandbox), target)
        if candidate.exists() and candidate != journal_path(state_dir, campaign, name, manifest_path, target):
            journal = candidate
            notes.append(f"the campaign moved from {old}: its journal {journal} is carried over")
    manifest = None
    if not manifest_given and not manifest_path.exists() and default_path(old, sandbox).exists():
        manifest = default_path(old, sandbox)
        notes.append(f"the campaign moved from {old}: its manifest {manifest} was read; the new one is {manifest_path}")
    if journal is None and manifest is None:
        raise UsageError(f"--moved-from {old}: no journal or manifest of the campaign {name!r} there; nothing was sent")
    return Found(journal, manifest, tuple(notes))


def _old_journals(state_dir: Path, name: str, campaign: Path, target: str) -> list[tuple[Path, Path]]:
    """(journal, old campaign path) of every journal of a campaign of this name, against this
    target, whose file is gone."""
    if not state_dir.is_dir():
        return []
    out = []
    for path in sorted(state_dir.glob("*.sqlite")):
        meta = _meta(path)
        old = meta.get("campaign_path")
        if meta.get("campaign") != name or not old or Path(old) == campaign or Path(old).exists():
            continue
        if meta.get("targets", "") != target:
            continue  # another target's (a rehearsal's, another account's) journal
        out.append((path, Path(old)))
    return out


def _meta(path: Path) -> dict[str, str]:
    """A journal's meta, read without touching the file (``immutable``: not even its -shm; meta a
    killed run left only in its -wal is not seen); nothing for a file that is not a journal."""
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True, timeout=1.0)
        try:
            return {k: v for k, v in db.execute("SELECT key, value FROM meta")}
        finally:
            db.close()
    except (sqlite3.Error, OSError, ValueError):
        return {}


def _orphans(campaign: Path, name: str, manifest_path: Path, sandbox: bool) -> list[Path]:
    """Manifests in the repository that name the campaign and sit beside no campaign file of their
    stem (a rehearsal's, ``sandbox``, or real ones)."""
    suffix = SANDBOX_SUFFIX if sandbox else ".manifest.json"
    root = repository_root(campaign.parent)
    if root is None:
        return []
    out = []
    seen = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIPPED)
        seen += len(dirs) + len(files)
        for f in sorted(files):
            if not f.endswith(suffix) or (not sandbox and f.endswith(SANDBOX_SUFFIX)):
                continue
            path = Path(folder) / f
            stem = f[: -len(suffix)]
            if path.resolve() == manifest_path.resolve() or any(
                    (Path(folder) / f"{stem}{ext}").exists() for ext in (".yaml", ".yml")):
                continue
            if _names(path, name):
                out.append(path)
        if seen > MAX_SCANNED:
            break
    return out


def _names(path: Path, name: str) -> bool:
    """The manifest at ``path`` records the campaign ``name`` (read from its first bytes)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD).decode("utf-8", "replace")
    except OSError:
        return False
    m = _NAME.search(head)
    if m is None:
        return False
    try:
        return bool(json.loads(m.group(1)) == name)
    except ValueError:
        return False


def _unique(paths: list[Path]) -> list[Path]:
    out: dict[Path, Path] = {}
    for p in paths:
        out.setdefault(p.resolve(), p)
    return list(out.values())
