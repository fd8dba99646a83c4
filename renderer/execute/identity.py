"""Who a campaign is, and where its journal lives: the same answer on every machine.

A campaign is its ``name`` and its path relative to its repository (``campaign_identity``),
so a CI runner, a copy of the checkout and any working directory agree on it. Its
journal is keyed by that identity and the target its runs go to (``journal_key``): in the
shared store by that key, on disk under ``--state-dir`` by its hash (``journal_path``).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def repository_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that holds ``.git`` (a folder or a worktree's file)."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def git_dir_of(campaign_path: str | Path) -> Path | None:
    """The git folder of the repository the campaign lies in, or None outside one."""
    root = repository_root(Path(campaign_path).resolve().parent)
    return _git_dir(root / ".git") if root is not None else None


def _git_dir(dot_git: Path) -> Path | None:
    """The repository's git folder: ``.git`` itself, or where a worktree's ``.git`` file points."""
    if dot_git.is_dir():
        return dot_git
    try:
        text = dot_git.read_text("utf-8").strip()
    except (OSError, UnicodeError):
        return None
    if not text.startswith("gitdir:"):
        return None
    target = Path(text.removeprefix("gitdir:").strip())
    target = target if target.is_absolute() else dot_git.parent / target
    return target if target.is_dir() else None


def campaign_identity(campaign_path: str | Path, name: str, manifest_path: str | Path | None = None) -> str:
    """Who a campaign is, wherever the checkout lies and whatever the working directory.

    Its ``name`` and its path relative to the repository root, or else relative to
    the manifest's folder (beside the campaign by default): the same on a CI runner,
    in a copy of the checkout, and from any working directory.
    """
    campaign = Path(campaign_path).resolve()
    root = repository_root(campaign.parent)
    if root is None:
        base = Path(manifest_path).resolve().parent if manifest_path is not None else campaign.parent
        rel = os.path.relpath(campaign, base)
    else:
        rel = os.path.relpath(campaign, root)
    return f"{name}\n{Path(rel).as_posix()}"


def journal_key(campaign_path: str | Path, name: str, manifest_path: str | Path | None = None,
                target: str = "") -> str:
    """What a campaign's journal is keyed by: the campaign's identity and where its runs go
    (``renderer.targets.key``: ``sandbox``, or each provider's base URL). A rehearsal, a
    staging account and production each have their own journal: one target's submissions
    are never polled, settled or taken as done against another. ``target`` "" is the key
    of journals written before targets were recorded."""
    identity = campaign_identity(campaign_path, name, manifest_path)
    return f"{identity}\n{target}" if target else identity


def journal_path(state_dir: str | Path, campaign_path: str | Path, name: str,
                 manifest_path: str | Path | None = None, target: str = "") -> Path:
    """``<state_dir>/<stem>-<hash of the journal's key>.sqlite``."""
    digest = hashlib.sha256(journal_key(campaign_path, name, manifest_path, target).encode("utf-8")).hexdigest()[:12]
    return Path(state_dir) / f"{Path(campaign_path).stem}-{digest}.sqlite"
