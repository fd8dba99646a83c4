"""`renderer init [FILE]`: write a starter campaign, and the schemas editors check it against."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TextIO

from renderer.errors import ConfigError, UsageError
from renderer.campaign import schemas
from renderer.execute.identity import repository_root
from renderer.starter import SCHEMA_FOLDER, STARTER


def init(path: str, out: TextIO, *, force: bool = False) -> int:
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{path} is a folder; name the campaign file to write, e.g. {Path(path) / 'campaign.yaml'}")
    if target.exists() and not force:
        raise UsageError(f"{path} exists; use --force to overwrite it")
    target.parent.mkdir(parents=True, exist_ok=True)
    root = project_root(target)
    folder = write_schemas(root / SCHEMA_FOLDER)
    # Relative to the campaign, inside the repository: the same on every machine and checkout.
    ref = Path(os.path.relpath(folder / schemas.CAMPAIGN_SCHEMA, target.resolve().parent)).as_posix()
    name = Path(os.path.relpath(target.resolve(), root)).as_posix()
    where = "the repository root" if (root / ".git").exists() else "this folder"
    target.write_text(STARTER.format(schema=ref, name=name, stem=target.stem, root=where), "utf-8")
    shown = Path(os.path.relpath(folder, Path.cwd().resolve())).as_posix()
    out.write(f"wrote {path} and {shown}/ (the schemas editors check it against; commit both); "
              f"next: renderer plan {path}\n")
    added = keep_out_of_git(root / ".gitignore")
    if added:
        where = Path(os.path.relpath(root / ".gitignore", Path.cwd().resolve())).as_posix()
        out.write(f"added {', '.join(added[:-1])}{' and ' if len(added) > 1 else ''}{added[-1]} to {where}: run state and rehearsals stay out of git\n")
    return 0


# What a repository of campaigns keeps out of git: the run state (journals, the sandbox's
# state; local, and holding nothing a clone needs: the manifest is the record) and a
# rehearsal's manifest and approvals (`run --sandbox`: loopback URLs and ids, valid on this machine only).
IGNORED = (".renderer/", "*.sandbox.manifest.json", "*.sandbox.approvals.json")


def keep_out_of_git(gitignore: Path) -> list[str]:
    """Add the lines of ``IGNORED`` that ``gitignore`` lacks (creating it); the lines added."""
    try:
        text = gitignore.read_text("utf-8")
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"{gitignore}: cannot read it to keep .renderer/ out of git: {exc}") from None
    present = {line.strip().lstrip("/").removeprefix("**/") for line in text.splitlines()}
    missing = [p for p in IGNORED if p not in present and p.rstrip("/") not in present]
    if not missing:
        return []
    block = ("" if not text or text.endswith("\n") else "\n") + "# renderer: run state and rehearsals\n"
    try:
        with gitignore.open("a", encoding="utf-8") as fh:
            fh.write(block + "".join(p + "\n" for p in missing))
    except OSError as exc:
        raise ConfigError(f"{gitignore}: cannot add {' and '.join(missing)}: {exc.strerror or exc}") from None
    return missing


def project_root(target: Path) -> Path:
    """The repository the campaign belongs to (the folder holding ``.git``).

    Outside a repository: the working directory when the file is below it, else the
    file's own folder.
    """
    folder = target.resolve().parent
    root = repository_root(folder)
    if root is not None:
        return root
    cwd = Path.cwd().resolve()
    return cwd if folder == cwd or cwd in folder.parents else folder


def write_schemas(folder: Path) -> Path:
    """Every schema this renderer ships, as files that refer to each other by name."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in schemas.schema_names():
        text = json.dumps(schemas.load_schema(name), indent=2, ensure_ascii=False) + "\n"
        dest = folder / name
        if not dest.exists() or dest.read_text("utf-8") != text:
            dest.write_text(text, "utf-8")
    return folder
