"""The provider parts of ``campaign.schema.json``, generated from the registry.

The endpoint enum, one ``if endpoint == X then input: $ref X's schema`` branch
per route, each provider's rules for the keys beside ``input``, and its
``providers.<name>`` and ``pricing.<key>`` blocks come from the registered
providers; everything else in the file is written by hand and kept as it is.

``python -m renderer.providers.gen_schema`` rewrites the file in ``schemas/`` when
its content differs, and writes beside it a copy of every registered provider's
request schemas (the campaign schema refers to them by file name, so editors opening
``schemas/campaign.schema.json`` find them there, as in the folder `renderer init`
writes); ``--check`` only says whether all is current, and a test keeps it so. At run
time ``renderer.campaign.schemas`` validates against the generated schema, so a
provider registered by a plugin is part of the campaign schema at once.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from renderer import providers
from renderer.vocabulary import Route

CAMPAIGN_SCHEMA = "campaign.schema.json"


def campaign_schema(base: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` (the committed schema) with its provider parts generated from the registry."""
    schema = copy.deepcopy(dict(base))
    routes = providers.ROUTES
    rules: list[Any] = []
    settings: dict[str, Any] = {}
    pricing: dict[str, Any] = {}
    for p in providers.all_providers():
        parts = p.campaign_schema(routes)
        settings[p.NAME] = copy.deepcopy(dict(parts.settings))
        pricing.update(copy.deepcopy(dict(parts.pricing)))
        for key in p.default_prices():  # a price table it does not describe takes any overrides
            pricing.setdefault(key, {"type": "object", "description": f"Overrides of the {p.TITLE} prices (credits)."})
        rules.extend(copy.deepcopy(list(parts.rules)))
    rules.append(_approval_rule(routes))
    rules.extend(_input_branch(e, routes[e]) for e in sorted(routes))
    job = schema["$defs"]["job"]
    job["properties"]["endpoint"]["enum"] = sorted(routes)
    job["allOf"] = rules
    schema["properties"]["providers"]["properties"] = settings
    schema["properties"]["pricing"]["properties"] = pricing
    return schema


def _approval_rule(routes: Mapping[str, Route]) -> dict[str, Any]:
    """`approve` only where a provider can stop the route's renders for approval (``APPROVAL``)."""
    gated = sorted(e for e, r in routes.items() if (g := providers.of(r).APPROVAL) is not None and g.applies(r))
    return {
        "if": {"properties": {"endpoint": {"not": {"enum": gated}}}, "required": ["endpoint"]},
        "then": {"not": {"required": ["approve"]}, "x-at": "approve",
                 "x-message": f"approve is only for renders that can stop for approval ({', '.join(gated)}); "
                              "this endpoint renders straight through"},
    }


def _input_branch(endpoint: str, route: Route) -> dict[str, Any]:
    return {
        "if": {"properties": {"endpoint": {"const": endpoint}}, "required": ["endpoint"]},
        "then": {"properties": {"input": {"$ref": route.schema}}},
    }


def text(schema: Mapping[str, Any]) -> str:
    """The file's text, formatted as it is committed."""
    return json.dumps(schema, indent=2)


def committed_path() -> Path:
    return Path(str(resources.files("renderer.schemas").joinpath(CAMPAIGN_SCHEMA)))


def request_schemas() -> dict[str, Mapping[str, Any]]:
    """Every registered provider's request schemas, by file name."""
    return {name: schema for p in providers.all_providers() for name, schema in p.schemas().items()}


def stale_files(folder: Path) -> dict[Path, str]:
    """The files of ``folder`` (``schemas/``) that differ from what the registry generates, with their text."""
    path = folder / CAMPAIGN_SCHEMA
    current = json.loads(path.read_text("utf-8"))
    wanted = campaign_schema(current)
    out: dict[Path, str] = {}
    if current != wanted:  # compared as JSON: the hand-written parts keep their layout
        out[path] = text(wanted)
    for name, schema in request_schemas().items():
        copy_path = folder / name
        if not copy_path.exists() or json.loads(copy_path.read_text("utf-8")) != schema:
            out[copy_path] = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    stale = stale_files(committed_path().parent)
    if not stale:
        return 0
    if "--check" in args:
        shown = ", ".join(sorted(p.name for p in stale))
        print(f"out of date in {committed_path().parent}: {shown}: run python -m renderer.providers.gen_schema",
              file=sys.stderr)
        return 1
    for path, content in stale.items():
        path.write_text(content, "utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
