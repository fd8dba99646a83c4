"""Where a campaign's run state lives, so that later commands find it without the flag.

`renderer run` records the state directory it used, as an absolute path, in the
repository's git folder (``<git dir>/renderer/state/<hash of the campaign's identity>.json``,
beside the repository lock): ``{"real": DIR, "sandbox": DIR}``, one entry for real runs
and one for rehearsals. The git folder is per clone and never committed or pushed, so
the record is as local as the state itself and changes no tracked byte.

Every command that reads or writes run state (run, status, report, cancel) takes
``--state-dir`` when given, else what the last run of the campaign recorded, else
``.renderer`` in the working directory. Outside a git repository nothing is recorded:
pass ``--state-dir`` again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from renderer import atomic
from renderer.execute.identity import campaign_identity, git_dir_of

DEFAULT = ".renderer"


def _record(campaign_path: str | Path, name: str) -> Path | None:
    git = git_dir_of(campaign_path)
    if git is None:
        return None
    digest = hashlib.sha256(campaign_identity(campaign_path, name).encode("utf-8")).hexdigest()[:16]
    return git / "renderer" / "state" / f"{digest}.json"


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def recall(campaign_path: str | Path, name: str, sandbox: bool) -> str | None:
    """The state directory the last run (or rehearsal) of the campaign recorded, if any."""
    path = _record(campaign_path, name)
    return _read(path).get("sandbox" if sandbox else "real") if path is not None else None


def remember(campaign_path: str | Path, name: str, state_dir: str | Path, sandbox: bool) -> None:
    """Record where this run keeps its state. A git folder that cannot be written only loses
    the convenience: the readers then say to pass --state-dir."""
    path = _record(campaign_path, name)
    if path is None:
        return
    data = _read(path)
    kind = "sandbox" if sandbox else "real"
    where = str(Path(state_dir).resolve())
    if data.get(kind) == where:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(path, json.dumps({**data, kind: where}, sort_keys=True) + "\n")
    except OSError:
        pass


def resolve(flag: str | None, campaign_path: str | Path, name: str, sandbox: bool) -> str:
    """``--state-dir`` when given, else the recorded one (while it exists), else ``.renderer``."""
    if flag:
        return flag
    recorded = recall(campaign_path, name, sandbox)
    return recorded if recorded is not None and Path(recorded).is_dir() else DEFAULT
