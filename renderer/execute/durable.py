"""Opening a campaign's run state safely: the manifest is the record, the journal its cache.

- A manifest written for another campaign is refused, never overwritten.
- The journal is found by the campaign's identity (``identity.campaign_identity``),
  so a new machine, a copied checkout or another working directory finds the same
  one when the state directory travels, and adopts from the manifest when it does not.
- A journal that cannot be read is refused with the way out (``sqlitestore.recovery_hint``);
  an empty one is said out loud, and the manifest's accepted jobs are adopted.
- A second run of the same campaign in the same repository is refused while one runs,
  whatever its working directory or state directory (a lock beside ``.git``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from renderer import atomic
from renderer.errors import RunLocked, StateError
from renderer.execute.identity import campaign_identity, git_dir_of, journal_path
from renderer.execute.sqlitestore import SqliteJournal, holds_sandbox_work, translated
from renderer.manifest import Manifest, dump
from renderer.targets import SANDBOX
from renderer.vocabulary import JobStatus

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]

MAX_PAGES_ENV = "RENDERER_TEST_JOURNAL_MAX_PAGES"  # SQLite's "disk full" after N pages (tests)


def check_manifest_campaign(previous: Manifest | None, name: str, manifest_path: Path) -> None:
    """Refuse a manifest that records another campaign: writing ours would destroy its record."""
    theirs = previous.campaign if previous is not None else None
    if theirs is not None and theirs != name:
        raise StateError(
            f"{manifest_path}: this manifest records the campaign {theirs!r}, not {name!r}; it is not overwritten. "
            f"Pass --manifest with this campaign's own manifest (or a new path)")


def open_sqlite_journal(state_dir: str | Path, campaign_path: str | Path, name: str, manifest_path: Path, *,
                        durable_intents: bool, after_commit: Callable[[int], None] | None,
                        env: Mapping[str, str], target: str = "", default_target: str = "",
                        previous: Manifest | None = None, resubmit_unknown: bool = False,
                        moved: Path | None = None) -> tuple[SqliteJournal, list[str]]:
    """The campaign's journal for ``target`` (``renderer.targets.key``), and what is worth saying about it.

    ``default_target``: the key of the providers' default base URLs, which a journal written
    before targets were recorded belongs to (unless it holds the sandbox's URLs).

    A journal that cannot be read, or one that was set aside (``X.broken``, as the way out
    of a corrupt one says) or emptied, is never "recovered" by sending: unless the manifest
    (``previous``) records what was sent, the run refuses until ``resubmit_unknown``.
    ``moved``: the journal of the campaign under its old path (``renderer.execute.moved``),
    carried over to this one."""
    path = journal_path(state_dir, campaign_path, name, manifest_path, target)
    notes = []
    if moved is not None and not path.exists():
        _move_journal(moved, path)
    if not path.exists():
        before = journal_path(state_dir, campaign_path, name, manifest_path)  # the key before targets
        moved = _rename_legacy_journal(before, state_dir, campaign_path)
        if moved is not None:
            notes.append(f"the journal {moved} (named after the campaign's absolute path by an earlier version) "
                         f"is now {before}")
    untargeted = untargeted_journal(state_dir, campaign_path, name, manifest_path, target, default_target)
    if untargeted is not None and not path.exists():
        _move_journal(untargeted, path)
        whose = "the sandbox's (it holds the stand-in's URLs)" if target == SANDBOX else "the default base URLs'"
        notes.append(f"the journal {untargeted} (written before journals were kept per target) is now {path}: "
                     f"read as {whose}")
    notes += _lost(path, previous, manifest_path, resubmit_unknown)
    raw = env.get(MAX_PAGES_ENV)
    try:
        journal = SqliteJournal(path, durable_intents=durable_intents, after_commit=after_commit,
                                max_pages=int(raw) if raw else None)
    except StateError as exc:
        raise StateError(f"{exc}. {_known(previous, manifest_path)}") from None
    if journal.was_empty and _records(previous):
        notes.append(f"the journal {path} was empty (0 bytes): the run continues from the manifest {manifest_path}")
    return journal, notes


def _lost(path: Path, previous: Manifest | None, manifest_path: Path, resubmit_unknown: bool) -> list[str]:
    """A journal set aside or emptied, with no manifest that records what it sent: refused
    (nothing is sent), or with ``resubmit_unknown`` a note that every job is sent again."""
    aside = path.with_name(path.name + ".broken")
    lost = (f"the journal {aside} was set aside" if not path.exists() and aside.exists()
            else f"the journal {path} was emptied (0 bytes)" if path.exists() and path.stat().st_size == 0 else None)
    if not lost or _records(previous):
        return []
    if not resubmit_unknown:
        raise StateError(
            f"{lost} and no manifest records what it sent ({_known(previous, manifest_path)}): nothing was sent. "
            f"What is known: the lost journal may hold submissions the API accepted and charged. What is not: "
            f"which. Salvage it (`sqlite3 {aside} .recover | sqlite3 {path}`) and run again, or pass "
            f"--resubmit-unknown to send every job again: the API may charge twice for what it had sent")
    return [f"{lost} and no manifest records what it sent: every job is sent again (--resubmit-unknown)"]


def _records(previous: Manifest | None) -> bool:
    """The manifest records some submission (anything sent, whatever became of it)."""
    return previous is not None and any(e.status not in (None, JobStatus.NOT_SUBMITTED) or e.request_id
                                        for e in previous.jobs.values())


def _known(previous: Manifest | None, manifest_path: Path) -> str:
    if previous is None:
        return f"there is no manifest {manifest_path}"
    sent = sum(1 for e in previous.jobs.values() if e.status not in (None, JobStatus.NOT_SUBMITTED) or e.request_id)
    if not sent:
        return f"the manifest {manifest_path} records no submission"
    return f"the manifest {manifest_path} records {sent:,} submitted job(s), which a run adopts"


def _rename_legacy_journal(path: Path, state_dir: str | Path, campaign_path: str | Path) -> Path | None:
    """Rename a journal that an earlier version keyed on the campaign's absolute path, if there is one."""
    digest = hashlib.sha256(str(Path(campaign_path).resolve()).encode("utf-8")).hexdigest()[:12]
    legacy = Path(state_dir) / f"{Path(campaign_path).stem}-{digest}.sqlite"
    if legacy == path or path.exists() or not legacy.exists():
        return None
    _move_journal(legacy, path)
    return legacy


def _move_journal(old_path: Path, path: Path) -> None:
    with translated(old_path):
        for suffix in ("-wal", "-shm", ""):  # the main file last: a half-done rename is retried
            old = old_path.with_name(old_path.name + suffix)
            if old.exists():
                os.replace(old, path.with_name(path.name + suffix))


def untargeted_journal(state_dir: str | Path, campaign_path: str | Path, name: str, manifest_path: Path,
                       target: str, default_target: str) -> Path | None:
    """The journal an earlier version kept for every target at once, when it belongs to ``target``.

    It is the sandbox's when it holds a loopback result URL (the stand-in's files) or an id
    the ``--sandbox`` stand-in kept beside it handed out, else the default base URLs': the
    same reading as a manifest entry without a target (renderer.targets).
    """
    if not target:
        return None
    legacy = journal_path(state_dir, campaign_path, name, manifest_path)
    if not legacy.exists():
        return None
    from renderer.sandbox.persist import session_ids

    sandboxed = holds_sandbox_work(legacy, session_ids(Path(state_dir) / "sandbox"))
    belongs = SANDBOX if sandboxed else default_target
    return legacy if belongs == target else None


class RepositoryLock:
    """An advisory lock on the campaign's identity, in the repository's ``.git`` folder.

    The journal's own lock covers runs that share a state directory; this one also
    covers two runs of one checkout from different working directories or with
    different ``--state-dir``s. The kernel releases it when the process ends.
    """

    def __init__(self, campaign_path: str | Path, name: str, sandbox: bool = False) -> None:
        """``sandbox``: a rehearsal, whose manifest and journal are its own, has its own lock."""
        self.fd: int | None = None
        git = git_dir_of(campaign_path)
        self.path: Path | None = None
        if git is not None and fcntl is not None:
            identity = campaign_identity(campaign_path, name) + ("\nsandbox" if sandbox else "")
            digest = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]
            self.path = git / "renderer" / f"{digest}.lock"

    def acquire(self) -> None:
        if self.path is None:
            return
        with translated(self.path):
            self.path.parent.mkdir(exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise RunLocked(f"{self.path}: another run of this campaign is in progress in this repository "
                             "(from another working directory or state directory)") from None
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


MAX_IDS_IN_MESSAGE = 50


def write_manifest(path: Path, manifest: Manifest | Mapping[str, Any] | str, fsync: bool = True) -> None:
    """Write the manifest (or its text, as ``dump`` writes it); if the disk refuses, the error still
    carries the ids the API gave. ``fsync=False`` for the checkpoints of a run (a killed process
    loses nothing written; the last write of a run is fsynced)."""
    try:
        if isinstance(manifest, str):
            atomic.write_text(path, manifest, fsync)
        else:
            dump(path, manifest, fsync)
    except OSError as exc:
        if isinstance(manifest, str):
            raise StateError(f"{path}: cannot write the manifest ({exc.strerror or exc})") from None
        jobs = (manifest.to_json() if isinstance(manifest, Manifest) else manifest).get("jobs") or {}
        ids = [f"{iid}={e['request_id']}" for iid, e in jobs.items()
               if isinstance(e, Mapping) and e.get("request_id") and e.get("status") != JobStatus.COMPLETED]
        shown = ", ".join(ids[:MAX_IDS_IN_MESSAGE])
        if len(ids) > MAX_IDS_IN_MESSAGE:
            shown += f" and {len(ids) - MAX_IDS_IN_MESSAGE} more"
        raise StateError(f"{path}: cannot write the manifest ({exc.strerror or exc})"
                         + (f"; accepted and not finished (keep these request ids): {shown}" if ids else "")) from None
