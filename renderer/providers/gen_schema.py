"""The provider parts of ``campaign.schema.json``, generated from the registry.

The endpoint enum, one ``if endpoint == X then input: $ref X's schema`` branch
per route, each provider's rules for the keys beside ``input``, and its
``providers.<name>`` and ``pricing.<key>`` blocks come from the registered
providers; everything else in the file is written by hand and kept as it is.

``python -m renderer.providers.gen_schema`` rewrites the file in ``schemas/`` when
its content differs (``--check`` only says whether it is current); a test keeps
it current. At run
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
from renderer.providers.base import Route

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
        rules.extend(copy.deepcopy(list(parts.rules)))
    rules.extend(_input_branch(e, routes[e]) for e in sorted(routes))
    job = schema["$defs"]["job"]
    job["properties"]["endpoint"]["enum"] = sorted(routes)
    job["allOf"] = rules
    schema["properties"]["providers"]["properties"] = settings
    schema["properties"]["pricing"]["properties"] = pricing
    return schema


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


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    path = committed_path()
    current = json.loads(path.read_text("utf-8"))
    wanted = campaign_schema(current)
    if current == wanted:  # compared as JSON: the hand-written parts keep their layout
        return 0
    if "--check" in args:
        print(f"{path} is out of date: run python -m renderer.providers.gen_schema", file=sys.stderr)
        return 1
    path.write_text(text(wanted), "utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
