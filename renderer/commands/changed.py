"""`renderer changed --base REV`: the campaigns a diff touches, so CI plans (and runs) only those.

A campaign is touched when the diff changes a file it is made of: the campaign file
itself, its manifest (what is reused), its approvals file, its matrix data files (``from:``) and the local
files its jobs upload (``input_file``). Templates are inline (the template environment
loads no file), so they change with the campaign file.

The diff is git's, from the merge base of ``REV`` and ``HEAD`` (what a pull request
shows) to the working tree, untracked files included; the candidates are the YAML
files git knows (tracked, or untracked and not ignored). A campaign that no longer
loads is still listed when its own file changed (its plan then fails and says why);
its data files are read from the raw YAML where it gets that far.
"""

from __future__ import annotations

import fnmatch
import glob
import json
import os
import re
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from renderer.manifest import default_path as default_manifest_path
from renderer import providers
from renderer.campaign.yamlfile import load_file
from renderer.commands.common import Settings
from renderer.errors import RendererError, UsageError
from renderer.execute import approvals

GIT_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class Touched:
    file: str  # the campaign file, relative to the current directory
    name: str | None  # its name, when it loads that far
    because: tuple[str, ...]  # the changed files that touch it (relative to the current directory)

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "name": self.name, "slug": slug(self.file), "because": list(self.because)}


def slug(path: str) -> str:
    """A name for CI artifacts and groups: the path with every other character as ``-``."""
    return re.sub(r"[^A-Za-z0-9._]+", "-", path).strip("-") or "campaign"


def changed(out: TextIO, *, base: str, as_json: bool = False, settings: Settings = Settings(),
            cwd: Path | None = None) -> int:
    """List (one per line, or ``--json``) the campaigns the diff from ``base`` touches; exit 0 either way."""
    here = (cwd or Path.cwd()).resolve()
    root = Path(_git(here, "rev-parse", "--show-toplevel").strip()).resolve()
    merge_base = _git(here, "merge-base", base, "HEAD", what=f"the merge base of {base} and HEAD").strip()
    files = {root / p for p in _z(_git(root, "diff", "--name-only", "--no-renames", "-z", merge_base))}
    files |= {root / p for p in _z(_git(root, "ls-files", "--others", "--exclude-standard", "-z"))}
    candidates = _z(_git(root, "ls-files", "--cached", "--others", "--exclude-standard", "-z", "--", "*.yaml", "*.yml"))
    touched = []
    for rel in sorted(dict.fromkeys(candidates)):
        path = root / rel
        if not path.is_file():
            continue  # deleted in the working tree: nothing to plan
        found = _campaign_files(path, settings)
        if found is None:
            continue
        name, parts = found
        patterns = [p for p in parts if isinstance(p, _Pattern)]
        hits = sorted({_shown(f, here) for f in files if f in parts or any(p.matches(f) for p in patterns)})
        if hits:
            touched.append(Touched(_shown(path, here), name, tuple(hits)))
    if as_json:
        doc = {"base": base, "merge_base": merge_base, "campaigns": [t.as_json() for t in touched]}
        out.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    else:
        out.writelines(t.file + "\n" for t in touched)
    return 0


def _campaign_files(path: Path, settings: Settings) -> tuple[str | None, set[Path | _Pattern]] | None:
    """A campaign's name and every file it is made of; None when the file is no campaign."""
    try:
        data = load_file(path, settings.yaml).data
    except RendererError:  # broken YAML: still a campaign when it reads like one (its plan says what is wrong)
        return (None, {path.resolve(), default_manifest_path(path).resolve(), approvals.default_path(path).resolve()}) \
            if _reads_like_a_campaign(path) else None
    if not isinstance(data, dict) or "jobs" not in data or "version" not in data:
        return None  # another YAML file (a workflow, a data file)
    folder = path.parent.resolve()
    # its approvals file too: a pull request that approves paused jobs runs the campaign after the merge
    parts: set[Path | _Pattern] = {path.resolve(), default_manifest_path(path).resolve(),
                                   approvals.default_path(path).resolve()}
    parts |= {_below(folder, name) for name in _from_files(data.get("jobs"))}
    uploads = list(_uploads_written(data.get("jobs")))
    parts |= {_below(folder, name) for name in uploads if "{" not in name}
    templated = [name for name in uploads if "{" in name]
    if templated:  # a template names the file: plan to know which (or, when it does not plan, any it could be)
        planned = _planned_uploads(path, settings)
        parts |= planned if planned is not None else {_Pattern(_below(folder, "").as_posix() + "/" + _glob(t))
                                                      for t in templated}
    name = data.get("name")
    return (name if isinstance(name, str) else None), parts


def _reads_like_a_campaign(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(1 << 20).decode("utf-8", "replace")
    except OSError:
        return False
    return bool(re.search(r"^version:", head, re.M) and re.search(r"^jobs:", head, re.M))


def _from_files(jobs: Any) -> Iterable[str]:
    """Every matrix data file: ``jobs.<job>.matrix.<key>: {from: FILE}``."""
    for job in (jobs or {}).values() if isinstance(jobs, Mapping) else ():
        matrix = job.get("matrix") if isinstance(job, Mapping) else None
        for values in (matrix or {}).values() if isinstance(matrix, Mapping) else ():
            if isinstance(values, Mapping) and isinstance(values.get("from"), str):
                yield values["from"]


def _uploads_written(jobs: Any) -> Iterable[str]:
    """Upload fields as written: a path, or a template whose value is known once planned."""
    for job in (jobs or {}).values() if isinstance(jobs, Mapping) else ():
        if not isinstance(job, Mapping) or not isinstance(job.get("endpoint"), str):
            continue
        up = _uploads(job["endpoint"])
        body = job.get("input")
        value = body.get(up.field) if up is not None and isinstance(body, Mapping) else None
        if isinstance(value, str):
            yield value


def _planned_uploads(path: Path, settings: Settings) -> set[Path] | None:
    """The local files the planned requests upload (templated paths included); None when it does not plan."""
    from renderer.campaign.campaign import load_campaign
    from renderer.plan.planner import build_plan

    try:
        campaign = load_campaign(path, settings.yaml)
        plan, _ = build_plan(campaign, None, (), settings.plan)
    except RendererError:
        return None
    out = set()
    for inst in plan.instances:
        up = _uploads(inst.endpoint)
        value = inst.body.get(up.field) if up is not None and isinstance(inst.body, Mapping) else None
        if isinstance(value, str):
            out.add(_below(campaign.folder, value))
    return out


def _uploads(endpoint: str) -> Any:
    """The endpoint's provider's upload field (``UPLOADS``), or None (none, or an unknown endpoint)."""
    route = providers.route(endpoint)
    return providers.of(route).UPLOADS if route is not None else None


@dataclass(frozen=True, slots=True)
class _Pattern:
    """A file name with templates as wildcards: ``assets/{{ matrix.n }}.png`` is ``assets/*.png``."""

    pattern: str

    def matches(self, path: Path) -> bool:
        return fnmatch.fnmatchcase(path.as_posix(), self.pattern)


def _glob(template: str) -> str:
    return re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "*", glob.escape(template))


def _below(folder: Path, name: str) -> Path:
    """Where a campaign's file name points (a name no file can have, a NUL say, points nowhere)."""
    try:
        return (folder / name).resolve()
    except (OSError, ValueError, RuntimeError):
        return folder / "\ufffd"


def _shown(path: Path, here: Path) -> str:
    return Path(os.path.relpath(path, here)).as_posix()


def _z(text: str) -> list[str]:
    return [p for p in text.split("\0") if p]


def _git(cwd: Path, *args: str, what: str | None = None) -> str:
    """git's output; a located, worded error when git is missing, this is no repository or a revision is unknown."""
    try:
        done = subprocess.run(["git", "--no-optional-locks", *args], cwd=cwd, capture_output=True, text=True,
                              timeout=GIT_TIMEOUT)
    except FileNotFoundError:
        raise UsageError("renderer changed: git is not installed (it reads the diff with git)") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"renderer changed: git {args[0]} took over {GIT_TIMEOUT:.0f} s") from None
    if done.returncode != 0:
        detail = " ".join(done.stderr.split())[:300]
        hint = ""
        if args[0] == "merge-base":
            hint = (" (in CI, check out the whole history: actions/checkout with fetch-depth: 0; "
                    "a shallow clone has no merge base)")
        raise UsageError(f"renderer changed: cannot find {what or 'git ' + args[0]}: {detail}{hint}")
    return done.stdout
