"""`renderer init` and `renderer schema`: help people and editors start right."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TextIO

from renderer import providers
from renderer.errors import UsageError
from renderer.spec import schemas

SCHEMA_FOLDER = "renderer-schemas"  # beside .git: one copy per repository, committed with it

STARTER = """\
# yaml-language-server: $schema={schema}
# A starter campaign. From {root}: `renderer validate {name}` checks it,
# `renderer plan {name}` prices it, and `renderer run --sandbox {name}` runs it
# for free on this machine.
version: 1
name: {stem}
description: One still per city, then a short teaser per city and language
budget:
  max_credits: 5000
vars:
  book_url: https://example.com/book
jobs:
  stills:
    endpoint: samsar/image/enhance
    matrix:
      city: [lisbon, tokyo]
    input:
      image_url: "https://cdn.example.com/{{{{ matrix.city }}}}.png"
      resolution: 2k
  teaser:
    endpoint: samsar/video/image_list_to_video
    needs: [stills]
    matrix:
      city: [lisbon, tokyo]
      language: [en, es]
    estimate:
      duration: 10
    input:
      image_urls: ["{{{{ needs.stills.result_url }}}}"]
      video_model: RUNWAYML
      aspect_ratio: "9:16"
      language: "{{{{ matrix.language }}}}"
      generate_outro_image: true
      cta_url: "{{{{ vars.book_url }}}}?city={{{{ matrix.city }}}}"
"""

def init(path: str, out: TextIO, force: bool = False) -> int:
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


def schema(endpoint: str | None, out: TextIO, list_only: bool = False) -> int:
    if list_only:
        for name, route in sorted(providers.ROUTES.items()):
            note = f"  (client path for {route.alias_of})" if route.alias_of else ""
            out.write(f"{name}{note}\n")
        return 0
    if endpoint is None:
        name = schemas.CAMPAIGN_SCHEMA
    else:
        route = providers.route(endpoint)
        if route is None:
            raise UsageError(f"unknown endpoint {endpoint!r}; `renderer schema --list` shows them")
        name = route.schema
    json.dump(schemas.load_schema(name), out, indent=2, ensure_ascii=False)
    out.write("\n")
    return 0
