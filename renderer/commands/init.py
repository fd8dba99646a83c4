"""`renderer init [FILE]`: write a starter campaign that points editors at the schema."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import TextIO

from renderer.errors import UsageError
from renderer.spec import schemas
from renderer.starter import STARTER


def init(path: str, out: TextIO, *, force: bool = False) -> int:
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{path} is a folder; name the campaign file to write, e.g. {Path(path) / 'campaign.yaml'}")
    if target.exists() and not force:
        raise UsageError(f"{path} exists; use --force to overwrite it")
    target.parent.mkdir(parents=True, exist_ok=True)
    # point editors at the schema this installation ships (in a checkout: schemas/)
    local = Path(str(resources.files("renderer.schemas").joinpath(schemas.CAMPAIGN_SCHEMA)))
    try:
        ref = os.path.relpath(local, target.resolve().parent)
    except ValueError:  # another drive
        ref = str(local)
    target.write_text(STARTER.format(schema=ref, name=target.name, stem=target.stem), "utf-8")
    out.write(f"wrote {path}; next: renderer plan {path}\n")
    return 0
