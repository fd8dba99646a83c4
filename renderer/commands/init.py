"""`renderer init [FILE]`: write a starter campaign, and the schemas editors check it against."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TextIO

from renderer.errors import UsageError
from renderer.campaign import schemas
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
    return 0


def project_root(target: Path) -> Path:
    """The repository the campaign belongs to (the folder holding ``.git``).

    Outside a repository: the working directory when the file is below it, else the
    file's own folder.
    """
    folder = target.resolve().parent
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
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
