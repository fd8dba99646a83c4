"""`renderer schema [ENDPOINT] [--list]`: print a JSON Schema, or list the endpoints."""

from __future__ import annotations

import difflib
import json
from typing import TextIO

from renderer import providers
from renderer.errors import UsageError
from renderer.campaign import schemas


def schema(endpoint: str | None, out: TextIO, *, list_only: bool = False) -> int:
    if list_only:
        for name, route in sorted(providers.ROUTES.items()):
            note = f"  (client path for {route.alias_of})" if route.alias_of else ""
            out.write(f"{name}{note}\n")
        return 0
    if endpoint is None:
        name = schemas.CAMPAIGN_SCHEMA
    else:
        found = providers.route(endpoint)
        if found is None:
            hint = difflib.get_close_matches(endpoint, list(providers.ROUTES), n=1, cutoff=0.5)
            raise UsageError(f"unknown endpoint {endpoint!r}; " + (f"did you mean {hint[0]!r}? " if hint else "")
                             + "`renderer schema --list` shows them")
        name = found.schema
    json.dump(schemas.load_schema(name), out, indent=2, ensure_ascii=False)
    out.write("\n")
    return 0
